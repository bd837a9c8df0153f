"""The evaluation cohort and its covariates: never the referral's outcome or engagement."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.impact import ImpactInputError, covariates, evaluation_cohort


def test_cohort_is_fully_observed_referrals_with_engagement(small_impact_extract):
    extract, synthetic = small_impact_extract
    cohort = evaluation_cohort(extract)
    # Exactly the referrals the generator's truth covers (those with a complete 12 months).
    assert len(cohort) == len(synthetic.interventions)
    merged = cohort.merge(
        synthetic.interventions.rename(columns={"referred_on": "as_of"}), on=["person_id", "as_of"]
    )
    np.testing.assert_array_equal(merged["treated"], merged["engaged"])
    truth = synthetic.truth[synthetic.truth["kind"] == "referral"]
    labels = cohort.merge(truth, on=["person_id", "as_of"])
    np.testing.assert_array_equal(labels["outcome_label"], labels["recorded_outcome"])


def test_covariates_exclude_what_happened_after_referral(small_impact_extract):
    extract, _ = small_impact_extract
    cohort = evaluation_cohort(extract, programme="cirv")
    X, names = covariates(extract, cohort)
    assert X.shape == (len(cohort), len(names))
    assert not any(word in name for name in names for word in ("engaged", "outcome", "programme"))
    assert any(name.startswith("referral_source=") for name in names)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-9)


def test_date_range_outside_the_extract_is_refused(small_impact_extract):
    extract, _ = small_impact_extract
    with pytest.raises(ImpactInputError, match="no referral"):
        evaluation_cohort(extract, date_from="2030-01-01")


def test_referred_compares_with_never_referred_people_on_referral_dates(small_impact_extract):
    from evaluation.config import ReferredComparison

    extract, _ = small_impact_extract
    cohort = evaluation_cohort(extract, treatment="referred", comparison=ReferredComparison(per_referral=2, seed=1))
    referred, comparison = cohort[cohort["treated"] == 1], cohort[cohort["treated"] == 0]
    assert len(referred) == len(evaluation_cohort(extract))
    assert not set(comparison["person_id"]) & set(extract["referrals"]["person_id"])
    assert set(comparison["as_of"]) <= set(referred["as_of"])
    assert len(comparison) > len(referred)  # two draws a referral, less the few outside ages 10-24
    assert comparison["outcome_label"].notna().all()
    X, names = covariates(extract, cohort, with_source=False)
    assert not any(name.startswith("referral_source=") for name in names)  # the never-referred have none
