"""Honest baselines shown beside the model: logistic regression and two practitioner rules.

- ``baseline_logistic``: a scikit-learn pipeline on the same features
  (median imputation with missing-value indicators and scaling for numbers,
  one-hot encoding for categories, L2 logistic regression).
- ``baseline_ace4``: the "4+ ACEs" rule (a yes/no flag).
- ``baseline_prior_violence``: any prior serious-violence contact (a yes/no flag).

Rules need their input feature; on a bring-your-own table without it the
rule's score is NaN and the rule is left out of the metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.config import BaselineConfig

BASELINE_COLUMNS = ("baseline_logistic", "baseline_ace4", "baseline_prior_violence")


def logistic_pipeline(X: pd.DataFrame, seed: int) -> object:
    """An unfitted pipeline for ``X``'s numeric and categorical columns."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    transformers = []
    if numeric:
        transformers.append(
            ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                    keep_empty_features=True), StandardScaler()),
             numeric)
        )
    if categorical:
        transformers.append(
            ("categorical", make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True),
                OneHotEncoder(handle_unknown="ignore")), categorical)
        )
    return Pipeline([
        ("prepare", ColumnTransformer(transformers)),
        ("model", LogisticRegression(C=1.0, max_iter=5000, random_state=seed)),
    ])


def _as_object(X: pd.DataFrame) -> pd.DataFrame:
    """Categories as plain objects so the imputer sees missing values as NaN, not a category."""
    out = X.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object)
    return out


def fit_logistic(X: pd.DataFrame, y: np.ndarray, seed: int) -> object:
    pipeline = logistic_pipeline(X, seed)
    pipeline.fit(_as_object(X), y)
    return pipeline


def predict_logistic(pipeline: object, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(pipeline.predict_proba(_as_object(X))[:, 1], dtype=float)


def rule_scores(X: pd.DataFrame, config: BaselineConfig) -> dict[str, np.ndarray]:
    """The two rules as 0/1 flags (NaN where the rule's feature is not in ``X``)."""
    nan = np.full(len(X), np.nan)
    out = {"baseline_ace4": nan, "baseline_prior_violence": nan}
    if config.ace_count_feature in X.columns:
        count = pd.to_numeric(X[config.ace_count_feature]).to_numpy(dtype=float)
        out["baseline_ace4"] = (np.nan_to_num(count, nan=0.0) >= config.ace_threshold).astype(float)
    present = [name for name in config.prior_violence_features if name in X.columns]
    if present:
        prior = X[present].apply(pd.to_numeric).fillna(0.0).to_numpy(dtype=float)
        out["baseline_prior_violence"] = (prior > 0).any(axis=1).astype(float)
    return out
