"""The ethics-panel report: one self-contained HTML file plus the same content as JSON.

The HTML puts the gate verdict first, then a model card, a plain-English
paragraph per failed or borderline check, the tables with confidence
intervals and charts per attribute, the label-bias comparison (recorded vs
true outcomes, synthetic extracts only) and the explanation-by-group summary.
Charts are PNGs embedded as base64 data URIs, so the file reads offline and
prints; it references no external URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairness.audit import (
    BORDERLINE,
    FAIL,
    INTERVAL_METRICS,
    NOT_APPLICABLE,
    NOT_ESTIMABLE,
    PASS,
    RANK,
    TOO_SMALL,
    AuditResult,
    CheckResult,
    PerformanceCheck,
    records,
)
from fairness.policy import INTERSECTION_SEPARATOR
from fairness.verdict import (
    FAIL_VERDICT,
    PASS_VERDICT,
    REVIEW_VERDICT,
    every_check_holds,
    gate_verdict,
    outside_band,
)
from training.figures import new_figure, png_data_uri

# Beside this module (package data); read by path, as tests/fairness can shadow the package name.
TEMPLATE_PATH = Path(__file__).with_name("report.html.j2")

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
        "certainty is borderline, and is explained below; a borderline check whose estimate lies "
        "outside the band makes the verdict REVIEW."
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
    """How the gate acted on the audit, as the report states it.

    The verdict itself (PASS, REVIEW or FAIL) follows from the audit's checks
    and the performance floors (:func:`fairness.verdict.gate_verdict`); this
    says what was done with it: published or not, by override or by an
    approval of a REVIEW, by whom and why.
    """

    published: bool
    override: bool = False
    review_approved: bool = False
    approver: str = ""
    reason: str = ""
    performance: list[PerformanceCheck] = field(default_factory=list)
    note: str = ""
    publishing: bool = True  # False for an audit of a score file: nothing is published
    review_requires_approval: bool = True


def headline(name: str, action: dict[str, Any], every_holds: bool, n_outside: int, n_not_judged: int) -> str:
    """The report's first line: which verdict applies, and what was done with it."""
    if name == PASS_VERDICT:
        said = "PASS: every gated check holds" if every_holds else (
            f"PASS: no judged check fails or has its estimate outside the band; {n_not_judged} check(s) could "
            "not be judged (listed below)"
        )
    elif name == REVIEW_VERDICT:
        said = (f"REVIEW: no check fails, but {n_outside} borderline check(s) have their estimate outside the "
                "allowed band")
    else:
        said = "FAIL: at least one gated check or performance floor fails"
    if not action["publishing"]:
        return said
    if action["override"] and name != PASS_VERDICT:
        return f"{said}. PUBLISHED BY OVERRIDE of {action['approver']}"
    if action["review_approved"] and name == REVIEW_VERDICT:
        return f"{said}. APPROVED by {action['approver']} and published"
    if name == REVIEW_VERDICT and not action["published"] and action["review_requires_approval"]:
        return f"{said}. NOT PUBLISHED: the policy requires a named approver (svrisk publish --approve-review)"
    if name == FAIL_VERDICT:
        return f"{said}. REFUSED: the model may not be published"
    if name == REVIEW_VERDICT and action["published"]:
        return f"{said}. Published without approval: the policy does not require it"
    return said + ("" if action["published"] else " (not published)")


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
    elif check.distance > 0:
        gap = f"{check.distance * unit:.2f}{' points' if unit != 1.0 else ''}"
        verdict = (
            f"The policy allows {check.band}. The estimate lies {gap} outside that band, but the interval "
            "reaches back inside it, so the breach is not confident: this check makes the verdict REVIEW. "
            "The best estimate is still a disparity beyond what the policy allows; "
            + ("a named approver must decide, on the record, whether the model may be published."
               if publishing else "a panel would have to decide on it.")
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


def rates_chart(rows: pd.DataFrame, attribute: str, threshold: float) -> str:
    """Selection rate, FPR and FNR by group with interval whiskers, at one threshold."""
    part = rows[(rows["attribute"] == attribute) & (rows["threshold"] == threshold)]
    groups = list(part["group"])
    fig = new_figure(8.0, 2.8)
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
    return png_data_uri(fig)


def calibration_chart(rows: pd.DataFrame, attribute: str, threshold: float) -> str:
    """Mean predicted probability against the observed rate per group."""
    part = rows[(rows["attribute"] == attribute) & (rows["threshold"] == threshold)]
    fig = new_figure(4.0, 2.8)
    ax = fig.subplots()
    x = np.arange(len(part))
    ax.bar(x - 0.2, part["mean_predicted"].to_numpy(dtype=float) * 100, 0.4, label="mean predicted", color="#2b6cb0")
    ax.bar(x + 0.2, part["base_rate"].to_numpy(dtype=float) * 100, 0.4, label="observed", color="#dd8452")
    ax.set_xticks(x, list(part["group"]), rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("%", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7)
    ax.set_title(f"calibration by {attribute}", fontsize=9)
    return png_data_uri(fig)


def label_bias_chart(table: pd.DataFrame, attribute: str, threshold: float) -> str:
    """Recorded against true outcomes: base rate and FPR per group."""
    part = table[(table["attribute"] == attribute) & (table["threshold"] == threshold)]
    fig = new_figure(7.0, 2.8)
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
    return png_data_uri(fig)


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


def _attribute_sections(rows: pd.DataFrame, references: dict[str, str], thresholds: list[float],
                        chart_threshold: float, charts: bool, ranking: bool) -> list[dict[str, Any]]:
    sections = []
    for attribute in dict.fromkeys(rows["attribute"]):
        part = rows[rows["attribute"] == attribute]
        tables = []
        for threshold in thresholds:
            table_rows = []
            for _, r in part[part["threshold"] == threshold].iterrows():
                cells = [
                    (_fmt(r["count"], "int"), ""),
                    (_fmt(r["base_rate"]), _ci(r, "base_rate")),
                    (_fmt(r["flagged"], "int"), ""),
                    (_fmt(r["selection_rate"]), _ci(r, "selection_rate")),
                    (_fmt(r["tpr"]), _ci(r, "tpr")),
                    (_fmt(r["fpr"]), _ci(r, "fpr")),
                    (_fmt(r["fnr"]), _ci(r, "fnr")),
                    (_fmt(r["precision"]), _ci(r, "precision")),
                    (_fmt(r["auc"], "num"), ""),
                    (_fmt(r["fpr_ratio"], "num"), _ci(r, "fpr_ratio", "num")),
                    (_fmt(r["fnr_ratio"], "num"), _ci(r, "fnr_ratio", "num")),
                ]
                if not ranking:
                    cells[9:9] = [(_fmt(r["mean_predicted"]), "")]
                    cells.append((_fmt(r["calibration_difference"], "points"),
                                  _ci(r, "calibration_difference", "points")))
                table_rows.append({"group": r["group"], "reference": bool(r["is_reference"]),
                                   "too_small": bool(r["too_small"]), "cells": cells})
            tables.append({"threshold": threshold, "rows": table_rows})
        single = INTERSECTION_SEPARATOR not in attribute
        drawn = charts and single
        sections.append({
            "attribute": attribute,
            "reference": references[attribute],
            "tables": tables,
            "rates_chart": rates_chart(rows, attribute, chart_threshold) if drawn else None,
            "calibration_chart": calibration_chart(rows, attribute, chart_threshold) if drawn and not ranking else None,
        })
    return sections


TABLE_HEADERS = (
    "group", "people", "outcome rate", "flagged", "selection rate", "TPR", "FPR", "FNR", "precision",
    "AUC", "mean predicted", "FPR ratio", "FNR ratio", "calibration diff. (points)",
)
# A ranking has no mean predicted probability and no calibration.
RANKING_HEADERS = tuple(h for h in TABLE_HEADERS if h not in ("mean predicted", "calibration diff. (points)"))


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


def _too_few_events(checks: list[CheckResult], too_small: list[dict[str, Any]]) -> list[CheckResult]:
    """Too-small checks other than those on groups already listed as too small by size."""
    small = {(t["attribute"], t["group"]) for t in too_small}
    return [c for c in checks if c.status == TOO_SMALL
            and (c.attribute, c.group) not in small and (c.attribute, c.reference) not in small]


def detectable_text(check: CheckResult) -> str:
    """The power figure in words: the disparities beyond the band the audit would fail with 80% power."""
    points = check.metric.endswith("_difference")
    kind = "points" if points else "num"
    sides = []
    if check.lower is not None:
        sides.append(f"at or below {_fmt(check.detectable_low, kind)}" if np.isfinite(check.detectable_low)
                     else "none below the band")
    if check.upper is not None:
        sides.append(f"at or above {_fmt(check.detectable_high, kind)}" if np.isfinite(check.detectable_high)
                     else "none above the band")
    return " or ".join(sides) + (" (points)" if points else "")


def _check_from_dict(data: dict[str, Any]) -> CheckResult:
    """A check as the JSON document holds it (null for an undefined figure)."""
    fields = CheckResult.__dataclass_fields__
    return CheckResult(**{k: (float("nan") if v is None and k not in ("threshold", "lower", "upper") else v)
                          for k, v in data.items() if k in fields})


def _performance_from_dict(data: dict[str, Any]) -> PerformanceCheck:
    return PerformanceCheck(**{k: (float("nan") if v is None else v) for k, v in data.items()})


def build_document(
    audit: AuditResult,
    *,
    card: ModelCard,
    verdict: Verdict,
    truth: AuditResult | None = None,
    explanations_by_group: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The report's content as one JSON-ready document; the HTML is rendered from it (:func:`render_html`)."""
    name = gate_verdict(audit.checks, verdict.performance)
    outside = outside_band(audit.checks)
    failed = sorted((c for c in audit.checks if c.status == FAIL), key=lambda c: -c.distance)
    borderline = [c for c in audit.checks if c.status == BORDERLINE]
    not_judged = audit.not_judged
    action = {
        "publishing": verdict.publishing,
        "published": verdict.published,
        "override": verdict.override,
        "review_approved": verdict.review_approved,
        "review_requires_approval": verdict.review_requires_approval,
        "approver": verdict.approver,
        "reason": verdict.reason,
    }
    every_holds = every_check_holds(audit.checks, verdict.performance)
    paragraphs = [
        {"status": c.status, "title": check_title(c), "text": explain_check(c, audit.decision_rule, verdict.publishing)}
        for c in failed + outside + [c for c in borderline if c.distance == 0]
    ]
    bias = label_bias_table(audit, truth) if truth is not None else None
    return {
        "title": card.title,
        "subject": card.subject,
        "verdict": {
            "verdict": name,
            "headline": headline(name, action, every_holds, len(outside), len(not_judged)),
            "every_check_holds": every_holds,
            **action,
            # Kept for readers of earlier documents: true when no gated check fails.
            "passed": audit.passed and all(p.passed for p in verdict.performance),
            "note": verdict.note,
            "outside_band": [{"title": check_title(c), **c.to_dict()} for c in outside],
            "failed_checks": [{"title": check_title(c), **c.to_dict()} for c in failed],
            "not_judged": [{"title": check_title(c), **c.to_dict()} for c in not_judged],
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
        "explanations_by_group": records(explanations_by_group) if explanations_by_group is not None else None,
        "interval_metrics": list(INTERVAL_METRICS),
    }


def render_html(document: dict[str, Any], *, charts: bool = True) -> str:
    """The self-contained HTML report, from the JSON document alone (so the two cannot drift apart)."""
    import jinja2

    checks = [_check_from_dict(c) for c in document["checks"]]
    rows = pd.DataFrame(document["rows"])
    thresholds = list(document["thresholds"])
    chart_threshold = thresholds[len(thresholds) // 2]
    ranking = document["score_kind"] == RANK
    bias = pd.DataFrame(document["label_bias"]) if document["label_bias"] else None
    bias_rows, bias_charts = [], []
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
            bias_charts = [label_bias_chart(bias, attribute, chart_threshold)
                           for attribute in dict.fromkeys(at["attribute"]) if INTERSECTION_SEPARATOR not in attribute]
    counts = {s: sum(1 for c in checks if c.status == s)
              for s in (PASS, BORDERLINE, FAIL, TOO_SMALL, NOT_ESTIMABLE, NOT_APPLICABLE)}
    explanations = document["explanations_by_group"]
    verdict = document["verdict"]
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return template.render(
        doc=document,
        verdict=verdict,
        card=document["model_card"],
        performance=[_performance_from_dict(p) for p in verdict["performance"]],
        counts=counts,
        outside=[(c["title"], _check_from_dict(c)) for c in verdict["outside_band"]],
        failed=[(c["title"], _check_from_dict(c)) for c in verdict["failed_checks"]],
        too_small_checks=[(check_title(c), c, detectable_text(c)) for c in _too_few_events(checks, document["too_small"])],
        power=[(check_title(c), c, detectable_text(c)) for c in checks],
        paragraphs=document["paragraphs"],
        sections=_attribute_sections(rows, document["references"], thresholds, chart_threshold, charts, ranking),
        headers=RANKING_HEADERS if ranking else TABLE_HEADERS,
        ranking=ranking,
        chart_threshold=chart_threshold,
        bias_rows=bias_rows,
        bias_charts=bias_charts,
        explanations=_explanation_table(pd.DataFrame(explanations)) if explanations else None,
        fmt=_fmt,
        metric_label=metric_label,
    )


def build_report(
    audit: AuditResult,
    *,
    card: ModelCard,
    verdict: Verdict,
    truth: AuditResult | None = None,
    explanations_by_group: pd.DataFrame | None = None,
    charts: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The HTML report and the JSON document it is rendered from.

    Returns
    -------
    (str, dict)
        The self-contained HTML text and the JSON-ready dict.
    """
    document = build_document(audit, card=card, verdict=verdict, truth=truth,
                              explanations_by_group=explanations_by_group)
    return render_html(document, charts=charts), document


def write_report_files(out_dir: Path, html: str, document: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``audit.json`` and ``report.html`` into ``out_dir`` (made if missing); return their paths.

    The gate and the score-file audit both write an audit this way, so the two never drift apart.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "audit.json", out_dir / "report.html"
    json_path.write_text(json.dumps(document, indent=2, allow_nan=False), encoding="utf-8")
    html_path.write_text(html, encoding="utf-8")
    return json_path, html_path
