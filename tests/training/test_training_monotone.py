"""Monotone constraints: from the dictionary's directions to LightGBM, in feature order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.config import SearchConfig
from training.models import ERR_CONSTRAINTS_LENGTH, ERR_CONSTRAINTS_TWICE, search_lightgbm

TINY_SEARCH = SearchConfig(max_estimators=20, early_stopping_rounds=5, negative_sample_rate=1.0,
                           grid=[{"num_leaves": 4, "min_child_samples": 5}])


def _frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"up": rng.poisson(1.0, n).astype(float), "free": rng.normal(size=n),
                      "down": rng.random(n)})
    logit = -1.0 + 0.8 * X["up"] - 1.5 * X["down"] + np.sin(3 * X["free"])
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)


def test_training_constraints_reach_lightgbm_in_feature_order(trained_extract) -> None:
    from features.dictionary import FeatureDictionary

    risk = trained_extract.result.risk_model
    expected = FeatureDictionary.load().directions(risk.feature_names)
    dumped = risk.estimator_.booster_.dump_model()
    assert dumped["feature_names"] == risk.feature_names
    assert dumped["monotone_constraints"] == expected
    assert {1, -1, 0} <= set(expected)
    assert trained_extract.result.params["monotone_features"] == sum(1 for d in expected if d)
    index = risk.feature_names.index
    assert expected[index("suspensions_12m")] == 1 and expected[index("attendance_3t")] == -1
    assert expected[index("age")] == 0


def test_training_table_without_dictionary_stays_unconstrained(trained_table) -> None:
    dumped = trained_table.result.risk_model.estimator_.booster_.dump_model()
    assert not any(dumped.get("monotone_constraints") or ())
    assert trained_table.result.params["monotone_features"] == 0


def test_training_search_holds_each_column_to_its_direction() -> None:
    X, y = _frame()
    result = search_lightgbm(X[:300], y[:300], X[300:], y[300:], search=TINY_SEARCH, seed=1, n_jobs=1,
                             monotone_constraints=[1, 0, -1])
    grid = np.linspace(0, 4, 9)
    base = X.iloc[:50]
    for column, sign in (("up", 1), ("down", -1)):
        scores = np.column_stack([result.estimator.predict_proba(base.assign(**{column: v}))[:, 1] for v in grid])
        assert (sign * np.diff(scores, axis=1)).min() >= -1e-12, column
    with pytest.raises(ValueError, match=ERR_CONSTRAINTS_LENGTH.split("{")[0]):
        search_lightgbm(X[:300], y[:300], X[300:], y[300:], search=TINY_SEARCH, seed=1, n_jobs=1,
                        monotone_constraints=[1, 0])


def test_training_constraints_given_twice_are_refused() -> None:
    X, y = _frame()
    search = TINY_SEARCH.model_copy(update={"extra_params": {"monotone_constraints": [0, 0, 0]}})
    with pytest.raises(ValueError, match=ERR_CONSTRAINTS_TWICE.split(";")[0]):
        search_lightgbm(X[:300], y[:300], X[300:], y[300:], search=search, seed=1, n_jobs=1,
                        monotone_constraints=[1, 0, -1])
