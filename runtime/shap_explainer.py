"""Per-case explanations in probability points of the calibrated probability.

Method
------
1. **TreeSHAP in log-odds.** The LightGBM booster's own
   ``predict(X, pred_contrib=True)`` returns, for every case, one SHAP value per
   feature plus the expected margin (the bias column), in log-odds, with
   ``bias + sum(shap) == raw margin`` exactly. It is the same path-dependent
   TreeSHAP algorithm as ``shap.TreeExplainer(model,
   feature_perturbation="tree_path_dependent")`` (the tests check the two agree
   to 1e-9), needs no background data at explain time, and it reads pandas
   ``category`` columns and NaN exactly the way the model was trained on them,
   so the known SHAP + LightGBM categorical trap (category codes re-read as
   numbers) cannot happen. It also avoids importing ``shap`` in the scoring
   path, which costs about a second and emits warnings.
2. **Mapping to probability points.** With ``m = bias + S`` (``S`` the sum of
   the log-odds SHAP values), the returned probability is
   ``p = calibrator(sigmoid(m))`` and the base value is
   ``base = calibrator(sigmoid(bias))``. The difference ``p - base`` is shared
   among the features in proportion to their log-odds SHAP values:
   ``c_j = (p - base) * shap_j / S``. Because the calibrator is monotone, the
   factor ``(p - base) / S`` is never negative, so every feature keeps the
   direction SHAP gave it, and ``base + sum(c) == p`` holds by construction
   (to floating-point error).
3. **Fallback when S is about zero** (``|S| < SUM_TOLERANCE``): the ratio is
   numerically undefined, so ``p - base`` (itself about zero for a continuous
   calibrator) is shared in proportion to ``|shap_j|``; when every SHAP value
   is exactly zero the margin equals the bias, ``p == base`` and every
   contribution is zero.

Factors whose contribution rounds to zero at ``CONTRIBUTION_DECIMALS`` are not
listed. Additivity is a property of :meth:`ProbabilityShapExplainer.contributions`
(unrounded); :meth:`ProbabilityShapExplainer.explain` rounds for display.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from runtime.model_inputs import ERR_NOT_FRAME, prepare_inputs

RAISED = "raised"
LOWERED = "lowered"
UNASSIGNED_FAMILY = "unassigned"
SUM_TOLERANCE = 1e-9
CONTRIBUTION_DECIMALS = 5
PROBABILITY_DECIMALS = 6
VALUE_DECIMALS = 4
SMALL_BATCH = 64

ERR_TOP_K = "top_k must be a positive integer, got {!r}"
ERR_NOT_FITTED = "ProbabilityShapExplainer is not fitted: call fit(estimator, calibrator, X_reference, dictionary) first"
ERR_ESTIMATOR = "estimator must be a fitted binary lightgbm.LGBMClassifier, got {!r}"
ERR_CALIBRATOR = "calibrator must have a predict(raw_probability) method, got {!r}"
ERR_EMPTY_REFERENCE = "X_reference has no rows"
ERR_REFERENCE_COLUMNS = "X_reference columns {} differ from the model's features {}"
ERR_CALIBRATOR_SHAPE = "calibrator.predict returned shape {}, expected ({},)"


class Factor(TypedDict):
    """One feature's part in one case's score."""

    feature: str
    family: str
    value: float | int | str | None
    sentence: str
    contribution: float


class CaseExplanation(TypedDict):
    """The explanation of one case: base value, probability and top factors each way."""

    base_value: float
    probability: float
    raising: list[Factor]
    lowering: list[Factor]


class ProbabilityShapExplainer:
    """TreeSHAP contributions rescaled to probability points of the calibrated score.

    Parameters
    ----------
    top_k : int, default 5
        How many factors raising and how many lowering the risk ``explain`` lists.

    Attributes
    ----------
    feature_names_ : list of str
        Model inputs in the booster's order.
    families_ : list of str
        The dictionary family of each feature (``"unassigned"`` without a dictionary).
    expected_margin_ : float
        The booster's expected raw margin (TreeSHAP bias term), in log-odds.
    base_value_ : float
        ``calibrator(sigmoid(expected_margin_))``, the probability every case starts from.
    """

    def __init__(self, top_k: int = 5) -> None:
        self.top_k = top_k

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        estimator: Any,
        calibrator: Any,
        X_reference: pd.DataFrame,
        dictionary: Any = None,
    ) -> ProbabilityShapExplainer:
        """Remember the model, its calibrator, the input dtypes and the feature dictionary.

        Parameters
        ----------
        estimator : lightgbm.LGBMClassifier
            Fitted binary classifier.
        calibrator : object with ``predict(raw_probability) -> ndarray``
            Monotone map from the raw model probability to the calibrated one.
        X_reference : DataFrame
            A sample of model inputs; fixes the column order and dtypes
            (category levels) that ``contributions`` coerces inputs to.
        dictionary : features.dictionary.FeatureDictionary or None
            Source of families and plain-English sentences. ``None`` only in
            unit tests: sentences become ``"<name> = <value>"``.
        """
        _check_top_k(self.top_k)
        booster = _booster_of(estimator)
        if not callable(getattr(calibrator, "predict", None)):
            raise ValueError(ERR_CALIBRATOR.format(type(calibrator).__name__))
        if not isinstance(X_reference, pd.DataFrame):
            raise ValueError(ERR_NOT_FRAME.format("X_reference", type(X_reference).__name__))
        if len(X_reference) == 0:
            raise ValueError(ERR_EMPTY_REFERENCE)
        names = list(booster.feature_name())
        if list(X_reference.columns) != names:
            raise ValueError(ERR_REFERENCE_COLUMNS.format(list(X_reference.columns), names))

        self.estimator_ = estimator
        self.booster_ = booster
        self.calibrator_ = calibrator
        self.dictionary_ = dictionary
        self.feature_names_ = names
        self.dtypes_ = dict(X_reference.dtypes.items())
        self.families_ = [_family(dictionary, name) for name in names]
        phi = booster.predict(X_reference.iloc[:1], pred_contrib=True)
        self.expected_margin_ = float(np.asarray(phi)[0, -1])
        self.base_value_ = float(self._calibrate(_sigmoid(np.array([self.expected_margin_])))[0])
        return self

    # ------------------------------------------------------- contributions
    def log_odds_contributions(self, X: pd.DataFrame) -> np.ndarray:
        """TreeSHAP values in log-odds, shape ``(n, n_features + 1)``; the last column is the bias."""
        return self._tree_shap(self.prepare(X))

    def _tree_shap(self, prepared: pd.DataFrame) -> np.ndarray:
        return booster_predict(self.booster_, prepared, pred_contrib=True)

    def contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Base values and per-feature contributions in probability points.

        Returns
        -------
        base_values : ndarray of shape (n,)
        contributions : DataFrame of shape (n, n_features)
            Indexed like ``X``; ``base_values + contributions.sum(axis=1)``
            equals the calibrated probability.
        """
        phi = self.log_odds_contributions(X)
        base, contrib, _ = self.to_probability(phi)
        return base, pd.DataFrame(contrib, index=X.index, columns=self.feature_names_)

    def to_probability(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map log-odds SHAP values (with bias column) to ``(base, contributions, probability)``.

        Probability points of the calibrated probability, by the method in the
        module docstring (steps 2 and 3).
        """
        shap_values = phi[:, :-1]
        bias = phi[:, -1]
        total = shap_values.sum(axis=1)
        probability = self._calibrate(_sigmoid(bias + total))
        base = self._calibrate(_sigmoid(bias))
        delta = probability - base

        contrib = np.zeros_like(shap_values)
        regular = np.abs(total) >= SUM_TOLERANCE
        contrib[regular] = shap_values[regular] * (delta[regular] / total[regular])[:, None]
        # Fallback (module docstring, step 3): share by |shap| when S is about zero.
        tiny = ~regular
        if tiny.any():
            weights = np.abs(shap_values[tiny])
            norm = weights.sum(axis=1)
            nonzero = norm > 0
            shares = np.zeros_like(weights)
            shares[nonzero] = weights[nonzero] / norm[nonzero, None]
            contrib[tiny] = shares * delta[tiny, None]
        return base, contrib, probability

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        out = np.asarray(self.calibrator_.predict(raw), dtype=float).reshape(-1)
        if out.shape != (len(raw),):
            raise ValueError(ERR_CALIBRATOR_SHAPE.format(out.shape, len(raw)))
        return out

    # -------------------------------------------------------------- explain
    def explain(self, X: pd.DataFrame, top_k: int | None = None) -> list[CaseExplanation]:
        """Top factors raising and lowering each case's calibrated probability.

        Parameters
        ----------
        X : DataFrame
            Model inputs (the feature builder's ``X``); extra columns are ignored.
        top_k : int, optional
            Overrides the ``top_k`` given at construction.

        Returns
        -------
        list of CaseExplanation
            One per row of ``X``, in order; JSON-serialisable.
        """
        k = self.top_k if top_k is None else top_k
        _check_top_k(k)
        prepared = self.prepare(X)
        phi = self._tree_shap(prepared)
        base, contrib, probability = self.to_probability(phi)
        return self._explanations(prepared, base, contrib, probability, k)

    def _explanations(
        self,
        X: pd.DataFrame,
        base: np.ndarray,
        contrib: np.ndarray,
        probability: np.ndarray,
        k: int,
    ) -> list[CaseExplanation]:
        n_features = contrib.shape[1]
        k = min(k, n_features)
        # argpartition then a sort of only k columns: O(n * F) rather than a full sort.
        if k < n_features:
            up = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
            down = np.argpartition(contrib, k - 1, axis=1)[:, :k]
        else:
            up = np.tile(np.arange(n_features), (len(contrib), 1))
            down = up
        rows = np.arange(len(contrib))[:, None]
        up = np.take_along_axis(up, np.argsort(-contrib[rows, up], axis=1), axis=1).tolist()
        down = np.take_along_axis(down, np.argsort(contrib[rows, down], axis=1), axis=1).tolist()
        # Rounded once, as Python floats; a factor that rounds to zero is not listed.
        shown = np.round(contrib, CONTRIBUTION_DECIMALS).tolist()
        bases = np.round(base, PROBABILITY_DECIMALS).tolist()
        probabilities = np.round(probability, PROBABILITY_DECIMALS).tolist()

        value_of = _value_lookup(X)
        names, families = self.feature_names_, self.families_
        # Values repeat (counts, flags, categories), so each (feature, value, direction)
        # is put into words once per call.
        described: dict[tuple[int, Any, str], tuple[Any, str]] = {}

        def factor(j: int, raw: Any, contribution: float, direction: str) -> Factor:
            key = (j, None if raw != raw else raw, direction)  # NaN != NaN: one key for missing
            words = described.get(key)
            if words is None:
                words = described[key] = self._describe(j, raw, direction)
            return Factor(
                feature=names[j], family=families[j], value=words[0], sentence=words[1], contribution=contribution
            )

        out: list[CaseExplanation] = []
        for i, row in enumerate(shown):
            out.append(
                CaseExplanation(
                    base_value=bases[i],
                    probability=probabilities[i],
                    raising=[factor(j, value_of(i, j), row[j], RAISED) for j in up[i] if row[j] > 0.0],
                    lowering=[factor(j, value_of(i, j), row[j], LOWERED) for j in down[i] if row[j] < 0.0],
                )
            )
        return out

    def _describe(self, j: int, raw: Any, direction: str) -> tuple[Any, str]:
        """The JSON-safe value and the dictionary sentence of feature ``j`` at ``raw``."""
        name = self.feature_names_[j]
        value = json_safe(raw)
        if self.dictionary_ is None:
            return value, f"{name} = {'missing' if value is None else value}"
        return value, self.dictionary_.sentence(name, raw, direction)

    # -------------------------------------------------------------- helpers
    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` as the booster's inputs, with the reference dtypes (:func:`runtime.model_inputs.prepare_inputs`)."""
        self._check_fitted()
        return prepare_inputs(X, self.feature_names_, self.dtypes_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise ValueError(ERR_NOT_FITTED)

    @property
    def feature_families(self) -> dict[str, str]:
        """Feature name -> family, in model order."""
        self._check_fitted()
        return dict(zip(self.feature_names_, self.families_, strict=True))


def json_safe(value: Any) -> float | int | str | None:
    """A JSON-safe scalar: None for missing, int for whole numbers, rounded floats, str otherwise."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return None
        if number.is_integer():
            return int(number)
        return round(number, VALUE_DECIMALS)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _value_lookup(X: pd.DataFrame) -> Callable[[int, int], Any]:
    """``value_of(i, j)``: row ``i``'s value of column ``j`` as handed to the dictionary.

    Numbers as Python floats (NaN when missing), categories as their label
    (NaN when missing). Numeric columns are read as one block, so only the
    cells a case lists are converted, whatever the number of features.
    """
    categorical = {
        j: (np.asarray(dtype.categories.astype(object), dtype=object), X.iloc[:, j].cat.codes.to_numpy())
        for j, dtype in enumerate(X.dtypes)
        if isinstance(dtype, pd.CategoricalDtype)
    }
    numeric = [j for j in range(X.shape[1]) if j not in categorical]
    # Without categories the frame is the block: a column take costs more than one case's TreeSHAP.
    block = (X.iloc[:, numeric] if categorical else X).to_numpy(dtype=float, na_value=np.nan)
    position = {j: k for k, j in enumerate(numeric)}

    def value_of(i: int, j: int) -> Any:
        if j in categorical:
            labels, codes = categorical[j]
            return labels[codes[i]] if codes[i] >= 0 else math.nan
        return float(block[i, position[j]])

    return value_of


def booster_predict(booster: Any, prepared: pd.DataFrame, **kwargs: Any) -> np.ndarray:
    """``booster.predict`` on prepared model inputs, as float, with :func:`booster_threads`.

    A model trained without categorical columns gets its inputs as one float64
    block: LightGBM's pandas path converts them the same way (the frame's values
    as float64), after per-call dtype checks that cost several times the
    prediction of one case. A model with categorical columns gets the frame, so
    LightGBM maps the levels with the categories it stored at training.
    """
    data = prepared if booster.pandas_categorical else prepared.to_numpy(dtype=np.float64)
    return np.asarray(booster.predict(data, num_threads=booster_threads(len(prepared)), **kwargs), dtype=float)


def booster_threads(n_rows: int) -> int:
    """LightGBM ``num_threads`` for predicting ``n_rows`` rows.

    One thread for a few rows: starting OpenMP workers costs more than the work
    (about 2x on one case on a busy 2-core machine); LightGBM's default (0) for batches.
    """
    return 1 if n_rows < SMALL_BATCH else 0


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-margin))


def _check_top_k(top_k: Any) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(ERR_TOP_K.format(top_k))


def _booster_of(estimator: Any) -> Any:
    from lightgbm import LGBMClassifier

    if not isinstance(estimator, LGBMClassifier) or not getattr(estimator, "fitted_", False):
        raise ValueError(ERR_ESTIMATOR.format(type(estimator).__name__))
    if len(estimator.classes_) != 2:
        raise ValueError(ERR_ESTIMATOR.format(f"LGBMClassifier with {len(estimator.classes_)} classes"))
    return estimator.booster_


def _family(dictionary: Any, name: str) -> str:
    if dictionary is None:
        return UNASSIGNED_FAMILY
    return str(dictionary.family(name))
