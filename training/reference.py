"""The compact training reference that monitoring compares newer populations with.

Logged with every training run as ``monitoring/reference.json``: for each
model input its share missing and either its binned distribution (bin edges
from the reference's deciles, the share in each bin and the 1st to 99th
percentiles, for the population stability index and the Kolmogorov-Smirnov
statistic) or its category shares; the same for the calibrated score; and
the as-of dates it describes.

No person-level data is kept (docs/data-protection.md), so the reference can
travel with the model where the training rows may not: every stored share
stands for at least ``MINIMUM_PEOPLE`` people (smaller bins are merged with a
neighbour, smaller categories into ``OTHER_CATEGORY``, a missing or present
count below it is stored as none), and every stored quantile has at least
that many people below and above it (no minimum or maximum, which would be
one person's value).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

REFERENCE_ARTIFACT = "monitoring/reference.json"
REFERENCE_VERSION = 2
# The 1st to 99th percentiles; version 1 stored the 0th and 100th too (one person's minimum and maximum).
QUANTILE_LEVELS = np.linspace(0.01, 0.99, 99)
BIN_LEVELS = np.linspace(0.1, 0.9, 9)
MISSING_CATEGORY = "(missing)"
OTHER_CATEGORY = "(other)"
# The partnership's disclosure threshold (as insights/needs.yaml's suppression_threshold): no stored
# share or quantile rests on fewer people.
MINIMUM_PEOPLE = 10


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


def merge_small_bins(edges: list[float], counts: np.ndarray, minimum: int) -> tuple[list[float], np.ndarray]:
    """Drop edges until no bin holds between 1 and ``minimum - 1`` values (each merged with its smaller neighbour)."""
    edges, counts = list(edges), np.asarray(counts, dtype=np.int64).copy()
    while edges:
        small = np.nonzero((counts > 0) & (counts < minimum))[0]
        if small.size == 0:
            break
        i = int(small[0])
        # Merge bin i with the neighbour holding fewer values (the only one at either end).
        j = i + 1 if i == 0 or (i + 1 < counts.size and counts[i + 1] <= counts[i - 1]) else i - 1
        low = min(i, j)
        counts[low] += counts[low + 1]
        counts = np.delete(counts, low + 1)
        del edges[low]
    return edges, counts


def stored_quantile_levels(present: int, minimum: int = MINIMUM_PEOPLE) -> np.ndarray:
    """The levels of ``QUANTILE_LEVELS`` with at least ``minimum`` of ``present`` values below and above."""
    below = QUANTILE_LEVELS * present
    return QUANTILE_LEVELS[(below >= minimum) & (present - below >= minimum)]


def describe_numbers(values: np.ndarray) -> dict[str, Any]:
    values = np.asarray(values, dtype=float)
    absent = np.isnan(values)
    present = values[~absent]
    n_missing, n_present = int(absent.sum()), int(present.size)
    edges = bin_edges(values)
    edges, counts = merge_small_bins(edges, bin_counts(values, edges), MINIMUM_PEOPLE)
    levels = stored_quantile_levels(n_present)
    if values.size == 0 or 0 < n_present < MINIMUM_PEOPLE:
        missing = 1.0  # a handful of recorded values: stored as none recorded
    elif 0 < n_missing < MINIMUM_PEOPLE:
        missing = 0.0  # a handful missing: stored as none missing
    else:
        missing = n_missing / values.size
    small = n_present < MINIMUM_PEOPLE
    return {
        "kind": "number",
        "n": int(values.size),
        "missing": missing,
        "edges": [] if small else edges,
        "shares": [1.0] if small else (counts / max(n_present, 1)).tolist(),
        "quantile_levels": levels.round(2).tolist(),
        "quantiles": np.quantile(present, levels).tolist() if levels.size else [],
    }


def merge_small_categories(counts: dict[str, int], minimum: int) -> tuple[dict[str, int], list[str]]:
    """Categories of fewer than ``minimum`` people merged into ``OTHER_CATEGORY``; the merged names.

    While the merged count is itself below ``minimum`` (and something is merged), the next
    smallest category joins it, so that no stored count is between 1 and ``minimum - 1``.
    """
    order = sorted(counts, key=lambda k: (counts[k], k))
    merged = [k for k in order if counts[k] < minimum]
    while merged and sum(counts[k] for k in merged) < minimum and len(merged) < len(order):
        merged.append(order[len(merged)])
    kept = {k: v for k, v in counts.items() if k not in merged}
    if merged:
        kept[OTHER_CATEGORY] = sum(counts[k] for k in merged)
    return kept, sorted(merged)


def describe_categories(values: pd.Series) -> dict[str, Any]:
    counts, merged = merge_small_categories(category_counts(values), MINIMUM_PEOPLE)
    total = max(sum(counts.values()), 1)
    return {
        "kind": "category",
        "n": int(len(values)),
        "missing": counts.get(MISSING_CATEGORY, 0) / total,
        "shares": {k: v / total for k, v in sorted(counts.items())},
        "merged": merged,
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
