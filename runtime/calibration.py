"""Probability calibration of the LightGBM raw probability: isotonic or Platt.

The method is chosen on the validation period by a two-fold cross-fit: the
validation rows are split in two halves by person (seeded), each method is
fitted on one half and scored (Brier) on the other, both ways round; the
method with the lower mean Brier wins and is then refitted on the whole
validation period. Both calibrators are monotone non-decreasing, which the
SHAP explainer relies on to map log-odds contributions to probability points.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Method = Literal["isotonic", "platt"]
METHODS: tuple[Method, ...] = ("isotonic", "platt")

ERR_UNKNOWN_METHOD = "unknown calibration method {method!r}; use one of {methods}"
ERR_NOT_FITTED = "the calibrator is not fitted; call fit() first"
ERR_LENGTH_MISMATCH = "raw probabilities ({n_raw}) and labels ({n_y}) differ in length"

# Probabilities are clipped away from 0 and 1 before the logit of Platt scaling.
_EPS = 1e-7


class Calibrator:
    """Map a raw model probability to a calibrated probability.

    Parameters
    ----------
    method : {"isotonic", "platt"}
    """

    def __init__(self, method: Method = "isotonic") -> None:
        self.method = method

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        raw = np.asarray(raw, dtype=float)
        y = np.asarray(y, dtype=float)
        if raw.shape != y.shape:
            raise ValueError(ERR_LENGTH_MISMATCH.format(n_raw=raw.shape, n_y=y.shape))
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            model.fit(raw, y)
            self.thresholds_ = np.asarray(model.X_thresholds_, dtype=float)
            self.values_ = np.asarray(model.y_thresholds_, dtype=float)
        elif self.method == "platt":
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=1e6, max_iter=1000)
            model.fit(_logit(raw).reshape(-1, 1), y)
            self.slope_ = float(model.coef_[0, 0])
            self.intercept_ = float(model.intercept_[0])
        else:
            raise ValueError(ERR_UNKNOWN_METHOD.format(method=self.method, methods=METHODS))
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw probabilities (any shape, returned as float64)."""
        raw = np.asarray(raw, dtype=float)
        if self.method == "isotonic":
            if not hasattr(self, "thresholds_"):
                raise ValueError(ERR_NOT_FITTED)
            # Linear interpolation between the fitted steps, as IsotonicRegression.predict does,
            # kept as plain arrays so the saved model needs no sklearn object to load.
            return np.interp(raw, self.thresholds_, self.values_)
        if not hasattr(self, "slope_"):
            raise ValueError(ERR_NOT_FITTED)
        z = self.slope_ * _logit(raw) + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def __repr__(self) -> str:
        return f"Calibrator(method={self.method!r})"


def choose_method(raw: np.ndarray, y: np.ndarray, groups: pd.Series, seed: int) -> tuple[Method, dict[str, float]]:
    """Pick the method with the lower two-fold cross-fitted Brier score on these rows.

    Returns the chosen method and the mean held-out Brier of each method.
    """
    raw = np.asarray(raw, dtype=float)
    y = np.asarray(y, dtype=float)
    unique = np.sort(pd.Series(groups).astype(str).unique())
    draw = pd.Series(np.random.default_rng(seed).random(len(unique)) < 0.5, index=unique)
    first = pd.Series(groups).astype(str).map(draw).to_numpy(dtype=bool)
    scores: dict[str, float] = {}
    for method in METHODS:
        briers = []
        for fit_half in (first, ~first):
            calibrator = Calibrator(method).fit(raw[fit_half], y[fit_half])
            held = ~fit_half
            briers.append(float(np.mean((calibrator.predict(raw[held]) - y[held]) ** 2)))
        scores[method] = float(np.mean(briers))
    best: Method = min(METHODS, key=lambda m: (scores[m], METHODS.index(m)))
    return best, scores


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))
