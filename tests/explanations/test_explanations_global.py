"""Global and by-group explanation files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from known_logit_frames import make_frame

from training.global_explanations import (
    BY_GROUP_COLUMNS,
    GROUP_ATTRIBUTES,
    MISSING_GROUP,
    family_contributions,
    write_global_explanations,
)
from runtime.shap_explainer import ProbabilityShapExplainer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _FamilyDictionary:
    def family(self, name: str) -> str:
        return name.split("_")[0]

    def sentence(self, name: str, value: object, direction: str) -> str:
        return f"{name} {direction}"


def _audit(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    imd = rng.integers(1, 11, n).astype(float)
    imd[:7] = np.nan
    return pd.DataFrame(
        {
            "sex": rng.choice(["female", "male"], n),
            "ethnicity": rng.choice(["asian", "black", "white"], n),
            "age_band": rng.choice(["10-13", "14-15", "16-17"], n),
            "sen": rng.choice(["none", "sen_support"], n),
            "imd_decile": imd,
            "local_authority": "coventry",
        },
        index=np.arange(100, 100 + n),  # not aligned by label with X: alignment is by row
    )


@pytest.fixture(scope="module")
def family_explainer(tiny_model):
    return ProbabilityShapExplainer().fit(
        tiny_model.estimator, tiny_model.calibrator, tiny_model.X.iloc[:100], _FamilyDictionary()
    )


@pytest.fixture(scope="module")
def written(family_explainer, tmp_path_factory):
    """One run of the writer shared by the checks below (plots take a couple of seconds)."""
    X, _ = make_frame(500, seed=23)
    audit = _audit(500, 24)
    out = tmp_path_factory.mktemp("global") / "explanations"
    return write_global_explanations(family_explainer, X, audit, out), X, audit, out


def test_writes_every_file_with_content(written):
    paths, X, _, out = written
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            "mean_abs_by_feature.csv",
            "mean_abs_by_feature.png",
            "mean_abs_by_family.csv",
            "mean_abs_by_family.png",
            "beeswarm.png",
            "by_group.csv",
            "by_group.png",
        ]
        + [n for n in names if n.startswith("dependence_")]
    )
    assert len([n for n in names if n.startswith("dependence_")]) == 4
    for path in paths:
        assert path.parent == out and path.stat().st_size > 0
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC
    by_feature = pd.read_csv(out / "mean_abs_by_feature.csv")
    assert set(by_feature["feature"]) == set(X.columns)
    assert by_feature["mean_abs_contribution"].is_monotonic_decreasing
    top = by_feature["feature"].iloc[0]
    assert (out / f"dependence_{top}.png").exists()


def test_by_group_means_match_a_direct_computation(family_explainer, written):
    _, X, audit, out = written
    table = pd.read_csv(out / "by_group.csv", dtype={"group": str})
    assert tuple(table.columns) == BY_GROUP_COLUMNS
    # local_authority is audited elsewhere, not a by-group attribute here.
    assert list(dict.fromkeys(table["attribute"])) == list(GROUP_ATTRIBUTES)

    _, contrib = family_explainer.contributions(X)
    families = family_contributions(contrib, family_explainer.feature_families)
    assert list(families.columns) == ["school", "police", "context", "ace", "noise"]
    np.testing.assert_allclose(families.sum(axis=1), contrib.sum(axis=1))

    males = (audit["sex"] == "male").to_numpy()
    row = table[(table["attribute"] == "sex") & (table["group"] == "male") & (table["family"] == "police")]
    assert int(row["n"].iloc[0]) == males.sum()
    assert row["mean_contribution"].iloc[0] == pytest.approx(families["police"][males].mean(), rel=1e-5)
    assert row["mean_abs_contribution"].iloc[0] == pytest.approx(families["police"][males].abs().mean(), rel=1e-5)

    deciles = table[table["attribute"] == "imd_decile"].drop_duplicates("group")
    assert deciles["group"].tolist() == [str(d) for d in range(1, 11)] + [MISSING_GROUP]
    assert deciles.loc[deciles["group"] == MISSING_GROUP, "n"].iloc[0] == 7
    # Every attribute's groups cover all rows once.
    for _, part in table.drop_duplicates(["attribute", "group"]).groupby("attribute"):
        assert part["n"].sum() == 500


def test_uses_only_the_attributes_present(tiny_explainer, tmp_path):
    X, _ = make_frame(80, seed=25)
    write_global_explanations(tiny_explainer, X, _audit(80, 26)[["sex"]], tmp_path)
    table = pd.read_csv(tmp_path / "by_group.csv")
    assert set(table["attribute"]) == {"sex"}
    assert set(table["family"]) == {"unassigned"}


def test_clear_errors(tiny_explainer, tmp_path):
    X, _ = make_frame(20, seed=27)
    with pytest.raises(ValueError, match="aligned row by row"):
        write_global_explanations(tiny_explainer, X, _audit(19, 1), tmp_path)
    with pytest.raises(ValueError, match="none of the group attributes"):
        write_global_explanations(tiny_explainer, X, pd.DataFrame({"x": range(20)}), tmp_path)
    with pytest.raises(ValueError, match="no rows"):
        write_global_explanations(tiny_explainer, X.iloc[:0], _audit(0, 1), tmp_path)
