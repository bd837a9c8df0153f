"""Fit one model on a :class:`~training.datasets.Dataset`: search, calibrate, explain, evaluate.

:func:`fit_dataset` runs the steps in order; each step is its own function so
it can be read and tested on its own. The LightGBM search and the calibrator
learn on the train and validation periods; everything reported is on the test
period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from extract.contract import AUDITED_ATTRIBUTES
from runtime.calibration import Calibrator, choose_method
from runtime.risk_model import RiskModel
from training.baselines import BASELINE_COLUMNS, fit_logistic, predict_logistic, rule_scores
from training.config import TrainingConfig
from training.datasets import Dataset
from training.metrics import calibration_table, evaluate
from training.models import SearchResult, raw_probability, search_lightgbm

MODEL_KEY = "lightgbm"

Progress = Callable[[str], None]


@dataclass
class TrainingResult:
    """What a run produced, before logging."""

    risk_model: RiskModel
    predictions: pd.DataFrame  # test period: keys, label, probability, baselines, audit
    metrics: dict[str, dict[str, float]]  # model name -> test metrics
    validation: dict[str, float]
    calibration_curve: pd.DataFrame
    trials: list[dict[str, float | int]]
    params: dict[str, str | int | float]
    X_test: pd.DataFrame
    audit_test: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step (not reproducible)


@dataclass
class Calibration:
    """The fitted calibrator, how its method was chosen, and the raw validation probabilities."""

    calibrator: Calibrator
    method: str
    briers: dict[str, float]  # mean held-out Brier per method ("auto" only)
    raw_validation: np.ndarray


def unfitted_risk_model(data: Dataset) -> RiskModel:
    """The RiskModel for ``data``'s inputs (names, category levels, feature builder, outcome)."""
    return RiskModel(
        feature_names=list(data.X.columns),
        categories={c: [str(v) for v in data.X[c].cat.categories] for c in data.X.columns
                    if isinstance(data.X[c].dtype, pd.CategoricalDtype)},
        feature_config=data.feature_config, outcome=data.outcome,
        id_column=data.id_column, time_column=data.time_column,
    )


def calibrate(estimator: Any, X_val: pd.DataFrame, y_val: np.ndarray, groups: pd.Series,
              config: TrainingConfig) -> Calibration:
    """Fit the calibrator on the validation period (method chosen there when ``auto``)."""
    raw_val = raw_probability(estimator, X_val)
    if config.calibration == "auto":
        method, briers = choose_method(raw_val, y_val, groups, config.seed)
    else:
        method, briers = config.calibration, {}
    return Calibration(Calibrator(method).fit(raw_val, y_val), method, briers, raw_val)


def score_test_rows(estimator: Any, calibrator: Calibrator, X_train: pd.DataFrame, y_train: np.ndarray,
                X_test: pd.DataFrame, config: TrainingConfig) -> dict[str, np.ndarray]:
    """Test-period scores of the model (calibrated and raw) and of every baseline, by name."""
    raw_test = raw_probability(estimator, X_test)
    logistic = fit_logistic(X_train, y_train, config.seed)
    return {
        MODEL_KEY: calibrator.predict(raw_test),
        f"{MODEL_KEY}_uncalibrated": raw_test,
        "baseline_logistic": predict_logistic(logistic, X_test),
        **rule_scores(X_test, config.baselines),
    }


def evaluate_test_rows(y_test: np.ndarray, scores: dict[str, np.ndarray],
                 config: TrainingConfig) -> dict[str, dict[str, float]]:
    """Test metrics of every score that is complete (a rule whose feature the table lacks is not)."""
    return {
        name: evaluate(
            y_test, score, top_fractions=config.top_fractions, capacity=config.team_capacity,
            ece_bins=config.ece_bins, probabilistic=not name.startswith(("baseline_ace4", "baseline_prior")),
        )
        for name, score in scores.items() if not np.isnan(score).any()
    }


def fit_explainer(estimator: Any, calibrator: Calibrator, X: pd.DataFrame, train: np.ndarray,
                  dictionary: Any, config: TrainingConfig) -> Any:
    """The probability-point explainer, its reference a seeded sample of training rows."""
    from runtime.shap_explainer import ProbabilityShapExplainer

    rng = np.random.default_rng(config.seed)
    train_rows = np.flatnonzero(train)
    reference_rows = rng.choice(train_rows, size=min(config.explainer_reference_rows, len(train_rows)),
                                replace=False)
    return ProbabilityShapExplainer(top_k=config.top_k_factors).fit(
        estimator, calibrator, X.iloc[np.sort(reference_rows)], dictionary
    )


def predictions_table(data: Dataset, test: np.ndarray, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """The test-period rows the gate audits: keys, label, probability, baselines, audited attributes."""
    predictions = data.keys[test].reset_index(drop=True).copy()
    predictions["label"] = data.y.to_numpy(dtype=float)[test].astype("int64")
    predictions["probability"] = scores[MODEL_KEY]
    for column in BASELINE_COLUMNS:
        predictions[column] = scores[column]
    audit_test = data.audit[test].reset_index(drop=True)
    for column in audit_test.columns:
        predictions[column] = audit_test[column].to_numpy()
    for column in AUDITED_ATTRIBUTES:
        if column not in predictions.columns:
            predictions[column] = None
    return predictions


def run_params(data: Dataset, config: TrainingConfig, search: SearchResult, method: str,
               constraints: list[int] | None) -> dict[str, str | int | float]:
    """The run's MLflow params: data source, split, settings and the chosen hyperparameters."""
    train, val, test = data.rows("train"), data.rows("validation"), data.rows("test")
    return {
        **data.source, **data.split.as_params(),
        "seed": config.seed, "n_jobs": config.n_jobs, "team_capacity": config.team_capacity,
        "calibration_method": method, "n_features": data.X.shape[1],
        "n_train": int(train.sum()), "n_validation": int(val.sum()), "n_test": int(test.sum()),
        "include_protected": ",".join(config.include_protected) or "none",
        "best_iteration": int(search.estimator.best_iteration_),
        "monotone_features": sum(1 for c in constraints or () if c),
        **{f"lgbm_{k}": v for k, v in search.params.items()},
        "lgbm_learning_rate": config.search.learning_rate,
    }


def _reference(probabilities: np.ndarray, size: int) -> np.ndarray:
    """At most ``size`` evenly spaced order statistics of the sorted probabilities."""
    ordered = np.sort(probabilities)
    if len(ordered) <= size:
        return ordered
    return ordered[np.linspace(0, len(ordered) - 1, size).round().astype(int)]


def fit_dataset(data: Dataset, config: TrainingConfig, progress: Progress | None = None,
                search_with: Callable[..., SearchResult] = search_lightgbm) -> TrainingResult:
    """Search, calibrate, explain and evaluate the model and the baselines on ``data``.

    ``search_with`` runs the LightGBM search (:func:`training.models.search_lightgbm`'s
    arguments and result); on a Dask cluster, training/dask_training.py's.
    """
    tell = progress or (lambda _message: None)
    train, val, test = data.rows("train"), data.rows("validation"), data.rows("test")
    risk = unfitted_risk_model(data)
    X = risk.prepare(data.X)
    y = data.y.to_numpy(dtype=float)

    # A bring-your-own table has no dictionary, so no directions: its model stays unconstrained.
    constraints = (data.dictionary.directions(list(X.columns))
                   if config.monotone_constraints and data.dictionary is not None else None)
    search = search_with(
        X[train], y[train], X[val], y[val], search=config.search, seed=config.seed,
        n_jobs=config.n_jobs, monotone_constraints=constraints, on_trial=lambda t: tell(f"search: {t}"),
    )
    estimator = search.estimator

    calibration = calibrate(estimator, X[val], y[val], data.keys["person_id"][val], config)
    calibrator = calibration.calibrator
    tell(f"calibration: {calibration.method}")

    scores = score_test_rows(estimator, calibrator, X[train], y[train], X[test], config)
    tell("baselines fitted")
    y_test = y[test]
    probability = scores[MODEL_KEY]
    metrics = evaluate_test_rows(y_test, scores, config)
    validation = {
        "logloss": float(min(t["validation_logloss"] for t in search.trials)),
        "brier_calibrated": float(np.mean((calibrator.predict(calibration.raw_validation) - y[val]) ** 2)),
        **{f"calibration_brier_{m}": b for m, b in calibration.briers.items()},
    }

    explainer = fit_explainer(estimator, calibrator, X, train, data.dictionary, config)
    tell("explainer fitted")
    risk.fit(estimator, calibrator, explainer, _reference(probability, config.reference_size), metrics)

    return TrainingResult(
        risk_model=risk, predictions=predictions_table(data, test, scores), metrics=metrics,
        validation=validation, calibration_curve=calibration_table(y_test, probability, config.ece_bins),
        trials=search.trials, params=run_params(data, config, search, calibration.method, constraints),
        X_test=X[test].reset_index(drop=True), audit_test=data.audit[test].reset_index(drop=True),
    )
