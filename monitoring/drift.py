"""Input and score drift of one period against the training reference (training/reference.py).

Per model input: the population stability index (PSI) over the reference's
decile bins plus a bin for missing values (numbers) or its categories (missing
as a category), an effect size (the Kolmogorov-Smirnov statistic for numbers,
the total variation distance for categories), the change in the share missing
and category values the reference never had.

The PSI decides (policy ``psi_warn`` / ``psi_alert``); periods with fewer than
``minimum_rows`` people are not judged. No significance test gates it: at a
monitoring population of hundreds of thousands every p-value is tiny and says
nothing about whether a change matters, and at a few thousand the PSI's own
sampling noise (about the number of bins over the smaller sample size) is far
below the warning line. The effect sizes are reported beside the PSI, not
judged (docs/monitoring.md).

The reference is a summary, not rows (docs/monitoring.md says why), so the KS
statistic compares the period's empirical CDF with the reference's CDF at its
stored percentiles (1st to 99th: within 0.01 of the two-sample statistic),
and categories the reference merged into ``(other)`` (fewer than ten people at
training) are counted there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.reference import MISSING_CATEGORY, OTHER_CATEGORY, bin_counts, category_counts

# Shares are floored before the PSI's logarithm: an empty bin on one side only
# would otherwise make it infinite.
PSI_FLOOR = 1e-4
OK, WARN, ALERT, NOT_JUDGED = "ok", "warn", "alert", "not judged"


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index sum((c - r) ln(c / r)) over shares floored at ``PSI_FLOOR``."""
    r = np.maximum(np.asarray(reference, dtype=float), PSI_FLOOR)
    c = np.maximum(np.asarray(current, dtype=float), PSI_FLOOR)
    r, c = r / r.sum(), c / c.sum()
    return float(np.sum((c - r) * np.log(c / r)))


@dataclass(frozen=True)
class PreparedInput:
    """One input's reference as arrays, computed once per monitoring run rather than per period."""

    kind: str
    n: int
    missing: float
    edges: np.ndarray | None = None
    shares_with_missing: np.ndarray | None = None  # [missing, bin 1, ..., bin k]
    quantiles: np.ndarray | None = None
    cdf: np.ndarray | None = None  # reference CDF at each quantile
    cdf_below: np.ndarray | None = None  # just left of each quantile
    categories: dict[str, float] | None = None
    merged: frozenset[str] = frozenset()  # categories the reference counts under OTHER_CATEGORY


def prepare_reference(reference: dict[str, Any]) -> dict[str, PreparedInput]:
    """Every input of a reference document (training/reference.py) as a :class:`PreparedInput`."""
    out = {}
    for name, ref in reference["inputs"].items():
        if ref["kind"] != "number":
            out[name] = PreparedInput("category", ref["n"], float(ref["missing"]), categories=dict(ref["shares"]),
                                      merged=frozenset(ref.get("merged", ())))
            continue
        q = np.asarray(ref["quantiles"], dtype=float)
        # Version 1 references stored 101 quantiles from the 0th to the 100th without their levels.
        levels = np.asarray(ref.get("quantile_levels", np.linspace(0.0, 1.0, len(q))), dtype=float)
        # At tied quantiles (a count that is mostly 0) the CDF is the highest level reached.
        cdf = levels[np.searchsorted(q, q, side="right") - 1] if q.size else q
        out[name] = PreparedInput(
            "number", ref["n"], float(ref["missing"]), edges=np.asarray(ref["edges"], dtype=float),
            shares_with_missing=np.concatenate([[ref["missing"]], np.asarray(ref["shares"]) * (1.0 - ref["missing"])]),
            quantiles=q, cdf=cdf, cdf_below=np.concatenate([[0.0], cdf[:-1]]) if q.size else q,
        )
    return out


def ks_against_quantiles(present: np.ndarray, ref: PreparedInput) -> float:
    """KS statistic of the sorted non-missing ``present`` values against the reference.

    Both CDFs are compared at the reference percentiles, where the reference CDF
    is known; between two of them (and outside the 1st and 99th) the reference
    holds 1% of its mass, so the statistic is within 0.01 of the two-sample one.
    """
    if present.size == 0 or ref.quantiles.size == 0:
        return float("nan")
    cur = np.searchsorted(present, ref.quantiles, side="right") / present.size
    below = np.searchsorted(present, ref.quantiles, side="left") / present.size
    return float(max(np.abs(cur - ref.cdf).max(), np.abs(below - ref.cdf_below).max()))


def total_variation(reference: np.ndarray, current: np.ndarray) -> float:
    """Half the summed absolute difference of two share vectors: the share of the population that moved."""
    return float(0.5 * np.abs(np.asarray(reference, dtype=float) - np.asarray(current, dtype=float)).sum())


def merged_counts(counts: dict[str, int], merged: frozenset[str]) -> dict[str, int]:
    """``counts`` with the categories the reference merged counted under ``OTHER_CATEGORY``."""
    out: dict[str, int] = {}
    for key, value in counts.items():
        target = OTHER_CATEGORY if key in merged else key
        out[target] = out.get(target, 0) + value
    return out


@dataclass
class InputDrift:
    """One input in one period."""

    input: str
    period: str
    kind: str
    n: int
    psi: float
    effect: str  # "ks" (numbers) or "total_variation" (categories)
    effect_size: float
    missing_reference: float
    missing_current: float
    new_categories: list[str]
    importance: float
    rank: int
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in self.__dict__.items()}


def judge(value: float, warn: float, alert: float) -> str:
    """ALERT/WARN when the PSI reaches the level; else OK (the PSI decides: module docstring)."""
    if not np.isfinite(value):
        return OK
    if value >= alert:
        return ALERT
    if value >= warn:
        return WARN
    return OK


def input_drift(X: pd.DataFrame, reference: dict[str, PreparedInput], importance: dict[str, float], period: str,
                policy: Any) -> list[InputDrift]:
    """Drift of every model input of one period's rows ``X`` against the prepared reference.

    ``importance`` is mean |SHAP| per input at training; the list comes back
    most important first. ``policy`` is the monitoring policy's ``drift`` section.
    """
    ranked = sorted(reference, key=lambda name: -importance.get(name, 0.0))
    alert_limit = policy.alert_top_inputs or len(ranked)
    out = []
    for rank, name in enumerate(ranked, start=1):
        ref = reference[name]
        column = X[name]
        n = len(column)
        new: list[str] = []
        if ref.kind == "number":
            values = column.to_numpy(dtype=float)
            absent = np.isnan(values)
            present = np.sort(values[~absent])
            missing = float(absent.mean()) if n else float("nan")
            # Missing is a bin of its own: a rarely recorded input's PSI weighs its recorded values
            # by how many people have one, as the share of the population that moved.
            counts = bin_counts(present, ref.edges)
            value = psi(ref.shares_with_missing, np.concatenate([[absent.sum()], counts]) / n) if n else float("nan")
            effect_size, effect = ks_against_quantiles(present, ref), "ks"
        else:
            raw = category_counts(column)
            counts_by = merged_counts(raw, ref.merged)
            total = max(sum(counts_by.values()), 1)
            keys = sorted(set(ref.categories) | set(counts_by))
            shares_ref = np.array([ref.categories.get(k, 0.0) for k in keys])
            shares_now = np.array([counts_by.get(k, 0) / total for k in keys])
            value = psi(shares_ref, shares_now)
            effect_size, effect = total_variation(shares_ref, shares_now), "total_variation"
            missing = raw.get(MISSING_CATEGORY, 0) / total
            new = sorted(k for k in raw if k not in ref.categories and k not in ref.merged)
        if n < policy.minimum_rows:
            status = NOT_JUDGED
        else:
            status = judge(value, policy.psi_warn, policy.psi_alert)
            if status == ALERT and rank > alert_limit:
                status = WARN
            if status == OK and (new or abs(missing - ref.missing) >= policy.missing_change):
                status = WARN
        out.append(InputDrift(
            input=name, period=period, kind=ref.kind, n=n, psi=value, effect=effect, effect_size=effect_size,
            missing_reference=ref.missing, missing_current=missing,
            new_categories=new, importance=float(importance.get(name, 0.0)), rank=rank, status=status,
        ))
    return out


def score_drift(probability: np.ndarray, reference: dict[str, Any], bands: np.ndarray, n_bands: int,
                period: str, policy: Any) -> dict[str, Any]:
    """PSI and KS statistic of the scores against the reference, and the share of the period in each band."""
    ref = prepare_reference({"inputs": {"score": reference["score"]}})["score"]
    counts = bin_counts(np.asarray(probability, dtype=float), ref.edges)
    value = psi(np.asarray(reference["score"]["shares"]), counts / max(len(probability), 1))
    statistic = ks_against_quantiles(np.sort(np.asarray(probability, dtype=float)), ref)
    shares = np.bincount(np.asarray(bands, dtype=int) - 1, minlength=n_bands) / max(len(bands), 1)
    status = (NOT_JUDGED if len(probability) < policy.minimum_rows
              else judge(value, policy.psi_warn, policy.psi_alert))
    return {
        "period": period, "n": int(len(probability)), "psi": value, "ks": statistic,
        "mean_probability": float(np.mean(probability)) if len(probability) else None,
        "band_shares": [float(s) for s in shares], "status": status,
    }
