"""Explanations by concept: groups add up, none is empty, support lists only what a service can change,
near-duplicate features do not change the story, and models saved before groups still explain by concept."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest

from runtime.risk_language import DISPLAY_DECIMALS, other_factors_sentence


@pytest.fixture(scope="module")
def sample(pipeline_model) -> pd.DataFrame:
    return pipeline_model.risk_model.prepare(pipeline_model.table.X.iloc[:400])


@pytest.fixture(scope="module")
def explained(pipeline_model, sample) -> list[dict]:
    return pipeline_model.risk_model.explainer_.explain(sample)


def _group_contributions(explainer, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    base, contrib = explainer.contributions(X)
    grouping = explainer.grouping()
    return base, pd.DataFrame(contrib.to_numpy() @ grouping.matrix, index=X.index, columns=grouping.names)


def test_group_contributions_add_up_to_the_probability(pipeline_model, sample, explained):
    explainer = pipeline_model.risk_model.explainer_
    base, groups = _group_contributions(explainer, sample)
    probability = pipeline_model.risk_model.predict_features(sample)
    np.testing.assert_allclose(base + groups.sum(axis=1).to_numpy(), probability, rtol=0, atol=1e-9)
    for i, case in enumerate(explained):
        for group in case["raising"] + case["lowering"]:
            assert group["contribution"] == pytest.approx(groups.iloc[i][group["group"]], abs=1e-5)


def test_no_empty_group_and_the_rest_is_bounded(pipeline_model, sample, explained):
    _, groups = _group_contributions(pipeline_model.risk_model.explainer_, sample)
    for i, case in enumerate(explained):
        listed = [g["group"] for g in case["raising"] + case["lowering"]]
        assert len(listed) == len(set(listed))
        for group in case["raising"] + case["lowering"]:
            assert round(100 * group["contribution"], DISPLAY_DECIMALS) != 0, group
        rest = groups.iloc[i].drop(listed).abs()
        assert case["other_factors"] == other_factors_sentence(float(rest.max()) if len(rest) else 0.0)
        stated = float(case["other_factors"].split("more than ")[1].split(" ")[0])
        assert (100 * rest <= stated + 1e-9).all()
    # With the default top 5, most cases leave only groups too small to show.
    small = sum(c["other_factors"].endswith("more than 0.01 percentage points") for c in explained)
    assert small > len(explained) / 2


def test_support_lists_only_modifiable_groups_that_raised_the_score(pipeline_model, sample, explained):
    dictionary = pipeline_model.risk_model.explainer_.dictionary_
    _, groups = _group_contributions(pipeline_model.risk_model.explainer_, sample)
    modifiable = [g for g in groups.columns if dictionary.groups[g].modifiable]
    assert any(case["support_could_address"] for case in explained)
    for i, case in enumerate(explained):
        row = groups.iloc[i]
        expected = [g for g in row[modifiable].sort_values(ascending=False).index
                    if round(100 * row[g], DISPLAY_DECIMALS) > 0]
        support = case["support_could_address"]
        assert [g["group"] for g in support] == expected
        for group in support:
            assert group["modifiable"] and group["contribution"] > 0
            for factor in group["features"]:
                assert not dictionary[factor["feature"]].protected


def test_groups_families_and_modifiability_match_the_dictionary(pipeline_model, explained):
    dictionary = pipeline_model.risk_model.explainer_.dictionary_
    for case in explained:
        for group in case["raising"] + case["lowering"] + case["support_could_address"]:
            spec = dictionary.groups[group["group"]]
            assert group["modifiable"] == spec.modifiable
            members = dictionary.members[group["group"]]
            assert group["family"] == dictionary[members[0]].family
            assert group["features"], group
            for factor in group["features"]:
                assert factor["feature"] in members
            sizes = [abs(f["contribution"]) for f in group["features"]]
            assert sizes == sorted(sizes, reverse=True) and all(s > 0 for s in sizes)


class _Identity:
    def predict(self, raw: np.ndarray) -> np.ndarray:
        return np.asarray(raw, dtype=float)


def test_near_duplicate_features_give_the_same_top_groups():
    """Attendance over 3 and 6 terms is one fact: moving only the 6-term figure keeps the story."""
    from lightgbm import LGBMClassifier

    from features.dictionary import FeatureDictionary
    from runtime.shap_explainer import ProbabilityShapExplainer

    rng = np.random.default_rng(5)
    n = 6000
    attendance = rng.uniform(0.5, 1.0, n)
    X = pd.DataFrame({
        "attendance_3t": attendance,
        "attendance_6t": np.clip(attendance + rng.normal(0, 0.01, n), 0, 1),
        "suspensions_12m": rng.poisson(0.5, n).astype(float),
        "police_suspect_any_12m": rng.poisson(0.3, n).astype(float),
        "imd_decile": rng.integers(1, 11, n).astype(float),
    })
    logit = (-2.0 - 6.0 * (attendance - 0.85) + 0.6 * X["suspensions_12m"] + 0.3 * X["police_suspect_any_12m"]
             - 0.08 * X["imd_decile"])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    estimator = LGBMClassifier(n_estimators=80, num_leaves=8, colsample_bytree=0.6, subsample=0.8,
                               subsample_freq=1, verbose=-1, n_jobs=1, random_state=3).fit(X, y)
    explainer = ProbabilityShapExplainer().fit(estimator, _Identity(), X.iloc[:100], FeatureDictionary.load())
    case = {"attendance_3t": 0.62, "attendance_6t": 0.62, "suspensions_12m": 1.0,
            "police_suspect_any_12m": 1.0, "imd_decile": 6.0}
    variants = pd.DataFrame([{**case, "attendance_6t": v} for v in (0.62, 0.58, 0.6, 0.64, 0.66)])
    explained = explainer.explain(variants)
    per_feature = explainer.contributions(variants)[1]
    # The credit moves between the two attendance features ...
    assert per_feature["attendance_6t"].nunique() > 1
    # ... while the groups, and their order, stay the same.
    for name in ("raising", "lowering"):
        orders = {tuple(g["group"] for g in e[name]) for e in explained}
        assert len(orders) == 1, (name, orders)
    assert explained[0]["raising"][0]["group"] == "school_attendance"
    assert explained[0]["raising"][0]["sentence"] == "attendance 62% over the last 3 and 6 terms"


def test_a_model_saved_before_groups_still_explains_by_concept(pipeline_model, sample, explained):
    """Its dictionary (and entries) lack groups: the packaged dictionary's groups are used."""
    old = copy.deepcopy(pipeline_model.risk_model.explainer_)
    old.__dict__.pop("_grouping_cache", None)
    dictionary = old.dictionary_
    for attribute in ("groups", "members"):
        del dictionary.__dict__[attribute]
    for entry in dictionary.entries.values():
        entry.__dict__.pop("group")
    loaded = pickle.loads(pickle.dumps(old))
    assert "_grouping_cache" not in loaded.__dict__
    assert loaded.explain(sample) == explained
