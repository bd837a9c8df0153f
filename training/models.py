"""The LightGBM model and its small hyperparameter search on the validation period.

Each parameter set of ``config.search.grid`` is trained on the training
period with early stopping on the validation period's log loss; the set with
the lowest validation log loss wins. LightGBM runs deterministically
(``deterministic=True``, ``force_row_wise=True``, fixed ``n_jobs`` and seed),
so the same data, configuration and seed give the same trees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.config import SearchConfig

ERR_CONSTRAINTS_LENGTH = "monotone_constraints has {given} entries for {columns} feature columns"
ERR_CONSTRAINTS_TWICE = (
    "search.extra_params sets monotone_constraints while the configuration's monotone_constraints "
    "takes them from the feature dictionary; keep one (set monotone_constraints: false to give your own)"
)


@dataclass
class SearchResult:
    """The winning estimator and every tried parameter set with its validation score."""

    estimator: object
    params: dict[str, float | int]
    trials: list[dict[str, float | int]]


def base_params(search: SearchConfig, seed: int, n_jobs: int) -> dict[str, object]:
    """LightGBM arguments shared by every trial."""
    return {
        "objective": "binary",
        "learning_rate": search.learning_rate,
        "n_estimators": search.max_estimators,
        "subsample_for_bin": search.subsample_for_bin,
        "random_state": seed,
        "n_jobs": n_jobs,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


def search_lightgbm(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
    *,
    search: SearchConfig,
    seed: int,
    n_jobs: int,
    monotone_constraints: list[int] | None = None,
    on_trial: Callable[[dict[str, float | int]], None] | None = None,
) -> SearchResult:
    """Train every grid point with early stopping and keep the best by validation log loss.

    ``monotone_constraints`` has one entry per column of ``X_train`` in order (+1: the
    score never falls as the value rises, -1: never rises, 0: free); None or all zero
    trains without constraints.
    """
    import lightgbm as lgb

    X_train, y_train, weight, constrained = search_inputs(X_train, y_train, search, seed, monotone_constraints)

    def fit(params: dict) -> tuple[object, int, float]:
        estimator = lgb.LGBMClassifier(**{**base_params(search, seed, n_jobs), **search.extra_params,
                                          **params, **constrained})
        estimator.fit(
            X_train,
            y_train,
            sample_weight=weight,
            eval_X=(X_val,),
            eval_y=(y_val,),
            eval_metric="binary_logloss",
            callbacks=[lgb.early_stopping(search.early_stopping_rounds, verbose=False)],
        )
        loss = float(estimator.best_score_["valid_0"]["binary_logloss"])
        return estimator, int(estimator.best_iteration_), loss

    return best_of_grid(search.grid, fit, on_trial)


def best_of_grid(
    grid: list[dict],
    fit: Callable[[dict], tuple[object, int, float]],
    on_trial: Callable[[dict[str, float | int]], None] | None = None,
) -> SearchResult:
    """Fit every grid point (``fit(params) -> (estimator, best iteration, validation log loss)``)
    and keep the lowest validation log loss; every trial recorded."""
    best: SearchResult | None = None
    best_loss = np.inf
    trials: list[dict[str, float | int]] = []
    for params in grid:
        estimator, iteration, loss = fit(params)
        trial = {**params, "best_iteration": iteration, "validation_logloss": loss}
        trials.append(trial)
        if on_trial is not None:
            on_trial(trial)
        if loss < best_loss:
            best_loss = loss
            best = SearchResult(estimator=estimator, params=dict(params), trials=trials)
    assert best is not None  # the grid is validated non-empty
    best.trials = trials
    return best


def search_inputs(
    X_train: pd.DataFrame, y_train: np.ndarray, search: SearchConfig, seed: int,
    monotone_constraints: list[int] | None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, dict[str, list[int]]]:
    """The training rows after the seeded negative sampling, their weights, and the monotone
    constraints as LightGBM arguments (empty when none), checked; shared by the Dask search."""
    if monotone_constraints is not None and len(monotone_constraints) != X_train.shape[1]:
        raise ValueError(ERR_CONSTRAINTS_LENGTH.format(given=len(monotone_constraints), columns=X_train.shape[1]))
    constrained = {"monotone_constraints": list(monotone_constraints)} if any(monotone_constraints or ()) else {}
    if constrained and "monotone_constraints" in search.extra_params:
        raise ValueError(ERR_CONSTRAINTS_TWICE)

    y_train = np.asarray(y_train, dtype=float)
    weight = None
    if search.negative_sample_rate < 1.0:
        keep = (y_train == 1) | (np.random.default_rng(seed).random(len(y_train)) < search.negative_sample_rate)
        X_train, y_train = X_train[keep], y_train[keep]
        weight = np.where(y_train == 1, 1.0, 1.0 / search.negative_sample_rate)
    return X_train, y_train, weight, constrained


def raw_probability(estimator: object, X: pd.DataFrame) -> np.ndarray:
    """Uncalibrated LightGBM probability of the positive class (best iteration)."""
    return np.asarray(estimator.predict_proba(X)[:, 1], dtype=float)
