"""How concentrated counts are across areas: the measures the generator's truth and
the needs-assessment report share, so that both compute them the same way."""

from __future__ import annotations

import numpy as np


def top_share(counts: np.ndarray, fraction: float = 0.10) -> float:
    """Share of the total held by the ``fraction`` of areas with the largest counts.

    The number of top areas is ``ceil(fraction * n)``, at least one.
    """
    values = np.sort(np.asarray(counts, dtype=float))[::-1]
    total = values.sum()
    if len(values) == 0 or total <= 0:
        return float("nan")
    k = max(1, int(np.ceil(fraction * len(values) - 1e-9)))
    return float(values[:k].sum() / total)


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of counts across areas (0 = even, towards 1 = all in one area)."""
    values = np.sort(np.asarray(counts, dtype=float))
    n, total = len(values), values.sum()
    if n == 0 or total <= 0:
        return float("nan")
    ranks = np.arange(1, n + 1)
    return float((2.0 * (ranks * values).sum()) / (n * total) - (n + 1.0) / n)


def concentration_curve(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of areas, share of the total) with areas from the highest count down, from (0, 0)."""
    values = np.sort(np.asarray(counts, dtype=float))[::-1]
    n = len(values)
    area_share = np.arange(n + 1) / max(n, 1)
    total = values.sum()
    count_share = np.concatenate([[0.0], np.cumsum(values) / total]) if total > 0 else np.zeros(n + 1)
    return area_share, count_share
