"""RiskModel: the one object that turns raw records into a calibrated, explained probability.

It is what the MLflow pyfunc saves and what batch scoring and the service
use, so features, model, calibration and explanation can never drift apart:
it keeps the feature builder's configuration (and rebuilds the identical
``features.pipeline.FeatureBuilder``), the feature names and their category
levels, the fitted LightGBM ``estimator_``, the ``calibrator_``, the fitted
``explainer_`` and the sorted calibrated test-period probabilities
``reference_probabilities_`` (for percentiles and risk bands).

A model trained on a bring-your-own feature table has no feature builder;
it scores feature rows with :meth:`RiskModel.score_table`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from runtime.model_inputs import input_dtypes, prepare_inputs

ERR_NO_FEATURE_BUILDER = (
    "this model was trained on a feature table, not an extract; score feature rows with score_table()"
)
ERR_TABLE_ONLY = "score_table() is for models trained on a feature table; use score(extract, cohort)"
ERR_NO_EXPLAINER = "this model has no fitted explainer; score with explain=False"

_DTYPES_CACHE = "_input_dtypes_cache"
_COLUMNS_CACHE = "_input_columns_cache"

SCORE_COLUMNS = ("person_id", "as_of", "probability", "base_value", "top_raising", "top_lowering")


class RiskModel:
    """A calibrated LightGBM model with its features and explainer.

    Parameters
    ----------
    feature_names : list of str
        Model inputs, in order.
    categories : dict
        Category levels of each categorical input (others are numeric).
    feature_config : features.pipeline.FeatureConfig or None
        The feature builder's configuration; None for a feature-table model.
    outcome : dict
        The outcome definition (``OutcomeDefinition.model_dump()``, or for a
        feature table ``{"label_column": ...}``) and its plain-English text.
    id_column, time_column : str or None
        For a feature-table model: the columns carrying the id and the time.
    """

    def __init__(
        self,
        feature_names: list[str],
        categories: dict[str, list[str]],
        feature_config: Any = None,
        outcome: dict[str, Any] | None = None,
        id_column: str | None = None,
        time_column: str | None = None,
    ) -> None:
        self.feature_names = feature_names
        self.categories = categories
        self.feature_config = feature_config
        self.outcome = outcome
        self.id_column = id_column
        self.time_column = time_column

    def fit(
        self,
        estimator: Any,
        calibrator: Any,
        explainer: Any,
        reference_probabilities: np.ndarray,
        metrics: dict[str, Any],
    ) -> RiskModel:
        """Attach the already fitted parts (fitting happens in training.fitting, step by step)."""
        self.estimator_ = estimator
        self.calibrator_ = calibrator
        self.explainer_ = explainer
        self.reference_probabilities_ = np.sort(np.asarray(reference_probabilities, dtype=float))
        self.metrics_ = metrics
        return self

    # -- features ---------------------------------------------------------------------------
    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` as the model's inputs (:func:`runtime.model_inputs.prepare_inputs`)."""
        return prepare_inputs(X, self.feature_names, self._input_dtypes(), self._input_columns())

    def _input_columns(self) -> pd.Index:
        columns = self.__dict__.get(_COLUMNS_CACHE)
        if columns is None:
            columns = self.__dict__[_COLUMNS_CACHE] = pd.Index(self.feature_names, dtype=object)
        return columns

    def _input_dtypes(self) -> dict[str, Any]:
        """Model input name -> dtype, built once per process (not saved with the model)."""
        dtypes = self.__dict__.get(_DTYPES_CACHE)
        if dtypes is None:
            dtypes = self.__dict__[_DTYPES_CACHE] = input_dtypes(self.feature_names, self.categories)
        return dtypes

    def __getstate__(self) -> dict[str, Any]:
        # The per-process cache is rebuilt after loading; a saved model holds only its parts.
        return {k: v for k, v in self.__dict__.items() if k not in (_DTYPES_CACHE, _COLUMNS_CACHE)}

    def build_features(self, extract: Any, cohort: pd.DataFrame) -> Any:
        """The FeatureTable for ``cohort`` from ``extract``, built as in training."""
        if self.feature_config is None:
            raise ValueError(ERR_NO_FEATURE_BUILDER)
        from features.pipeline import FeatureBuilder

        return FeatureBuilder(self.feature_config).transform(extract, cohort)

    # -- prediction -------------------------------------------------------------------------
    def raw_probability(self, X: pd.DataFrame) -> np.ndarray:
        return self._raw_probability(self.prepare(X))

    def _raw_probability(self, prepared: pd.DataFrame) -> np.ndarray:
        # The booster's own predict is predict_proba[:, 1] of a binary LGBMClassifier without
        # the scikit-learn wrapper's per-call parameter handling (~6 ms on one case).
        from runtime.shap_explainer import booster_predict

        return booster_predict(self.estimator_.booster_, prepared)

    def predict_features(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities for rows of model inputs."""
        return self._calibrated(self.prepare(X))

    def _calibrated(self, prepared: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.calibrator_.predict(self._raw_probability(prepared)), dtype=float)

    def percentile(self, probability: np.ndarray) -> np.ndarray:
        """Share (0-100) of the test-period reference probabilities at or below each probability."""
        ref = self.reference_probabilities_
        return 100.0 * np.searchsorted(ref, np.asarray(probability, dtype=float), side="right") / len(ref)

    def _scored(self, keys: dict[str, Any], X: pd.DataFrame, explain: bool, top_k: int) -> dict[str, Any]:
        """The score columns (:data:`SCORE_COLUMNS`) as arrays and lists, keys given as arrays."""
        # Prepared once: prediction and explanation read the same frame.
        X = self.prepare(X)
        probability = self._calibrated(X)
        columns: dict[str, Any] = {**keys, "probability": probability}
        if explain:
            if self.explainer_ is None:
                raise ValueError(ERR_NO_EXPLAINER)
            explained = self.explainer_.explain(X, top_k=top_k)
            columns["base_value"] = np.array([float(e["base_value"]) for e in explained])
            columns["top_raising"] = [json.dumps(e["raising"]) for e in explained]
            columns["top_lowering"] = [json.dumps(e["lowering"]) for e in explained]
        else:
            columns["base_value"] = np.full(len(probability), np.nan)
            columns["top_raising"] = [None] * len(probability)
            columns["top_lowering"] = [None] * len(probability)
        return columns

    def score(self, extract: Any, cohort: pd.DataFrame, explain: bool = True, top_k: int = 5) -> pd.DataFrame:
        """Score the cohort rows of an extract.

        Returns
        -------
        DataFrame
            person_id, as_of, probability (calibrated), base_value and the top
            raising and lowering factors as JSON text (None when ``explain`` is
            False), one row per cohort row, in the feature table's row order.
        """
        # Built in one go from arrays: inserting columns one at a time costs milliseconds each.
        return pd.DataFrame(self.score_columns(extract, cohort, explain, top_k))

    def score_columns(
        self, extract: Any, cohort: pd.DataFrame, explain: bool = True, top_k: int = 5
    ) -> dict[str, Any]:
        """:meth:`score` as a dict of columns (numpy arrays and lists), without the DataFrame."""
        table = self.build_features(extract, cohort)
        keys = {name: table.keys[name].to_numpy() for name in ("person_id", "as_of")}
        return self._scored(keys, table.X, explain, top_k)

    def score_table(self, frame: pd.DataFrame, explain: bool = True, top_k: int = 5) -> pd.DataFrame:
        """Score rows of a feature table (feature-table models only); ids in ``person_id``."""
        if self.feature_config is not None or self.id_column is None:
            raise ValueError(ERR_TABLE_ONLY)
        keys = {
            "person_id": frame[self.id_column].astype(str).to_numpy(dtype=object)
            if self.id_column in frame.columns else np.arange(len(frame)).astype(str).astype(object),
            "as_of": frame[self.time_column].astype(str).to_numpy(dtype=object)
            if self.time_column and self.time_column in frame.columns
            else np.full(len(frame), None, dtype=object),
        }
        return pd.DataFrame(self._scored(keys, frame, explain, top_k))

    def __repr__(self) -> str:
        kind = "table" if self.feature_config is None else "extract"
        return f"RiskModel({kind}, {len(self.feature_names)} features)"
