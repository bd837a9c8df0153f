"""Explanations of real feature tables: sentences for every feature, missing records, monotone sanity."""

from __future__ import annotations

import json

import numpy as np

SUSPENSIONS = "suspensions_12m"
SUSPENSION_DAYS = "suspension_days_12m"
SUSPENSIONS_EVER = "suspensions_ever"
ATTENDANCE = "attendance_3t"


def _clean(sentence: str) -> bool:
    return bool(sentence.strip()) and "{" not in sentence and "}" not in sentence and "nan" not in sentence.lower()


def test_every_feature_has_sentences_both_ways_and_when_missing(pipeline_model):
    from features.dictionary import FAMILIES

    risk = pipeline_model.risk_model
    dictionary = risk.explainer_.dictionary_
    X = pipeline_model.table.X
    for name in X.columns:
        assert name in dictionary, name
        assert risk.explainer_.feature_families[name] in FAMILIES
        present = X[name].dropna()
        values = [present.iloc[0], present.iloc[-1]] if len(present) else []
        for value in [*values, np.nan]:
            for direction in ("raised", "lowered"):
                assert _clean(dictionary.sentence(name, value, direction)), (name, value, direction)
    # And through the explanation itself: with top_k = all, every group that moves a
    # case's score at display precision is listed, with clean sentences for it and its features.
    sample = X.iloc[:300]
    explained = risk.explainer_.explain(sample, top_k=len(X.columns))
    seen = set()
    for case in explained:
        for group in case["raising"] + case["lowering"]:
            assert _clean(group["sentence"]), group
            assert all(_clean(f["sentence"]) for f in group["features"]), group
            seen.add(group["group"])
    json.dumps(explained, allow_nan=False)
    _, contrib = risk.explainer_.contributions(sample)
    by_group = contrib.T.groupby([dictionary[name].group for name in contrib.columns]).sum().T
    moving = set(by_group.columns[(np.round(100 * by_group, 2) != 0).any()])
    assert seen == moving and len(moving) > 5


def test_no_school_record_says_so_never_attendance_zero(pipeline_model):
    risk = pipeline_model.risk_model
    X = pipeline_model.table.X
    no_record = X[X[ATTENDANCE].isna()]
    assert len(no_record) > 0
    explained = risk.explainer_.explain(no_record.iloc[:400], top_k=len(X.columns))
    groups = [g for case in explained for g in case["raising"] + case["lowering"] if g["group"] == "school_attendance"]
    assert groups and all(g["sentence"] == "no school attendance record in the last 6 terms" for g in groups)
    factors = [f for g in groups for f in g["features"] if f["feature"] == ATTENDANCE]
    assert factors, "missing attendance should move some case's score"
    expected = risk.explainer_.dictionary_["attendance_3t"].missing
    for factor in factors:
        assert factor["value"] is None
        assert factor["sentence"] == expected
        assert "0%" not in factor["sentence"]
    # A recorded attendance is shown as a percentage.
    recorded = X[X[ATTENDANCE].notna()].iloc[:200]
    shown = [
        g for case in risk.explainer_.explain(recorded, top_k=len(X.columns))
        for g in case["raising"] + case["lowering"] if g["group"] == "school_attendance"
    ]
    assert shown and all("%" in g["sentence"] for g in shown)
    assert all("%" in f["sentence"] for g in shown for f in g["features"] if f["feature"] == ATTENDANCE)


def test_raising_suspensions_never_lowers_their_contribution(pipeline_model):
    """The issue's monotone sanity check on a model trained on the pipeline's features.

    Suspensions in the last 12 months 0..5 for 300 cases, raised as a record would raise
    them: the count, their days (contract 1.1: every suspension has its length; two days
    each here) and the count ever. The contribution of the suspension concept (issue 22's
    group: its features' contributions summed, in probability points) must not fall as
    the count rises, and must rise overall. (The training default's search needs far more
    people than a unit test can generate before it splits on suspensions at all;
    benchmarks/explain.py runs the same check on the default model.)
    """
    from features.dictionary import FeatureDictionary

    members = FeatureDictionary.load().members["suspensions"]
    assert SUSPENSIONS in members and SUSPENSION_DAYS in members and SUSPENSIONS_EVER in members
    explainer = pipeline_model.risk_model.explainer_
    X = pipeline_model.risk_model.prepare(pipeline_model.table.X)
    rng = np.random.default_rng(0)
    sample = X.iloc[rng.choice(len(X), 300, replace=False)].reset_index(drop=True)
    columns = []
    for count in range(6):
        raised = sample.assign(**{
            SUSPENSIONS: float(count),
            SUSPENSION_DAYS: 2.0 * count,
            SUSPENSIONS_EVER: np.maximum(sample[SUSPENSIONS_EVER].fillna(0).to_numpy(), count),
        })
        _, contrib = explainer.contributions(raised)
        columns.append(contrib[members].sum(axis=1).to_numpy())
    steps = np.diff(np.column_stack(columns), axis=1)
    assert steps.min() >= -1e-9, f"{(steps < -1e-9).sum()} of {steps.size} steps lower the contribution"
    assert columns[-1].mean() > columns[0].mean() + 1e-4


def test_default_training_never_moves_a_constrained_factor_against_its_direction(pipeline_model):
    """Issue 5's monotone check on the DEFAULT configuration (TrainingConfig defaults: search
    grid, negative sampling, monotone constraints from the dictionary), trained through
    training.fitting.fit_dataset on the pipeline's features and its true outcomes.

    suspensions_12m 0..5, and every other constrained feature the model splits on over
    the range of its values: a feature's contribution (probability points) never moves
    against its dictionary direction as its value rises. At 1,500 people the default
    search does not split on suspensions_12m yet (it needs far more people; the check
    then holds because the factor contributes nothing), so at least three other
    constrained features in use keep the test from being vacuous.
    """
    import pandas as pd

    from features.dictionary import FeatureDictionary
    from training.config import TrainingConfig
    from training.split import snapshot_split
    from training.datasets import Dataset
    from training.fitting import fit_dataset

    table = pipeline_model.table
    y = pd.Series(pipeline_model.y, dtype="float64")
    period, split = snapshot_split(table.keys["as_of"], y, horizon_days=365)
    dictionary = FeatureDictionary.load()
    data = Dataset(keys=table.keys, X=table.X, y=y, audit=table.audit, period=period, split=split,
                   source={}, feature_config=pipeline_model.risk_model.feature_config,
                   dictionary=dictionary, outcome={"description": "true outcome (test model)"})
    config = TrainingConfig(n_jobs=1)
    assert config.monotone_constraints and config.search == TrainingConfig().search
    risk = fit_dataset(data, config).risk_model
    X = risk.prepare(table.X)
    sample = X.iloc[np.random.default_rng(0).choice(len(X), 300, replace=False)].reset_index(drop=True)
    splits = dict(zip(risk.feature_names, risk.estimator_.booster_.feature_importance("split"), strict=True))
    used = [n for n in risk.feature_names if splits[n] > 0 and dictionary[n].direction and n != SUSPENSIONS]
    assert len(used) >= 3, splits
    grids = {SUSPENSIONS: np.arange(6.0)}
    grids.update({n: np.unique(np.nanquantile(X[n], np.linspace(0, 1, 7))) for n in used})
    for name, values in grids.items():
        columns = [risk.explainer_.contributions(sample.assign(**{name: value}))[1][name].to_numpy()
                   for value in values]
        steps = dictionary[name].direction * np.diff(np.column_stack(columns), axis=1)
        assert steps.min() >= -1e-9, f"{name}: {(steps < -1e-9).sum()} of {steps.size} steps go against it"
