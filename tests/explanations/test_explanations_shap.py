"""ProbabilityShapExplainer: additivity in probability points, categoricals, NaN, output shape."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from known_logit_frames import CATEGORY_LEVELS, make_frame

from runtime.shap_explainer import (
    SUM_TOLERANCE,
    ProbabilityShapExplainer,
    json_safe,
)


def _calibrated(model, X: pd.DataFrame) -> np.ndarray:
    return model.calibrator.predict(model.estimator.predict_proba(X)[:, 1])


def test_additivity_within_0_001_on_1000_random_cases(tiny_model, tiny_explainer):
    X, _ = make_frame(1000, seed=11)
    base, contrib = tiny_explainer.contributions(X)
    probability = _calibrated(tiny_model, X)
    assert contrib.shape == (1000, X.shape[1])
    assert list(contrib.index) == list(X.index)
    np.testing.assert_allclose(base, tiny_explainer.base_value_)
    assert np.max(np.abs(base + contrib.to_numpy().sum(axis=1) - probability)) < 1e-3
    # The rescaling keeps SHAP's direction for every feature (the calibrator is monotone).
    phi = tiny_explainer.log_odds_contributions(X)[:, :-1]
    c = contrib.to_numpy()
    assert np.all((np.sign(c) == np.sign(phi)) | (c == 0))


def test_log_odds_values_match_shap_tree_explainer(tiny_model, tiny_explainer):
    import shap

    X, _ = make_frame(300, seed=12)
    explainer = shap.TreeExplainer(tiny_model.estimator, feature_perturbation="tree_path_dependent")
    reference = explainer(X)
    ours = tiny_explainer.log_odds_contributions(X)
    np.testing.assert_allclose(ours[:, :-1], reference.values, atol=1e-9)
    np.testing.assert_allclose(ours[:, -1], reference.base_values, atol=1e-9)


def test_categorical_given_as_text_or_other_levels_gives_the_same_answer(tiny_explainer):
    X, _ = make_frame(200, seed=13)
    base, expected = tiny_explainer.contributions(X)
    as_text = X.assign(ace_care_episode=X["ace_care_episode"].astype(object))
    reordered = X.assign(
        ace_care_episode=X["ace_care_episode"].cat.reorder_categories(CATEGORY_LEVELS[::-1])
    )
    for variant in (as_text, reordered):
        _, got = tiny_explainer.contributions(variant)
        pd.testing.assert_frame_equal(got, expected)


def test_unseen_category_and_all_missing_rows_are_explained(tiny_model, tiny_explainer):
    X, _ = make_frame(5, seed=14)
    X = X.astype({"ace_care_episode": object})
    X.loc[0, "ace_care_episode"] = "never_seen_level"
    X.loc[1, :] = np.nan
    explanations = tiny_explainer.explain(X)
    base, contrib = tiny_explainer.contributions(X)
    assert len(explanations) == 5
    # An unseen level is read as missing, the way LightGBM treats it.
    missing = X.assign(ace_care_episode=np.nan)
    assert contrib.loc[0, "ace_care_episode"] == tiny_explainer.contributions(missing)[1].loc[0, "ace_care_episode"]
    assert explanations[1]["probability"] == pytest.approx(base[1] + contrib.loc[1].sum(), abs=1e-6)
    json.dumps(explanations, allow_nan=False)


def test_explain_lists_top_factors_each_way_in_order(tiny_explainer):
    X, _ = make_frame(400, seed=15)
    base, contrib = tiny_explainer.contributions(X)
    explanations = tiny_explainer.explain(X)
    assert len(explanations) == len(X)
    for i, case in enumerate(explanations):
        row = contrib.iloc[i]
        raising = [f["contribution"] for f in case["raising"]]
        lowering = [f["contribution"] for f in case["lowering"]]
        assert len(raising) <= 3 and len(lowering) <= 3
        assert raising == sorted(raising, reverse=True) and all(c > 0 for c in raising)
        assert lowering == sorted(lowering) and all(c < 0 for c in lowering)
        # Without a dictionary each feature is its own group; only groups shown at 0.01 points.
        visible = np.round(100 * row, 2)
        expected_up = row[visible > 0].sort_values(ascending=False).index[:3].tolist()
        assert [f["group"] for f in case["raising"]] == expected_up
        assert [f["features"][0]["feature"] for f in case["raising"]] == expected_up
        assert case["support_could_address"] == []
        assert case["probability"] == pytest.approx(base[i] + row.sum(), abs=1e-6)
        assert case["base_value"] == pytest.approx(tiny_explainer.base_value_, abs=1e-6)
    assert any(case["raising"] for case in explanations) and any(case["lowering"] for case in explanations)


def test_factor_fields_without_a_dictionary(tiny_explainer):
    X, _ = make_frame(50, seed=16)
    X.loc[:, "school_attendance_pct"] = np.nan
    groups = [g for case in tiny_explainer.explain(X, top_k=6) for g in case["raising"] + case["lowering"]]
    for group in groups:
        assert set(group) == {"group", "family", "modifiable", "sentence", "contribution", "features"}
        assert group["family"] == "unassigned" and group["modifiable"] is False
        assert [f["feature"] for f in group["features"]] == [group["group"]]
        assert group["sentence"] == group["features"][0]["sentence"]
    factors = [f for g in groups for f in g["features"]]
    attendance = [f for f in factors if f["feature"] == "school_attendance_pct"]
    assert attendance, "missing attendance should matter for some case in this model"
    for factor in attendance:
        assert factor["value"] is None
        assert factor["sentence"] == "school_attendance_pct = missing"
    for factor in factors:
        assert set(factor) == {"feature", "value", "sentence", "contribution"}
    care = [f for f in factors if f["feature"] == "ace_care_episode" and f["value"] is not None]
    assert care and all(f["value"] in CATEGORY_LEVELS for f in care)
    json.dumps(factors, allow_nan=False)


class _RecordingDictionary:
    """A dictionary double: records what it is asked and answers in a recognisable way."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, str]] = []

    def family(self, name: str) -> str:
        return name.split("_")[0]

    def sentence(self, name: str, value: object, direction: str) -> str:
        self.calls.append((name, value, direction))
        return f"{name}|{direction}"


def test_sentences_and_families_come_from_the_dictionary(tiny_model):
    dictionary = _RecordingDictionary()
    explainer = ProbabilityShapExplainer().fit(tiny_model.estimator, tiny_model.calibrator, tiny_model.X, dictionary)
    X, _ = make_frame(30, seed=17)
    X.loc[0, "school_attendance_pct"] = np.nan
    for case in explainer.explain(X):
        for group in case["raising"]:
            assert group["sentence"] == f"{group['group']}|raised"
            assert group["family"] == group["group"].split("_")[0]
        for group in case["lowering"]:
            assert group["sentence"] == f"{group['group']}|lowered"
    # Missing values reach the dictionary as missing (None), so it can say "no school record".
    asked = [v for name, v, _ in dictionary.calls if name == "school_attendance_pct"]
    assert None in asked


def test_fallback_when_the_log_odds_sum_is_about_zero(tiny_explainer):
    bias = tiny_explainer.expected_margin_
    phi = np.array(
        [
            [0.4, -0.4, 0.0, 0.0, 0.0, 0.0, bias],  # S == 0: p == base, every contribution 0
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, bias],  # no signal at all
            [0.3, -0.3 + SUM_TOLERANCE / 4, 0.0, 0.0, 0.0, 0.0, bias],  # tiny S: shared by |shap|
            [1.0, -0.5, 0.2, 0.0, 0.0, 0.0, bias],  # regular rescaling
        ]
    )
    base, contrib, probability = tiny_explainer.to_probability(phi)
    assert np.all(np.isfinite(contrib))
    np.testing.assert_allclose(base + contrib.sum(axis=1), probability, atol=1e-12)
    np.testing.assert_array_equal(contrib[0], 0.0)
    np.testing.assert_array_equal(contrib[1], 0.0)
    delta = probability[3] - base[3]
    np.testing.assert_allclose(contrib[3, :3], delta * np.array([1.0, -0.5, 0.2]) / 0.7)


def test_json_safe_values():
    assert json_safe(np.float64("nan")) is None
    assert json_safe(None) is None
    assert json_safe(3.0) == 3 and isinstance(json_safe(3.0), int)
    assert json_safe(np.float32(0.71234567)) == pytest.approx(0.7123)
    assert json_safe(np.int64(4)) == 4
    assert json_safe("looked_after") == "looked_after"
    assert json_safe(pd.NA) is None


def test_errors_are_clear(tiny_model, tiny_explainer):
    from lightgbm import LGBMClassifier

    with pytest.raises(ValueError, match="not fitted"):
        ProbabilityShapExplainer().contributions(tiny_model.X)
    with pytest.raises(ValueError, match="top_k"):
        ProbabilityShapExplainer(top_k=0).fit(tiny_model.estimator, tiny_model.calibrator, tiny_model.X)
    with pytest.raises(ValueError, match="LGBMClassifier"):
        ProbabilityShapExplainer().fit(LGBMClassifier(), tiny_model.calibrator, tiny_model.X)
    with pytest.raises(ValueError, match="calibrator"):
        ProbabilityShapExplainer().fit(tiny_model.estimator, object(), tiny_model.X)
    with pytest.raises(ValueError, match="columns"):
        ProbabilityShapExplainer().fit(tiny_model.estimator, tiny_model.calibrator, tiny_model.X.iloc[:, ::-1])
    with pytest.raises(ValueError, match="lacks the model features"):
        tiny_explainer.explain(tiny_model.X.drop(columns=["noise"]))
    with pytest.raises(ValueError, match="cannot be read as a number"):
        tiny_explainer.explain(tiny_model.X.assign(noise="abc"))
    with pytest.raises(ValueError, match="top_k"):
        tiny_explainer.explain(tiny_model.X, top_k=-1)
