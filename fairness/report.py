"""The ethics-panel report: one self-contained HTML file plus the same content as JSON.

The HTML puts the gate verdict first, then a model card, a plain-English
paragraph per failed or borderline check, the tables with confidence
intervals and charts per attribute, the label-bias comparison (recorded vs
true outcomes, synthetic extracts only) and the explanation-by-group summary.
Charts are PNGs embedded as base64 data URIs, so the file reads offline and
prints; it references no external URL.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairness.audit import (
    BORDERLINE,
    FAIL,
    INTERVAL_METRICS,
    NOT_ESTIMABLE,
    PASS,
    TOO_SMALL,
    AuditResult,
    CheckResult,
    PerformanceCheck,
    records,
)
from fairness.policy import INTERSECTION_SEPARATOR

# Beside this module (package data); read by path, as tests/fairness can shadow the package name.
TEMPLATE_PATH = Path(__file__).with_name("report.html.j2")
DPI = 100

INTENDED_USE = (
    "To prioritise which young people's records a practitioner reviews first, for an offer of "
    "early help or violence-reduction support. The score never decides anything on its own: "
    "it must not be used to refuse a service, to trigger enforcement, or to label a person. "
    "A practitioner always reviews the record and the explanation, and can disagree."
)
WHAT_IT_MISSES = (
    "The outcome is what partners recorded, not what happened. Violence that was never "
    "reported, never reached a hospital or was recorded differently is invisible, and recording "
    "is known to differ by ethnicity and deprivation (more policing means more records). A model "
    "learns those recording patterns as if they were risk. Victims and perpetrators are counted "
    "together; the score says nothing about which a person might be."
)
DECISION_RULES = {
    "point_estimate": (
        "A check fails when its point estimate lies outside the policy's band, whatever the "
        "confidence interval: too little data is no evidence of fairness. A check whose estimate "
        "is inside the band but whose {confidence:.0%} interval reaches outside it is borderline: "
        "it passes, and is explained below."
    ),
    "confident_breach": (
        "A check fails only when its whole {confidence:.0%} confidence interval lies outside the "
        "policy's band. A check whose estimate or interval reaches outside the band without that "
        "certainty is borderline: it passes, and is explained below."
    ),
}
METRIC_LABELS = {
    "selection_rate": "selection rate",
    "tpr": "true positive rate",
    "fpr": "false positive rate",
    "fnr": "false negative rate",
    "precision": "precision",
    "calibration_difference": "calibration difference",
}
# What a value of each gated metric means for people, in words.
_SENTENCES = {
    "selection_rate": "people in {group} were flagged {how} people in {reference}",
    "tpr": "among people with a recorded outcome, those in {group} were flagged {how} those in {reference}",
    "fpr": "among people with no recorded outcome, those in {group} were flagged {how} those in {reference}",
    "fnr": "among people with a recorded outcome, those in {group} were missed {how} those in {reference}",
    "precision": "a flag in {group} was followed by a recorded outcome {how} a flag in {reference}",
}


@dataclass
class ModelCard:
    """What the report says about the model beyond the audit itself."""

    title: str
    subject: str
    outcome: str = ""
    data: list[tuple[str, str]] = field(default_factory=list)
    performance: list[dict[str, Any]] = field(default_factory=list)
    intended_use: str = INTENDED_USE
    what_it_misses: str = WHAT_IT_MISSES


@dataclass
class Verdict:
    """The gate's decision as the report states it."""

    passed: bool
    published: bool
    override: bool = False
    approver: str = ""
    reason: str = ""
    performance: list[PerformanceCheck] = field(default_factory=list)
    note: str = ""
    publishing: bool = True  # False for an audit of a score file: nothing is published

    @property
    def headline(self) -> str:
        if not self.publishing:
            return "PASSES the policy's gated checks" if self.passed else "FAILS the policy's gated checks"
        if self.override:
            return "PUBLISHED BY OVERRIDE: the gate did not pass" if not self.passed else "PASSED (override recorded)"
        if self.passed:
            return "PASSED: every gated check holds" + ("" if self.published else " (not published)")
        return "REFUSED: the model may not be published"


def metric_label(metric: str) -> str:
    base = metric.removesuffix("_ratio").removesuffix("_difference")
    label = METRIC_LABELS.get(metric) or METRIC_LABELS.get(base, base)
    if metric.endswith("_ratio"):
        return f"{label} ratio"
    if metric.endswith("_difference") and metric != "calibration_difference":
        return f"{label} difference"
    return label


def check_title(check: CheckResult) -> str:
    where = f" at threshold {check.threshold:g}" if check.threshold is not None else ""
    return f"{metric_label(check.metric)}, {check.attribute} = {check.group} vs {check.reference}{where}"


def _interval(check: CheckResult, scale: float = 1.0, fmt: str = ".2f") -> str:
    if not (np.isfinite(check.ci_low) and np.isfinite(check.ci_high)):
        return "no confidence interval"
    return f"95% interval {check.ci_low * scale:{fmt}} to {check.ci_high * scale:{fmt}}"


def explain_check(check: CheckResult, decision_rule: str, publishing: bool = True) -> str:
    """A plain-English paragraph for one failed or borderline check."""
    base = check.metric.removesuffix("_ratio").removesuffix("_difference")
    group, reference = f"the {check.group} group", f"the {check.reference} group"
    if check.metric == "calibration_difference":
        what = (
            f"scores in {group} {'overstate' if check.value > 0 else 'understate'} the observed rate by "
            f"{abs(check.value) * 100:.1f} percentage points more than in {reference} "
            f"({_interval(check, 100, '+.1f')} points)"
        )
        unit = 100.0
    elif check.metric.endswith("_ratio"):
        how = f"{check.value:.2f} times as often as"
        what = _SENTENCES[base].format(group=group, reference=reference, how=how) + f" ({_interval(check)})"
        unit = 1.0
    else:
        how = f"{check.value * 100:+.1f} percentage points more often than"
        what = _SENTENCES[base].format(group=group, reference=reference, how=how) + (
            f" ({_interval(check, 100, '+.1f')} points)"
        )
        unit = 100.0
    at = f" at threshold {check.threshold:g}" if check.threshold is not None else ""
    what = what[0].upper() + what[1:]
    if check.status == FAIL:
        gap = f"{check.distance * unit:.2f}{' points' if unit != 1.0 else ''}"
        verdict = f"This fails the policy, which allows {check.band}; the estimate lies {gap} outside that band. " + (
            "Until it is fixed, or a named approver overrides on the record, the model is not published."
            if publishing
            else "A model scoring like this would not be published."
        )
        if decision_rule == "point_estimate" and check.ci_low <= _band_edge(check) <= check.ci_high:
            verdict += (
                " The interval reaches back inside the band, so more data could change the estimate, "
                "but the policy does not let too little data count as evidence of fairness."
            )
    else:
        verdict = (
            f"The policy allows {check.band}. This is borderline: the estimate passes, but with the data "
            "available the interval reaches outside the band, so the panel cannot be confident the check "
            "would hold on another sample. It is a reason to watch this group when the model is monitored."
        )
    return f"{what}{at}. {verdict}"


def _band_edge(check: CheckResult) -> float:
    """The band edge nearest the estimate."""
    edges = [e for e in (check.lower, check.upper) if e is not None]
    return min(edges, key=lambda edge: abs(edge - check.value))


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def rates_chart(rows: pd.DataFrame, attribute: str, threshold: float) -> str:
    """Selection rate, FPR and FNR by group with interval whiskers, at one threshold."""
    part = rows[(rows["attribute"] == attribute) & (rows["threshold"] == threshold)]
    groups = list(part["group"])
    fig = _figure(8.0, 2.8)
    axes = fig.subplots(1, 3, sharey=False)
    x = np.arange(len(groups))
    for ax, metric in zip(axes, ("selection_rate", "fpr", "fnr"), strict=True):
        value = part[metric].to_numpy(dtype=float)
        low = part[f"{metric}_ci_low"].to_numpy(dtype=float)
        high = part[f"{metric}_ci_high"].to_numpy(dtype=float)
        colours = ["#555555" if ref else ("#bbbbbb" if small else "#2b6cb0")
                   for ref, small in zip(part["is_reference"], part["too_small"], strict=True)]
        ax.bar(x, np.nan_to_num(value), color=colours)
        err = np.vstack([np.nan_to_num(value - low), np.nan_to_num(high - value)])
        ax.errorbar(x, np.nan_to_num(value), yerr=np.clip(err, 0, None), fmt="none", ecolor="black", capsize=2, lw=0.8)
        ax.set_title(metric_label(metric), fontsize=9)
        ax.set_xticks(x, groups, rotation=45, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(f"{attribute} at threshold {threshold:g} (dark: reference; grey: too small)", fontsize=9)
    return _png(fig)


def calibration_chart(rows: pd.DataFrame, attribute: str, threshold: float) -> str:
    """Mean predicted probability against the observed rate per group."""
    part = rows[(rows["attribute"] == attribute) & (rows["threshold"] == threshold)]
    fig = _figure(4.0, 2.8)
    ax = fig.subplots()
    x = np.arange(len(part))
    ax.bar(x - 0.2, part["mean_predicted"].to_numpy(dtype=float) * 100, 0.4, label="mean predicted", color="#2b6cb0")
    ax.bar(x + 0.2, part["base_rate"].to_numpy(dtype=float) * 100, 0.4, label="observed", color="#dd8452")
    ax.set_xticks(x, list(part["group"]), rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("%", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7)
    ax.set_title(f"calibration by {attribute}", fontsize=9)
    return _png(fig)


def label_bias_chart(table: pd.DataFrame, attribute: str, threshold: float) -> str:
    """Recorded against true outcomes: base rate and FPR per group."""
    part = table[(table["attribute"] == attribute) & (table["threshold"] == threshold)]
    fig = _figure(7.0, 2.8)
    axes = fig.subplots(1, 2)
    x = np.arange(len(part))
    for ax, metric in zip(axes, ("base_rate", "fpr"), strict=True):
        ax.bar(x - 0.2, part[f"{metric}_recorded"].to_numpy(dtype=float) * 100, 0.4, label="recorded", color="#dd8452")
        ax.bar(x + 0.2, part[f"{metric}_true"].to_numpy(dtype=float) * 100, 0.4, label="true", color="#2b6cb0")
        ax.set_xticks(x, list(part["group"]), rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{'outcome rate' if metric == 'base_rate' else 'false positive rate'} (%)", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=7)
    fig.suptitle(f"{attribute}: recorded vs true outcomes at threshold {threshold:g}", fontsize=9)
    return _png(fig)


def label_bias_table(recorded: AuditResult, truth: AuditResult) -> pd.DataFrame:
    """Recorded and true-outcome audits side by side, one row per (attribute, group, threshold)."""
    keys = ["attribute", "group", "threshold"]
    columns = ["base_rate", "selection_rate", "fpr", "fnr", "fpr_ratio", "fnr_ratio", "calibration_gap"]
    left = recorded.rows[keys + ["count", *columns]]
    right = truth.rows[keys + columns]
    return left.merge(right, on=keys, suffixes=("_recorded", "_true"), validate="one_to_one")


def _fmt(value: Any, kind: str = "rate") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "points":
        return f"{value * 100:+.1f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "num3":
        return f"{value:.3f}"
    return f"{value:.2f}"


def _ci(row: pd.Series, metric: str, kind: str = "rate") -> str:
    low, high = row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high")
    if low is None or not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f"{_fmt(low, kind)} – {_fmt(high, kind)}"


def _attribute_sections(audit: AuditResult, chart_threshold: float, charts: bool) -> list[dict[str, Any]]:
    sections = []
    for attribute in dict.fromkeys(audit.rows["attribute"]):
        part = audit.rows[audit.rows["attribute"] == attribute]
        tables = []
        for threshold in audit.thresholds:
            rows = []
            for _, r in part[part["threshold"] == threshold].iterrows():
                rows.append({
                    "group": r["group"],
                    "reference": bool(r["is_reference"]),
                    "too_small": bool(r["too_small"]),
                    "cells": [
                        (_fmt(r["count"], "int"), ""),
                        (_fmt(r["base_rate"]), _ci(r, "base_rate")),
                        (_fmt(r["flagged"], "int"), ""),
                        (_fmt(r["selection_rate"]), _ci(r, "selection_rate")),
                        (_fmt(r["tpr"]), _ci(r, "tpr")),
                        (_fmt(r["fpr"]), _ci(r, "fpr")),
                        (_fmt(r["fnr"]), _ci(r, "fnr")),
                        (_fmt(r["precision"]), _ci(r, "precision")),
                        (_fmt(r["auc"], "num"), ""),
                        (_fmt(r["mean_predicted"]), ""),
                        (_fmt(r["fpr_ratio"], "num"), _ci(r, "fpr_ratio", "num")),
                        (_fmt(r["fnr_ratio"], "num"), _ci(r, "fnr_ratio", "num")),
                        (_fmt(r["calibration_difference"], "points"), _ci(r, "calibration_difference", "points")),
                    ],
                })
            tables.append({"threshold": threshold, "rows": rows})
        single = INTERSECTION_SEPARATOR not in attribute
        sections.append({
            "attribute": attribute,
            "reference": audit.references[attribute],
            "tables": tables,
            "rates_chart": rates_chart(audit.rows, attribute, chart_threshold) if charts and single else None,
            "calibration_chart": calibration_chart(audit.rows, attribute, chart_threshold) if charts and single else None,
        })
    return sections


TABLE_HEADERS = (
    "group", "people", "outcome rate", "flagged", "selection rate", "TPR", "FPR", "FNR", "precision",
    "AUC", "mean predicted", "FPR ratio", "FNR ratio", "calibration diff. (points)",
)


def _explanation_table(by_group: pd.DataFrame) -> dict[str, Any]:
    wide = by_group.pivot_table(
        index=["attribute", "group", "n", "mean_probability"], columns="family",
        values="mean_contribution", sort=False,
    )
    families = list(wide.columns)
    rows = [
        {
            "attribute": attribute,
            "group": group,
            "n": f"{int(n):,}",
            "mean_probability": f"{mean_probability * 100:.2f}%",
            "contributions": [f"{v * 100:+.2f}" if np.isfinite(v) else "–" for v in values],
        }
        for (attribute, group, n, mean_probability), values in zip(wide.index, wide.to_numpy(), strict=True)
    ]
    return {"families": families, "rows": rows}


def _too_few_events(audit: AuditResult) -> list[CheckResult]:
    """Too-small checks other than those on groups already listed as too small by size."""
    small = {(t["attribute"], t["group"]) for t in audit.too_small}
    return [c for c in audit.checks if c.status == TOO_SMALL
            and (c.attribute, c.group) not in small and (c.attribute, c.reference) not in small]


def build_report(
    audit: AuditResult,
    *,
    card: ModelCard,
    verdict: Verdict,
    truth: AuditResult | None = None,
    explanations_by_group: pd.DataFrame | None = None,
    charts: bool = True,
) -> tuple[str, dict[str, Any]]:
    """Render the HTML report and the JSON document with the same content.

    Returns
    -------
    (str, dict)
        The self-contained HTML text and the JSON-ready dict.
    """
    import jinja2

    chart_threshold = audit.thresholds[len(audit.thresholds) // 2]
    failed = [c for c in audit.checks if c.status == FAIL]
    borderline = [c for c in audit.checks if c.status == BORDERLINE]
    paragraphs = [
        {"status": c.status, "title": check_title(c), "text": explain_check(c, audit.decision_rule, verdict.publishing)}
        for c in failed + borderline
    ]
    bias = label_bias_table(audit, truth) if truth is not None else None
    bias_rows = []
    bias_charts = []
    if bias is not None:
        at = bias[bias["threshold"] == chart_threshold]
        for _, r in at.iterrows():
            bias_rows.append([
                r["attribute"], r["group"], _fmt(r["count"], "int"),
                _fmt(r["base_rate_recorded"]), _fmt(r["base_rate_true"]),
                _fmt(r["fpr_recorded"]), _fmt(r["fpr_true"]),
                _fmt(r["fnr_recorded"]), _fmt(r["fnr_true"]),
                _fmt(r["fpr_ratio_recorded"], "num"), _fmt(r["fpr_ratio_true"], "num"),
                _fmt(r["fnr_ratio_recorded"], "num"), _fmt(r["fnr_ratio_true"], "num"),
            ])
        if charts:
            for attribute in dict.fromkeys(at["attribute"]):
                if INTERSECTION_SEPARATOR not in attribute:
                    bias_charts.append(label_bias_chart(bias, attribute, chart_threshold))
    counts = {s: sum(1 for c in audit.checks if c.status == s) for s in (PASS, BORDERLINE, FAIL, TOO_SMALL, NOT_ESTIMABLE)}
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(TEMPLATE_PATH.read_text(encoding="utf-8"))
    html = template.render(
        card=card,
        verdict=verdict,
        audit=audit,
        counts=counts,
        failed=[(check_title(c), c) for c in failed],
        too_small_checks=[(check_title(c), c) for c in _too_few_events(audit)],
        paragraphs=paragraphs,
        decision_rule=DECISION_RULES[audit.decision_rule].format(confidence=audit.confidence),
        sections=_attribute_sections(audit, chart_threshold, charts),
        headers=TABLE_HEADERS,
        chart_threshold=chart_threshold,
        bias_rows=bias_rows,
        bias_charts=bias_charts,
        explanations=_explanation_table(explanations_by_group) if explanations_by_group is not None else None,
        fmt=_fmt,
        metric_label=metric_label,
    )
    document = {
        "title": card.title,
        "subject": card.subject,
        "verdict": {
            "headline": verdict.headline,
            "passed": verdict.passed,
            "published": verdict.published,
            "override": verdict.override,
            "approver": verdict.approver,
            "reason": verdict.reason,
            "note": verdict.note,
            "failed_checks": [{"title": check_title(c), **c.to_dict()} for c in failed],
            "performance": [p.to_dict() for p in verdict.performance],
        },
        "model_card": {
            "intended_use": card.intended_use,
            "outcome": card.outcome,
            "what_it_misses": card.what_it_misses,
            "data": dict(card.data),
            "performance": card.performance,
        },
        "decision_rule_text": DECISION_RULES[audit.decision_rule].format(confidence=audit.confidence),
        "paragraphs": paragraphs,
        **audit.to_dict(),
        "label_bias": records(bias) if bias is not None else None,
        "interval_metrics": list(INTERVAL_METRICS),
    }
    return html, document
