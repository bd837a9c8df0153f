"""What can be judged once outcomes have matured: performance, calibration by band, fairness, label bias.

A period is *matured* when its whole outcome window (``horizon_days`` from
the as-of date) lies before the extract's ``extracted_on``, so every label is
known. Performance reuses training's own metrics (``training.metrics.evaluate``)
so the figures sit beside the training ones like for like; fairness reruns
the gate's own audit (``fairness.audit.run_audit``) with the gate's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fairness.audit import BORDERLINE, PASS, AuditResult, run_audit

OK, WARN, ALERT = "ok", "warn", "alert"
PUBLICATION_PASSED = frozenset({PASS, BORDERLINE})


def wilson_interval(successes: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a proportion (nan, nan) when n is 0."""
    if n <= 0:
        return float("nan"), float("nan")
    z = z_value(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def auc_variance(auc: float, positives: int, negatives: int) -> float:
    """Hanley-McNeil (1982) variance of an AUC: closed form, so a 500,000-row period needs no bootstrap."""
    if positives == 0 or negatives == 0 or not np.isfinite(auc):
        return float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
                + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives)
    return float(max(variance, 0.0))


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence``."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def auc_interval(auc: float, positives: int, negatives: int, confidence: float) -> tuple[float, float]:
    """Hanley-McNeil interval of an AUC; (nan, nan) without both classes."""
    variance = auc_variance(auc, positives, negatives)
    if not np.isfinite(variance):
        return float("nan"), float("nan")
    half = z_value(confidence) * float(np.sqrt(variance))
    return max(0.0, auc - half), min(1.0, auc + half)


@dataclass(frozen=True)
class OutcomeCounts:
    """People, outcomes and expected outcomes (summed probabilities), overall and by risk band."""

    n: int
    positives: int
    expected: float
    bands: tuple[tuple[int, int, float], ...]  # (people, outcomes, expected) of bands 1..n_bands


def outcome_counts(y: np.ndarray, probability: np.ndarray, bands: np.ndarray, n_bands: int) -> OutcomeCounts:
    """The counts calibration is judged on, for a matured period or for training's test period."""
    y = np.asarray(y, dtype=float)
    probability = np.asarray(probability, dtype=float)
    bands = np.asarray(bands)
    by_band = []
    for band in range(1, n_bands + 1):
        inside = bands == band
        by_band.append((int(inside.sum()), int(y[inside].sum()), float(probability[inside].sum())))
    return OutcomeCounts(int(len(y)), int(y.sum()), float(probability.sum()), tuple(by_band))


def auc_drop_status(auc: float, auc_var: float, training_auc: float, training_var: float, max_drop: float,
                    confidence: float) -> tuple[str, list[float]]:
    """ALERT when the whole interval of the drop (training's AUC minus the realised) lies above ``max_drop``.

    Both AUCs are estimates: the drop's variance is the sum of theirs, so a training
    figure from a small test period cannot make a large population alert on its own.
    """
    if not all(np.isfinite(v) for v in (auc, auc_var, training_auc, training_var)):
        return OK, [float("nan"), float("nan")]
    drop = training_auc - auc
    half = z_value(confidence) * float(np.sqrt(auc_var + training_var))
    return (ALERT if drop - half > max_drop else OK), [drop - half, drop + half]


def ratio_change(observed: int, expected: float, observed_then: int, expected_then: float,
                 confidence: float) -> tuple[float, float, float]:
    """The observed-to-expected ratio now over the same ratio at training, and its interval.

    Outcomes are Poisson counts on both sides (the log ratio's variance is
    1/O + 1/O_then; a count of zero counts as half an outcome), the expected
    counts (summed probabilities) are taken as known.
    """
    if expected <= 0 or expected_then <= 0:
        return float("nan"), float("nan"), float("nan")
    o, o_then = max(observed, 0.5), max(observed_then, 0.5)
    log_ratio = np.log(o / expected) - np.log(o_then / expected_then)
    half = z_value(confidence) * float(np.sqrt(1.0 / o + 1.0 / o_then))
    return float(np.exp(log_ratio)), float(np.exp(log_ratio - half)), float(np.exp(log_ratio + half))


def ratio_status(low: float, high: float, tolerance: float) -> str:
    """ALERT when the interval [low, high] lies wholly outside [1/tolerance, tolerance]."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return OK
    return ALERT if (low > tolerance or high < 1.0 / tolerance) else OK


def calibration_row(n: int, observed: int, expected: float, then: tuple[int, int, float], policy: Any,
                    checks: int) -> dict[str, Any]:
    """Observed against expected now (a Wilson interval of the rate) and the change of their ratio since training.

    The change's interval is at the policy's confidence shared by ``checks``
    checks (Bonferroni): overall and ten bands judged at 95% each would alert
    on one of them by chance far more often than one time in twenty.
    """
    n_then, observed_then, expected_then = then
    ci = wilson_interval(observed, n, policy.confidence)
    change, low, high = ratio_change(observed, expected, observed_then, expected_then,
                                     1.0 - (1.0 - policy.confidence) / checks)
    return {
        "n": n, "observed": observed / n if n else None, "expected": expected / n if n else None,
        "ci_low": ci[0] if n else None, "ci_high": ci[1] if n else None,
        "observed_to_expected": observed / expected if expected > 0 else None,
        "training_observed_to_expected": observed_then / expected_then if expected_then > 0 else None,
        "training_n": n_then, "training_outcomes": observed_then,
        "ratio_change": change, "ratio_change_ci": [low, high],
        "status": ratio_status(low, high, policy.calibration_ratio) if n else OK,
    }


def performance(period: str, y: np.ndarray, probability: np.ndarray, bands: np.ndarray, n_bands: int,
                training: dict[str, float], training_counts: OutcomeCounts, capacity: int,
                policy: Any) -> dict[str, Any]:
    """Realised metrics of one matured period beside training's, calibration by band, and their status.

    ``training`` is the training run's test metrics and ``training_counts`` its
    test period's :class:`OutcomeCounts` (banded as now): every judgement weighs
    the training figure's uncertainty as well as the period's. ``policy`` is the
    monitoring policy's ``performance`` section.
    """
    from training.metrics import evaluate

    y = np.asarray(y, dtype=float)
    positives = int(y.sum())
    out: dict[str, Any] = {"period": period, "n": int(len(y)), "positives": positives}
    if positives == 0 or positives == len(y):
        out.update({"status": OK, "note": "no outcome (or only outcomes) recorded: nothing to rank"})
        metrics = {}
    else:
        metrics = evaluate(y, probability, top_fractions=[], capacity=capacity, ece_bins=10)
    auc = metrics.get("roc_auc", float("nan"))
    auc_low, auc_high = auc_interval(auc, positives, len(y) - positives, policy.confidence)
    training_auc = training.get("roc_auc", float("nan"))
    training_negatives = training_counts.n - training_counts.positives
    training_ci = auc_interval(training_auc, training_counts.positives, training_negatives, policy.confidence)
    auc_status, drop_ci = auc_drop_status(
        auc, auc_variance(auc, positives, len(y) - positives), training_auc,
        auc_variance(training_auc, training_counts.positives, training_negatives),
        policy.max_auc_drop, policy.confidence)
    counts = outcome_counts(y, probability, bands, n_bands)
    checks = n_bands + 1
    overall = calibration_row(counts.n, counts.positives, counts.expected,
                              (training_counts.n, training_counts.positives, training_counts.expected), policy, checks)
    by_band = [{"band": band, **calibration_row(*now, then, policy, checks)}
               for band, (now, then) in enumerate(zip(counts.bands, training_counts.bands, strict=True), start=1)]
    # Which calibration checks fired, named, so a report or benchmark can say more than "calibration".
    failing = [name for name, row in (("overall", overall), *((f"band {b['band']}", b) for b in by_band))
               if row["status"] == ALERT]
    calibration_status = ALERT if failing else OK
    precision_key = f"precision_top{capacity}"
    out.update({
        "roc_auc": metrics.get("roc_auc"), "roc_auc_ci": [auc_low, auc_high], "auc_drop_ci": drop_ci,
        "pr_auc": metrics.get("pr_auc"), "brier": metrics.get("brier"),
        "precision_top_k": metrics.get(precision_key), "k": capacity,
        "observed_rate": overall["observed"], "observed_rate_ci": [overall["ci_low"], overall["ci_high"]],
        "expected_rate": overall["expected"], "calibration": overall,
        "training": {"roc_auc": training_auc, "roc_auc_ci": list(training_ci), "n": training_counts.n,
                     "positives": training_counts.positives, "pr_auc": training.get("pr_auc"),
                     "brier": training.get("brier"), "precision_top_k": training.get(precision_key),
                     "prevalence": training.get("prevalence")},
        "calibration_by_band": by_band,
        "auc_status": auc_status, "calibration_status": calibration_status, "calibration_failing": failing,
    })
    out.setdefault("status", ALERT if ALERT in (auc_status, calibration_status) else OK)
    return _finite(out)


def _finite(value: Any) -> Any:
    """NaN and infinities as None, recursively (JSON has neither)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def audit_period(frame: pd.DataFrame, label_col: str, fairness_policy: Any, resamples: int) -> AuditResult:
    """The gate's audit of one period's scores (``probability``) against ``label_col``."""
    return run_audit(frame, score_col="probability", label_col=label_col,
                     group_cols=fairness_policy.groups.audited_names, policy=fairness_policy, resamples=resamples)


def check_key(check: Any) -> tuple[str, str, str, float | None]:
    return (check.metric, check.attribute, check.group, check.threshold)


def fairness_over_time(period: str, audit: AuditResult, publication: AuditResult) -> dict[str, Any]:
    """Checks failing now: an ALERT for those that passed at publication, a WARN for the rest."""
    before = {check_key(c): c.status for c in publication.checks}
    failing = []
    for check in audit.failed:
        was = before.get(check_key(check), "not audited")
        failing.append({**check.to_dict(), "status_at_publication": was,
                        "finding": ALERT if was in PUBLICATION_PASSED else WARN})
    status = (ALERT if any(f["finding"] == ALERT for f in failing) else WARN if failing else OK)
    return {"period": period, "n": audit.n_rows, "failed": failing, "checks": len(audit.checks),
            "borderline": len(audit.borderline), "status": status}


def label_bias(period: str, recorded: AuditResult, truth: AuditResult, limit: float,
               min_true_outcomes: int) -> dict[str, Any]:
    """Recorded against true outcome rates by group, relative to the reference group (synthetic truth only)."""
    from fairness.report import label_bias_table

    table = label_bias_table(recorded, truth)
    table = table[table["threshold"] == table["threshold"].min()]
    rows = []
    for attribute, part in table.groupby("attribute", sort=False):
        ratio = part["base_rate_recorded"] / part["base_rate_true"].replace(0.0, np.nan)
        reference = recorded.references.get(attribute)
        ref_ratio = float(ratio[part["group"] == reference].iloc[0]) if reference in set(part["group"]) else float("nan")
        for (_, row), r in zip(part.iterrows(), ratio, strict=True):
            relative = r / ref_ratio if np.isfinite(ref_ratio) and ref_ratio > 0 else float("nan")
            rows.append({"attribute": attribute, "group": row["group"], "count": int(row["count"]),
                         "recorded_rate": row["base_rate_recorded"], "true_rate": row["base_rate_true"],
                         "recorded_to_true": r, "relative_to_reference": relative,
                         # Small groups and rare true outcomes give ratios of noise: judged only above the floors.
                         "status": WARN if (np.isfinite(relative) and relative > limit
                                            and row["count"] >= recorded.minimum_group_size
                                            and row["base_rate_true"] * row["count"] >= min_true_outcomes)
                         else OK})
    status = WARN if any(r["status"] == WARN for r in rows) else OK
    return _finite({"period": period, "rows": rows, "status": status})
