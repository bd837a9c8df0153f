"""Vectorised, seeded bootstrap of grouped sums, and percentile intervals.

Every audit metric is a ratio of weighted sums over rows (people in a group,
positives, flagged, true positives, summed probability). A bootstrap
replicate is therefore fully described by how many times each row was drawn:
the indices are resampled once per replicate, turned into per-row weights with
one ``bincount``, and every group, threshold and attribute is then summed with
one weighted ``bincount`` per key array. Nothing loops over groups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

NO_ROWS = "cannot bootstrap zero rows"
BAD_CONFIDENCE = "confidence must lie strictly between 0 and 1, got {value}"
KEYS_LENGTH = "key array {index} has {got} rows, expected {expected}"


@dataclass(frozen=True)
class SumSpec:
    """Sum ``values`` (or count rows when None) into ``n_keys`` bins given by ``keys``."""

    keys: np.ndarray
    n_keys: int
    values: np.ndarray | None = None


def weighted_sums(specs: Sequence[SumSpec], weights: np.ndarray) -> list[np.ndarray]:
    """The sums of every spec for one set of row weights (one replicate)."""
    out = []
    scaled: dict[int, np.ndarray] = {}
    for spec in specs:
        if spec.values is None:
            w = weights
        else:
            # Several specs usually share one values array: scale it once.
            key = id(spec.values)
            if key not in scaled:
                scaled[key] = weights * spec.values
            w = scaled[key]
        out.append(np.bincount(spec.keys, weights=w, minlength=spec.n_keys))
    return out


def bootstrap_sums(
    specs: Sequence[SumSpec],
    n_rows: int,
    *,
    resamples: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """Bootstrap replicates of every spec's sums.

    Parameters
    ----------
    specs : sequence of SumSpec
        Each ``keys`` array has ``n_rows`` integer entries in ``[0, n_keys)``.
    n_rows : int
        Number of rows resampled (with replacement, ``n_rows`` per replicate).
    resamples : int
        Number of replicates.
    seed : int
        Seed of the numpy generator, so intervals repeat exactly.
    progress : callable, optional
        Called with the number of replicates done, every so often.

    Returns
    -------
    list of ndarray
        One array of shape ``(resamples, n_keys)`` per spec.
    """
    if n_rows <= 0:
        raise ValueError(NO_ROWS)

    def multinomial(rng: np.random.Generator) -> np.ndarray:
        drawn = rng.integers(0, n_rows, size=n_rows)
        return np.bincount(drawn, minlength=n_rows).astype(np.float64)

    return _replicate_sums(specs, n_rows, resamples, seed, multinomial, progress)


def poisson_bootstrap_sums(
    specs: Sequence[SumSpec], n_rows: int, *, resamples: int, seed: int | Sequence[int]
) -> list[np.ndarray]:
    """:func:`bootstrap_sums` with each row drawn Poisson(1) times instead of a multinomial draw.

    The Poisson bootstrap needs no total over all rows, so each partition of a
    large score file draws its own rows' weights from its own stream and the
    partitions' sums simply add (fairness/dask_audit.py); for many rows it gives
    the same intervals as the multinomial bootstrap. A partition may be empty.
    """
    return _replicate_sums(specs, n_rows, resamples, seed,
                           lambda rng: rng.poisson(1.0, size=n_rows).astype(np.float64))


def _replicate_sums(
    specs: Sequence[SumSpec],
    n_rows: int,
    resamples: int,
    seed: int | Sequence[int],
    draw_weights: Callable[[np.random.Generator], np.ndarray],
    progress: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """Every spec's sums for ``resamples`` sets of row weights drawn by ``draw_weights``."""
    for i, spec in enumerate(specs):
        if len(spec.keys) != n_rows:
            raise ValueError(KEYS_LENGTH.format(index=i, got=len(spec.keys), expected=n_rows))
    rng = np.random.default_rng(seed)
    results = [np.empty((resamples, spec.n_keys)) for spec in specs]
    for b in range(resamples):
        for target, sums in zip(results, weighted_sums(specs, draw_weights(rng)), strict=True):
            target[b] = sums
        if progress is not None and (b + 1) % 50 == 0:
            progress(b + 1)
    return results


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along axis 0, ignoring NaN replicates.

    A replicate can be undefined (a resample with no positives in a small
    group); the interval is taken over the defined ones, and is NaN where
    none is defined. Sorting by hand avoids numpy's all-NaN warnings.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(BAD_CONFIDENCE.format(value=confidence))
    ordered = np.sort(samples, axis=0)  # NaN sorts last
    valid = np.sum(~np.isnan(samples), axis=0)
    alpha = (1.0 - confidence) / 2.0
    return _quantile_sorted(ordered, valid, alpha), _quantile_sorted(ordered, valid, 1.0 - alpha)


def _quantile_sorted(ordered: np.ndarray, valid: np.ndarray, q: float) -> np.ndarray:
    # Linear interpolation between order statistics, as numpy's default method.
    position = q * np.maximum(valid - 1, 0)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, np.maximum(valid - 1, 0))
    frac = position - low
    lo_val = np.take_along_axis(ordered, low[np.newaxis, ...], axis=0)[0]
    hi_val = np.take_along_axis(ordered, high[np.newaxis, ...], axis=0)[0]
    result = lo_val + (hi_val - lo_val) * frac
    return np.where(valid > 0, result, np.nan)
