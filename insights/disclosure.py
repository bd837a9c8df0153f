"""Disclosure control for every count the needs report publishes.

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
    counts : array of int
    threshold : int
        Counts below it are suppressed.
    groups : array, optional
        Group label of each cell; each group's total is published. None: one group.
    """
    counts = np.asarray(counts, dtype=np.int64)
    labels = np.zeros(len(counts), dtype=np.int64) if groups is None else pd.factorize(np.asarray(groups))[0]
    mask = counts < threshold
    for g in np.unique(labels):
        members = np.nonzero(labels == g)[0]
        values = counts[members]
        hidden = mask[members].copy()
        if values.sum() < threshold:
            hidden[:] = True
        # Smallest published cells first: the least information lost.
        order = np.argsort(values, kind="stable")
        while hidden.any() and not hidden.all() and (hidden.sum() < 2 or values[hidden].sum() < threshold):
            nxt = next(i for i in order if not hidden[i])
            hidden[nxt] = True
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
) -> pd.DataFrame:
    """A publishable copy of a one-way table of counts.

    ``count`` (and ``denominator``, protected the same way) become nullable integers
    with suppressed cells empty; ``rate`` = count / denominator * ``per`` is computed
    only where both are published. With ``total`` a ``Total`` row is appended (the
    first column holds the label), suppressed too when below the threshold; with
    ``group`` each group's total is taken as published elsewhere and protected.
    """
    out = frame.reset_index(drop=True).copy()
    groups = out[group].to_numpy() if group else None
    columns = [count] + ([denominator] if denominator else [])
    if total:
        total_row = {c: "" for c in out.columns}
        total_row[out.columns[0]] = TOTAL_LABEL
        for c in columns:
            total_row[c] = int(out[c].sum())
    hidden = {}
    for c in columns:
        hidden[c] = suppression_mask(out[c].to_numpy(), threshold, groups)
        out[c] = pd.array(np.where(hidden[c], pd.NA, out[c].to_numpy()), dtype="Int64")
    if rate:
        ok = ~hidden[count] & (~hidden[denominator] if denominator else True)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = frame[count].to_numpy(dtype=float) / frame[denominator].to_numpy(dtype=float) * per
        out[rate] = np.where(ok & np.isfinite(values), np.round(values, 2 if per > 1 else 4), np.nan)
    if total:
        row = pd.DataFrame([total_row])
        for c in columns:
            value = total_row[c]
            row[c] = pd.array([pd.NA if value < threshold else value], dtype="Int64")
        if rate:
            num, den = total_row[count], total_row[denominator] if denominator else None
            shown = num >= threshold and (den is None or den >= threshold) and den not in (0, None)
            row[rate] = [round(num / den * per, 2 if per > 1 else 4) if shown else np.nan]
        for c in out.columns:
            if c not in row.columns or (c not in columns and c != rate and c != out.columns[0]):
                row[c] = [None]
        out = pd.concat([out, row[out.columns]], ignore_index=True)
    return out
