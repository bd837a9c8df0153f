"""Disclosure control for every count the needs report and the monitoring report publish.

Rules (the partnership's statistical disclosure policy):

* primary: a count below the threshold (10) is suppressed;
* secondary: within each group whose total is published (a table's total row, or
  a local authority whose count another table shows), suppressed cells must be
  at least two and must sum to at least the threshold, so that no suppressed
  cell can be recovered as a difference of totals (and a suppressed sum of 0,
  which would reveal every cell, cannot occur). The next smallest published
  cells are suppressed until that holds; a total below the threshold suppresses
  its whole group and the total itself;
* a rate or share is never shown for a suppressed count or denominator.

Suppressed cells are published as empty (CSV) and "[c]" (HTML).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SUPPRESSED_MARK = "[c]"
TOTAL_LABEL = "Total"


def suppression_mask(counts: np.ndarray, threshold: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Cells to suppress (primary and secondary) for counts whose group totals are published.

    Parameters
    ----------
    counts : array of int, shape (cells,) or (cells, columns)
        With several columns, one set of cells is hidden for all of them: every column's
        hidden cells must pass the rules (used for a count and its complement, e.g. ED-only
        and police-also attendances, when only one of them is published).
    threshold : int
        Counts below it are suppressed.
    groups : array, optional
        Group label of each cell; each group's total is published. None: one group.
    """
    counts = np.asarray(counts, dtype=np.int64)
    matrix = counts[:, None] if counts.ndim == 1 else counts
    labels = np.zeros(len(matrix), dtype=np.int64) if groups is None else pd.factorize(np.asarray(groups))[0]
    mask = (matrix < threshold).any(axis=1)
    for g in np.unique(labels):
        members = np.nonzero(labels == g)[0]
        values = matrix[members]
        hidden = mask[members].copy()
        if (values.sum(axis=0) < threshold).any():
            hidden[:] = True
        # Smallest published cells first: the least information lost.
        order = np.argsort(values.min(axis=1), kind="stable")

        def exposed() -> bool:
            return hidden.sum() < 2 or bool((values[hidden].sum(axis=0) < threshold).any())

        while hidden.any() and not hidden.all() and exposed():
            hidden[next(i for i in order if not hidden[i])] = True
        mask[members] = hidden
    return mask


def protect_table(
    frame: pd.DataFrame,
    count: str,
    threshold: int,
    *,
    denominator: str | None = None,
    rate: str | None = None,
    per: float = 1000.0,
    group: str | None = None,
    total: bool = True,
    complement: bool = False,
) -> pd.DataFrame:
    """A publishable copy of a one-way table of counts.

    ``count`` (and ``denominator``, protected the same way) become nullable integers
    with suppressed cells empty; ``rate`` = count / denominator * ``per`` is computed
    only where both are published. With ``total`` a ``Total`` row is appended (the
    first column holds the label), suppressed too when below the threshold; with
    ``group`` each group's total is taken as published elsewhere and protected. With
    ``complement`` the unpublished ``denominator - count`` is protected too (it could be
    worked out from the two published columns).
    """
    if rate and not denominator:
        raise ValueError("a rate needs a denominator")
    out = frame.reset_index(drop=True).copy()
    groups = out[group].to_numpy() if group else None
    columns = [count] + ([denominator] if denominator else [])
    sums = {c: int(out[c].sum()) for c in columns}
    digits = 2 if per > 1 else 4
    hidden = {}
    for c in columns:
        values = out[c].to_numpy()
        if c == count and complement:
            values = np.stack([values, out[denominator].to_numpy() - values], axis=1)
        hidden[c] = suppression_mask(values, threshold, groups)
    for c in columns:
        out[c] = pd.array(np.where(hidden[c], pd.NA, out[c].to_numpy()), dtype="Int64")
    if rate:
        ok = ~hidden[count] & ~hidden[denominator]
        with np.errstate(divide="ignore", invalid="ignore"):
            values = frame[count].to_numpy(dtype=float) / frame[denominator].to_numpy(dtype=float) * per
        out[rate] = np.where(ok & np.isfinite(values), np.round(values, digits), np.nan)
    if total:
        # Other columns of the Total row stay empty; the counts follow the same threshold.
        row = pd.DataFrame({c: [None] for c in out.columns})
        row[out.columns[0]] = [TOTAL_LABEL]
        small = {c: sums[c] < threshold for c in columns}
        if complement:
            small[count] = small[count] or sums[denominator] - sums[count] < threshold
        for c in columns:
            row[c] = pd.array([pd.NA if small[c] else sums[c]], dtype="Int64")
        if rate:
            num, den = sums[count], sums[denominator]
            row[rate] = [round(num / den * per, digits) if not (small[count] or small[denominator]) else np.nan]
        out = pd.concat([out, row[out.columns]], ignore_index=True)
    return out
