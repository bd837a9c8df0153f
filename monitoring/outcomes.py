"""What can be judged once outcomes have matured: performance, calibration by band, fairness, label bias.

A period is *matured* when its whole outcome window (``horizon_days`` from
the as-of date) lies before the extract's ``extracted_on``, so every label is
known. Performance reuses training's own metrics (``training.metrics.evaluate``)
so the figures sit beside the training ones like for like; fairness reruns
the gate's own audit (``fairness.audit.run_audit``) with the gate's policy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fairness.audit import BORDERLINE, PASS, AuditResult, run_audit

OK, WARN, ALERT = "ok", "warn", "alert"
PUBLICATION_PASSED = frozenset({PASS, BORDERLINE})


def wilson_interval(successes: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a proportion (nan, nan) when n is 0."""
    from scipy.stats import norm

    if n <= 0:
        return float("nan"), float("nan")
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def auc_interval(auc: float, positives: int, negatives: int, confidence: float) -> tuple[float, float]:
    """Hanley-McNeil (1982) interval of an AUC: closed form, so a 500,000-row period needs no bootstrap."""
    from scipy.stats import norm

    if positives == 0 or negatives == 0 or not np.isfinite(auc):
        return float("nan"), float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
                + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives)
    z = float(norm.ppf(0.5 + confidence / 2))
    half = z * float(np.sqrt(max(variance, 0.0)))
    return max(0.0, auc - half), min(1.0, auc + half)


def calibration_gap_status(observed_ci: tuple[float, float], expected: float, gap: float) -> str:
    """ALERT when the observed rate's whole interval lies more than ``gap`` from the prediction."""
    low, high = observed_ci
    if not np.isfinite(low):
        return OK
    return ALERT if (low > expected + gap or high < expected - gap) else OK


def performance(period: str, y: np.ndarray, probability: np.ndarray, bands: np.ndarray, n_bands: int,
                training: dict[str, float], capacity: int, policy: Any) -> dict[str, Any]:
    """Realised metrics of one matured period beside training's, calibration by band, and their status.

    ``policy`` is the monitoring policy's ``performance`` section.
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
    auc_status = ALERT if np.isfinite(auc_high) and auc_high < training_auc - policy.max_auc_drop else OK
    expected = float(np.mean(probability)) if len(y) else float("nan")
    observed_ci = wilson_interval(positives, len(y), policy.confidence)
    overall_status = calibration_gap_status(observed_ci, expected, policy.max_calibration_gap)
    by_band = []
    for band in range(1, n_bands + 1):
        inside = np.asarray(bands) == band
        n = int(inside.sum())
        events = float(y[inside].sum())
        ci = wilson_interval(events, n, policy.confidence)
        band_expected = float(probability[inside].mean()) if n else float("nan")
        by_band.append({
            "band": band, "n": n, "observed": events / n if n else None, "expected": band_expected if n else None,
            "ci_low": ci[0] if n else None, "ci_high": ci[1] if n else None,
            "status": calibration_gap_status(ci, band_expected, policy.max_calibration_gap) if n else OK,
        })
    calibration_status = ALERT if overall_status == ALERT or any(b["status"] == ALERT for b in by_band) else OK
    precision_key = f"precision_top{capacity}"
    out.update({
        "roc_auc": metrics.get("roc_auc"), "roc_auc_ci": [auc_low, auc_high],
        "pr_auc": metrics.get("pr_auc"), "brier": metrics.get("brier"),
        "precision_top_k": metrics.get(precision_key), "k": capacity,
        "observed_rate": positives / len(y) if len(y) else None, "observed_rate_ci": list(observed_ci),
        "expected_rate": expected,
        "training": {"roc_auc": training_auc, "pr_auc": training.get("pr_auc"), "brier": training.get("brier"),
                     "precision_top_k": training.get(precision_key), "prevalence": training.get("prevalence")},
        "calibration_by_band": by_band,
        "auc_status": auc_status, "calibration_status": calibration_status,
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
