"""Test-period metrics: discrimination, calibration and capacity (precision and recall at top k).

Top-k metrics treat ties honestly: when the k-th highest score is shared by
several rows (a yes/no rule gives thousands of ties), the tied rows count
with the fraction that fits into the k places, which is the expected value
under a random tie-break. So a rule gets no credit from row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ERR_LENGTH_MISMATCH = "labels ({n_y}) and scores ({n_s}) differ in length"
ERR_NOT_BINARY = "labels must be 0/1 with both classes present"


def _check(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    if y.shape != score.shape:
        raise ValueError(ERR_LENGTH_MISMATCH.format(n_y=y.shape, n_s=score.shape))
    if not np.isin(y, (0.0, 1.0)).all() or len(np.unique(y)) < 2:
        raise ValueError(ERR_NOT_BINARY)
    return y, score


def top_k_counts(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Expected number of positives among the ``k`` highest scores (ties shared fractionally)."""
    y, score = _check(y, score)
    k = int(min(max(k, 0), len(y)))
    if k == 0:
        return 0.0
    threshold = np.sort(score)[::-1][k - 1]
    above = score > threshold
    tied = score == threshold
    remaining = k - int(above.sum())
    return float(y[above].sum() + remaining * y[tied].mean())


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = 20) -> float:
    """Mean |observed rate - mean probability| over equal-count bins, weighted by bin size.

    Equal-count bins, because with a base rate of about 1% equal-width bins
    would put nearly every row in the first bin and hide miscalibration.
    """
    table = calibration_table(y, probability, bins)
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["observed"] - table["predicted"]).abs()).sum())


def calibration_table(y: np.ndarray, probability: np.ndarray, bins: int = 20) -> pd.DataFrame:
    """The calibration curve: per equal-count bin, mean predicted and observed rate.

    Bins hold about ``len(y) / bins`` rows; tied probabilities stay in one bin.
    """
    y, probability = _check(y, probability)
    # Bin by rank, tied probabilities sharing their lowest rank, so that a tie (an isotonic
    # plateau) is never split across bins by row order.
    rank = pd.Series(probability).rank(method="min").to_numpy(dtype=np.int64) - 1
    bin_of = np.minimum(rank * bins // len(y), bins - 1)
    frame = pd.DataFrame({"bin": bin_of, "y": y, "p": probability})
    table = frame.groupby("bin").agg(count=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    return table.reset_index()


def evaluate(y: np.ndarray, score: np.ndarray, *, top_fractions: list[float], capacity: int,
             ece_bins: int, probabilistic: bool = True) -> dict[str, float]:
    """All test metrics for one model's scores.

    Brier and ECE are reported only for ``probabilistic`` scores (rules are
    yes/no flags, not probabilities).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, score = _check(y, score)
    positives = y.sum()
    out = {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "prevalence": float(y.mean()),
    }
    if probabilistic:
        out["brier"] = float(np.mean((score - y) ** 2))
        out["ece"] = expected_calibration_error(y, score, ece_bins)
        out["mean_probability"] = float(score.mean())
    sizes = {f"top{round(f * 100):g}pct": max(1, int(round(f * len(y)))) for f in top_fractions}
    sizes[f"top{capacity}"] = capacity
    for name, k in sizes.items():
        hits = top_k_counts(y, score, k)
        k_eff = min(k, len(y))
        out[f"precision_{name}"] = hits / k_eff
        out[f"recall_{name}"] = hits / positives
    return out
