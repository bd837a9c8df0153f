"""Model inputs in the form the booster was trained on: one preparation for scoring and explaining.

:class:`runtime.risk_model.RiskModel` and
:class:`runtime.shap_explainer.ProbabilityShapExplainer` both call
:func:`prepare_inputs`, so the frame a probability is predicted from and the
frame it is explained from are made by the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

ERR_NOT_FRAME = "{} must be a pandas DataFrame, got {}"
ERR_MISSING_FEATURES = "the input lacks the model features {missing}"
ERR_NOT_NUMERIC = "feature {name!r} cannot be read as a number: {error}"


def input_dtypes(feature_names: Sequence[str], categories: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Model input name -> dtype: the training category levels, else float64."""
    return {
        name: pd.CategoricalDtype(list(categories[name])) if name in categories else np.dtype("float64")
        for name in feature_names
    }


def prepare_inputs(X: pd.DataFrame, feature_names: list[str], dtypes: Mapping[str, Any],
                   columns: pd.Index | None = None) -> pd.DataFrame:
    """``X`` restricted to ``feature_names``, in order, each column of its ``dtypes`` entry.

    Columns that already have their model dtype (the feature builder's output) are
    taken as they are; only the others are converted, so a frame from
    ``FeatureBuilder.transform`` costs one column selection. A category column gets
    the training levels (an unseen level becomes missing, as LightGBM would treat
    it); any other column becomes a number. ``columns`` (the names as a plain object
    Index, cached by the caller) labels the result.

    Raises
    ------
    ValueError
        If ``X`` is not a DataFrame, lacks a feature, or holds text in a numeric feature.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(ERR_NOT_FRAME.format("X", type(X).__name__))
    if X.columns.tolist() == feature_names:
        frame = X  # already the model inputs in order: no column lookup
    else:
        missing = [c for c in feature_names if c not in X.columns]
        if missing:
            raise ValueError(ERR_MISSING_FEATURES.format(missing=missing))
        frame = X[feature_names]
    fixes = {}
    # Compare dtypes in one pass: touching each column costs more than the TreeSHAP of one case.
    for name, dtype in zip(feature_names, frame.dtypes, strict=True):
        target = dtypes[name]
        if dtype == target:
            continue
        column = frame[name]
        if isinstance(target, pd.CategoricalDtype):
            values = column.astype(object)
            known = values.isin(target.categories)  # an unseen level becomes missing, never an error
            fixes[name] = pd.Series(pd.Categorical(values.where(known), dtype=target), index=X.index)
        else:
            try:
                fixes[name] = pd.to_numeric(column, errors="raise").astype(target)
            except (TypeError, ValueError) as exc:
                raise ValueError(ERR_NOT_NUMERIC.format(name=name, error=exc)) from exc
    if not fixes and frame is X and X.columns.dtype == object:
        return X  # already prepared (RiskModel hands its prepared frame to the explainer)
    frame = frame.assign(**fixes) if fixes else frame
    # Column labels as a plain object Index: LightGBM and the explainer iterate over
    # them several times per call, and iterating pandas' Arrow-backed "str" Index costs
    # about as much as predicting one case.
    return frame.set_axis(pd.Index(feature_names, dtype=object) if columns is None else columns, axis=1)
