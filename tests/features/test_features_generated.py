"""On a small generated extract: labels equal the generator's truth, single case equals batch, protected columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from extract.contract import AUDITED_ATTRIBUTES, PROTECTED_ATTRIBUTES
from features.cohort import referral_cohort, snapshot_cohort
from features.labels import build_labels
from features.pipeline import FeatureBuilder, FeatureConfig
from features.single_case import SingleCase, cases_from_extract, case_to_extract, cases_to_extract

SKEW_ROWS = 1000
# Each single-case validation costs the loader's fixed overhead; see the README figures.
ONE_BY_ONE_ROWS = 25

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def snapshots(generated):
    synthetic, extract = generated
    truth = synthetic.truth[synthetic.truth["kind"] == "snapshot"]
    cohort = snapshot_cohort(extract, sorted(truth["as_of"].unique()))
    return truth, cohort


def test_labels_equal_recorded_outcomes_for_every_snapshot_row(generated, snapshots):
    _, extract = generated
    truth, cohort = snapshots
    labelled = cohort.assign(label=build_labels(extract, cohort))
    merged = labelled.merge(truth, on=["person_id", "as_of"], how="outer", indicator=True, validate="1:1")
    assert (merged["_merge"] == "both").all(), "cohort rows and truth snapshot rows differ"
    assert merged["label"].notna().all()
    assert (merged["label"] == merged["recorded_outcome"]).all()
    assert merged["label"].sum() > 0


def test_referral_labels_equal_recorded_outcomes(generated):
    synthetic, extract = generated
    truth = synthetic.truth[synthetic.truth["kind"] == "referral"]
    cohort = referral_cohort(extract)
    labelled = cohort.assign(label=build_labels(extract, cohort)).merge(truth, on=["person_id", "as_of"])
    assert len(labelled) == len(truth)
    assert (labelled["label"] == labelled["recorded_outcome"]).all()
    # Referrals whose window is not over at extracted_on have no label.
    unobserved = cohort["as_of"] + pd.Timedelta(days=365) > extract.extracted_on
    assert build_labels(extract, cohort)[unobserved].isna().all()


def test_single_case_path_equals_batch_path_to_the_bit(generated, snapshots):
    _, extract = generated
    _, cohort = snapshots
    # One row per person, so that the cases can also be validated together in one call.
    rows = cohort.drop_duplicates("person_id").sample(SKEW_ROWS, random_state=5).reset_index(drop=True)
    batch = FeatureBuilder().transform(extract, rows)
    # The service receives JSON text: round-trip every case through it.
    texts = [case.model_dump_json() for case in cases_from_extract(extract, rows)]
    together = FeatureBuilder().transform(*cases_to_extract(texts))
    np.testing.assert_array_equal(together.X.to_numpy(), batch.X.to_numpy(), strict=True)
    pd.testing.assert_frame_equal(together.audit, batch.audit)
    assert together.feature_names == batch.feature_names
    # And one case at a time, exactly as the service scores one request.
    for i in range(ONE_BY_ONE_ROWS):
        single = FeatureBuilder().transform(*case_to_extract(texts[i]))
        np.testing.assert_array_equal(single.X.to_numpy(), batch.X.iloc[[i]].to_numpy(), strict=True)
        pd.testing.assert_frame_equal(single.audit, batch.audit.iloc[[i]].reset_index(drop=True))


def test_protected_characteristics_are_audit_only_by_default(generated, snapshots):
    _, extract = generated
    _, cohort = snapshots
    default = FeatureBuilder().transform(extract, cohort.head(500))
    assert not set(PROTECTED_ATTRIBUTES) & set(default.X.columns)
    assert "local_authority" not in default.X.columns
    assert list(default.audit.columns) == list(AUDITED_ATTRIBUTES)
    assert "imd_decile" in default.X.columns
    # Nothing in X is a copy of a protected column under another name.
    for column in ("sex", "ethnicity", "sen"):
        codes = default.audit[column].cat.codes.to_numpy(dtype=float)
        for name in default.feature_names:
            assert not np.array_equal(default.X[name].to_numpy(), codes), (column, name)

    config = FeatureConfig(include_protected=("ethnicity", "sex"), include_deprivation=False)
    configured = FeatureBuilder(config.model_dump(mode="json")).transform(extract, cohort.head(500))
    assert {"ethnicity", "sex"} <= set(configured.X.columns)
    assert "imd_decile" not in configured.X.columns and "sen" not in configured.X.columns
    assert isinstance(configured.X["ethnicity"].dtype, pd.CategoricalDtype)
    assert (configured.X["ethnicity"] == configured.audit["ethnicity"]).all()


def test_feature_matrix_dtypes_and_alignment(generated, snapshots):
    _, extract = generated
    _, cohort = snapshots
    table = FeatureBuilder().transform(extract, cohort)
    assert len(table.X) == len(table.audit) == len(table.keys) == len(cohort)
    assert (table.X.dtypes == np.float64).all()
    assert table.keys["person_id"].tolist() == cohort["person_id"].tolist()
    assert table.feature_names == list(table.X.columns)
    # A JSON case schema exists for the service: strict, generated from the contract.
    assert SingleCase.model_json_schema()["additionalProperties"] is False
