"""`svrisk train --engine dask`: the LightGBM search on a Dask cluster with ``lightgbm.dask``.

Only the LightGBM fits move to the cluster; the data set, calibration,
baselines, explainer, MLflow logging and the registered pyfunc are the
single-machine run's (:func:`training.fitting.fit_dataset` with
:func:`search_lightgbm_on_cluster` as its search). Every grid point is fitted
by ``lightgbm.dask.DaskLGBMClassifier`` on the training rows spread over the
workers (the same negative sampling, weights, constraints and parameters as
:func:`training.models.search_lightgbm`).

Early stopping: LightGBM's early-stopping callback is not supported by its
Dask estimator (each worker would judge its own part of the validation rows),
so each fit runs all ``max_estimators`` rounds and the validation period's log
loss is computed here after every round; the best round is then chosen by the
early-stopping rule itself (stop once ``early_stopping_rounds`` rounds bring no
improvement, keep the best so far), and the local model predicts with it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from training.config import SearchConfig
from training.models import SearchResult, base_params, best_of_grid, search_inputs

N_JOBS_IGNORED = "Parameter n_jobs will be ignored"
# Each round's log loss as LightGBM computes it: probabilities clipped away from 0 and 1.
_EPSILON = 1e-15


def search_lightgbm_on_cluster(
    client: Any,
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
    """:func:`training.models.search_lightgbm` with each fit on ``client``'s workers.

    The winning estimator is the local ``LGBMClassifier`` of the Dask fit
    (``to_local()``), predicting with its best round.
    """
    import dask.dataframe as dd
    from lightgbm.dask import DaskLGBMClassifier

    X_train, y_train, weight, constrained = search_inputs(X_train, y_train, search, seed, monotone_constraints)
    # One part per worker, scattered once: sent as data, not embedded in every fit's task graph.
    chunks = np.array_split(np.arange(len(X_train)), max(1, len(client.scheduler_info()["workers"])))

    def spread(frame: pd.DataFrame | pd.Series) -> Any:
        return dd.from_delayed(client.scatter([frame.iloc[rows] for rows in chunks]), meta=frame.iloc[:0],
                               verify_meta=False)

    X_dask = spread(X_train.reset_index(drop=True))
    y_dask = spread(pd.Series(y_train))
    w_dask = None if weight is None else spread(pd.Series(weight))
    y_val = np.asarray(y_val, dtype=float)
    shared = base_params(search, seed, n_jobs)
    # lightgbm.dask gives each worker's fit that worker's own thread count.
    del shared["n_jobs"]

    def fit(params: dict) -> tuple[Any, int, float]:
        model = DaskLGBMClassifier(client=client, **{**shared, **search.extra_params, **params, **constrained})
        with warnings.catch_warnings():
            # lightgbm 4.7's Dask fit passes the estimator's own n_jobs (None) on and then warns
            # that it drops it; nothing to act on, and only that message is silenced.
            warnings.filterwarnings("ignore", message=N_JOBS_IGNORED, category=UserWarning)
            model.fit(X_dask, y_dask, sample_weight=w_dask)
        estimator = model.to_local()
        iteration, loss = early_stopping_round(validation_losses(estimator, X_val, y_val),
                                               search.early_stopping_rounds)
        use_round(estimator, iteration)
        return estimator, iteration, loss

    return best_of_grid(search.grid, fit, on_trial)


def validation_losses(estimator: Any, X_val: pd.DataFrame, y_val: np.ndarray) -> np.ndarray:
    """The validation log loss after each boosting round (one raw-score pass per tree, summed)."""
    booster = estimator.booster_
    raw = np.zeros(len(X_val))
    losses = np.empty(booster.num_trees())
    for i in range(booster.num_trees()):
        raw += booster.predict(X_val, raw_score=True, start_iteration=i, num_iteration=1)
        p = np.clip(1.0 / (1.0 + np.exp(-raw)), _EPSILON, 1.0 - _EPSILON)
        losses[i] = -np.mean(y_val * np.log(p) + (1.0 - y_val) * np.log(1.0 - p))
    return losses


def early_stopping_round(losses: np.ndarray, rounds: int) -> tuple[int, float]:
    """LightGBM's early-stopping choice on per-round losses: (best round, 1-based; its loss)."""
    best = 0
    for i in range(1, len(losses)):
        if losses[i] < losses[best]:
            best = i
        elif i - best >= rounds:
            break
    return best + 1, float(losses[best])


def use_round(estimator: Any, iteration: int) -> None:
    """Make the local model predict with ``iteration`` rounds, as an early-stopped fit does
    (its booster's ``best_iteration``, which every prediction and SHAP call uses by default)."""
    estimator.booster_.best_iteration = iteration
    # The sklearn wrapper's copy, read by best_iteration_ (the run's params and model card).
    estimator._best_iteration = iteration
