"""Input and score drift of one period against the training reference (training/reference.py).

Per model input: the population stability index (PSI) over the reference's
decile bins plus a bin for missing values (numbers) or its categories (missing
as a category), a two-sample test (Kolmogorov-Smirnov
for numbers, chi-square for categories), the change in the share missing and
category values the reference never had. The reference is a summary, not
rows (docs/monitoring.md says why), so:

* the KS statistic compares the period's empirical CDF with the reference's
  CDF at its 101 stored quantiles (within 0.01 of the two-sample one), and its
  p-value is the asymptotic two-sample one with both sample sizes;
* the chi-square test is on the contingency table of reference counts
  (shares times the reference size) against the period's counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.reference import MISSING_CATEGORY, bin_counts, category_counts

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


def prepare_reference(reference: dict[str, Any]) -> dict[str, PreparedInput]:
    """Every input of a reference document (training/reference.py) as a :class:`PreparedInput`."""
    out = {}
    for name, ref in reference["inputs"].items():
        if ref["kind"] != "number":
            out[name] = PreparedInput("category", ref["n"], float(ref["missing"]), categories=dict(ref["shares"]))
            continue
        q = np.asarray(ref["quantiles"], dtype=float)
        levels = np.linspace(0.0, 1.0, len(q))
        # At tied quantiles (a count that is mostly 0) the CDF is the highest level reached.
        cdf = levels[np.searchsorted(q, q, side="right") - 1] if q.size else q
        out[name] = PreparedInput(
            "number", ref["n"], float(ref["missing"]), edges=np.asarray(ref["edges"], dtype=float),
            shares_with_missing=np.concatenate([[ref["missing"]], np.asarray(ref["shares"]) * (1.0 - ref["missing"])]),
            quantiles=q, cdf=cdf, cdf_below=np.concatenate([[0.0], cdf[:-1]]) if q.size else q,
        )
    return out


def ks_against_quantiles(present: np.ndarray, ref: PreparedInput) -> tuple[float, float]:
    """KS statistic of the sorted non-missing ``present`` values against the reference, and its p-value.

    Both CDFs are compared at the reference quantiles, where the reference CDF is
    known; between two of them the reference holds 1% of its mass, so the
    statistic is within 0.01 of the two-sample one.
    """
    from scipy.special import kolmogorov

    if present.size == 0 or ref.quantiles.size == 0:
        return float("nan"), float("nan")
    cur = np.searchsorted(present, ref.quantiles, side="right") / present.size
    below = np.searchsorted(present, ref.quantiles, side="left") / present.size
    statistic = float(max(np.abs(cur - ref.cdf).max(), np.abs(below - ref.cdf_below).max()))
    n_reference = max(int(round(ref.n * (1.0 - ref.missing))), 1)
    effective = present.size * n_reference / (present.size + n_reference)
    return statistic, float(kolmogorov(np.sqrt(effective) * statistic))


def chi_square(reference_shares: dict[str, float], n_reference: int, counts: dict[str, int]) -> tuple[float, float]:
    """Chi-square test of homogeneity between the reference (shares x size) and the period's counts."""
    from scipy.stats import chi2_contingency

    keys = sorted(set(reference_shares) | set(counts))
    table = np.array([[reference_shares.get(k, 0.0) * n_reference for k in keys],
                      [counts.get(k, 0) for k in keys]], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    statistic, p_value, _, _ = chi2_contingency(table, correction=False)
    return float(statistic), float(p_value)


@dataclass
class InputDrift:
    """One input in one period."""

    input: str
    period: str
    kind: str
    n: int
    psi: float
    test: str
    statistic: float
    p_value: float
    missing_reference: float
    missing_current: float
    new_categories: list[str]
    importance: float
    rank: int
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in self.__dict__.items()}


def judge(value: float, p_value: float, warn: float, alert: float, significance: float) -> str:
    """ALERT/WARN when the PSI reaches the level and the test agrees; else OK."""
    if not (np.isfinite(value) and np.isfinite(p_value)) or p_value >= significance:
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
            statistic, p_value = ks_against_quantiles(present, ref)
            test = "ks"
        else:
            counts_by = category_counts(column)
            total = max(sum(counts_by.values()), 1)
            keys = sorted(set(ref.categories) | set(counts_by))
            value = psi(np.array([ref.categories.get(k, 0.0) for k in keys]),
                        np.array([counts_by.get(k, 0) / total for k in keys]))
            statistic, p_value = chi_square(ref.categories, ref.n, counts_by)
            test = "chi_square"
            missing = counts_by.get(MISSING_CATEGORY, 0) / total
            new = sorted(k for k in counts_by if k not in ref.categories)
        if n < policy.minimum_rows:
            status = NOT_JUDGED
        else:
            status = judge(value, p_value, policy.psi_warn, policy.psi_alert, policy.p_value)
            if status == ALERT and rank > alert_limit:
                status = WARN
            if status == OK and (new or abs(missing - ref.missing) >= policy.missing_change):
                status = WARN
        out.append(InputDrift(
            input=name, period=period, kind=ref.kind, n=n, psi=value, test=test, statistic=statistic,
            p_value=p_value, missing_reference=ref.missing, missing_current=missing,
            new_categories=new, importance=float(importance.get(name, 0.0)), rank=rank, status=status,
        ))
    return out


def score_drift(probability: np.ndarray, reference: dict[str, Any], bands: np.ndarray, n_bands: int,
                period: str, policy: Any) -> dict[str, Any]:
    """PSI and KS of the scores against the reference, and the share of the period in each band."""
    ref = prepare_reference({"inputs": {"score": reference["score"]}})["score"]
    counts = bin_counts(np.asarray(probability, dtype=float), ref.edges)
    value = psi(np.asarray(reference["score"]["shares"]), counts / max(len(probability), 1))
    statistic, p_value = ks_against_quantiles(np.sort(np.asarray(probability, dtype=float)), ref)
    shares = np.bincount(np.asarray(bands, dtype=int) - 1, minlength=n_bands) / max(len(bands), 1)
    status = (NOT_JUDGED if len(probability) < policy.minimum_rows
              else judge(value, p_value, policy.psi_warn, policy.psi_alert, policy.p_value))
    return {
        "period": period, "n": int(len(probability)), "psi": value, "ks": statistic, "p_value": p_value,
        "mean_probability": float(np.mean(probability)) if len(probability) else None,
        "band_shares": [float(s) for s in shares], "status": status,
    }
