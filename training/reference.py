"""The compact training reference that monitoring compares newer populations with.

Logged with every training run as ``monitoring/reference.json``: for each
model input its share missing and either its binned distribution (bin edges
from the reference's deciles, the share in each bin and 101 quantiles, for
the population stability index and a Kolmogorov-Smirnov test) or its
category shares; the same for the calibrated score; and the as-of dates it
describes. No row of anyone's data is kept: only shares and quantiles, so
the reference can travel with the model where the training rows may not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

REFERENCE_ARTIFACT = "monitoring/reference.json"
REFERENCE_VERSION = 1
QUANTILE_LEVELS = np.linspace(0.0, 1.0, 101)
BIN_LEVELS = np.linspace(0.1, 0.9, 9)
MISSING_CATEGORY = "(missing)"


def bin_edges(values: np.ndarray) -> list[float]:
    """Interior bin edges: the distinct deciles of the non-missing values (none if all missing)."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return []
    return sorted(set(np.quantile(present, BIN_LEVELS).tolist()))


def bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Counts of non-missing values in the bins (-inf, e1], (e1, e2], ..., (ek, inf)."""
    present = values[~np.isnan(values)]
    index = np.searchsorted(np.asarray(edges, dtype=float), present, side="left")
    return np.bincount(index, minlength=len(edges) + 1)


def category_counts(values: pd.Series) -> dict[str, int]:
    """Counts per category value, missing values under ``MISSING_CATEGORY``."""
    text = values.astype(object).where(values.notna(), MISSING_CATEGORY)
    return {str(k): int(v) for k, v in text.value_counts(sort=False).items()}


def describe_numbers(values: np.ndarray) -> dict[str, Any]:
    values = np.asarray(values, dtype=float)
    present = values[~np.isnan(values)]
    edges = bin_edges(values)
    counts = bin_counts(values, edges)
    return {
        "kind": "number",
        "n": int(values.size),
        "missing": float(np.isnan(values).mean()) if values.size else 0.0,
        "edges": edges,
        "shares": (counts / max(present.size, 1)).tolist(),
        "quantiles": np.quantile(present, QUANTILE_LEVELS).tolist() if present.size else [],
    }


def describe_categories(values: pd.Series) -> dict[str, Any]:
    counts = category_counts(values)
    total = max(sum(counts.values()), 1)
    return {
        "kind": "category",
        "n": int(len(values)),
        "missing": counts.get(MISSING_CATEGORY, 0) / total,
        "shares": {k: v / total for k, v in sorted(counts.items())},
    }


def describe_input(column: pd.Series) -> dict[str, Any]:
    """One input's summary, by its dtype (categories or numbers)."""
    if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
        return describe_categories(column)
    return describe_numbers(column.to_numpy(dtype=float))


def build_reference(X: pd.DataFrame, probability: np.ndarray, as_of: pd.Series,
                    horizon_days: int | None) -> dict[str, Any]:
    """The reference document for inputs ``X`` and calibrated scores ``probability`` (the test period).

    ``horizon_days`` is the outcome window; with the latest as-of date it gives the
    last day the training labels saw (None for a feature-table model without dates).
    """
    dates = pd.to_datetime(pd.Series(as_of), errors="coerce").dropna()
    latest = dates.max() if len(dates) else None
    labels_end = (latest + pd.Timedelta(days=horizon_days)) if latest is not None and horizon_days else None
    return {
        "version": REFERENCE_VERSION,
        "n": int(len(X)),
        "as_of": sorted({str(d.date()) for d in dates}),
        "labels_observed_until": str(labels_end.date()) if labels_end is not None else None,
        "inputs": {name: describe_input(X[name]) for name in X.columns},
        "score": describe_numbers(np.asarray(probability, dtype=float)),
    }
