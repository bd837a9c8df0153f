"""The monitoring report as one self-contained HTML page (charts inlined as PNG).

Written for the Police and Crime Board and the ethics panel: it opens with
what changed, whether it matters and what to do, then shows each analysis
over time. Every number in it is in the JSON report too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from extract.disclosure import SUPPRESSED_MARK
from training.figures import new_figure, png_data_uri

TOP_INPUTS_CHARTED = 8
TOP_INPUTS_TABLED = 20
ACTION_TEXT = {
    "investigate": "investigate: find out why before relying on the scores for the affected people",
    "retrain": "retrain: train a new candidate on recent data and put it through the fairness gate",
    "re-audit": "re-audit: run the fairness audit again on recent outcomes and review the result",
    "withdraw": "withdraw: consider taking the champion out of service until a fair model is published",
}
STATUS_TEXT = {
    "ok": "No finding: the model's inputs, scores, performance and fairness are as at publication.",
    "warn": "Warnings only: something moved, not enough to act on yet; watch the next report.",
    "alert": "Action needed: at least one change crosses the monitoring policy's alert line.",
}

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Monitoring report: {{ d.model.name }} version {{ d.model.version }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left}
.alert{background:#fde2e1} .warn{background:#fff4d6} .ok{background:#e7f5e7}
.status{padding:.6em 1em;border-radius:4px;font-weight:600} img{max-width:100%}
.small{font-size:.85em;color:#555}
</style></head><body>
<h1>Monitoring report: {{ d.model.name }} version {{ d.model.version }}</h1>
<p class="small">Extract taken on {{ d.extract.extracted_on }}; {{ d.periods|length }} monthly population snapshots
from {{ d.periods[0] }} to {{ d.periods[-1] }}, of which {{ d.matured_periods|length }} have outcomes that have matured.
Training reference: snapshots {{ d.model.reference_as_of|join(", ") }} (outcomes observed until {{ d.model.labels_observed_until }}).
Monitoring policy {{ d.policy_version }}, fairness policy {{ d.fairness_policy_version }}. Created {{ d.created_at }}.</p>
{% for n in d.notices %}<p class="status warn">{{ n }}</p>{% endfor %}
{% if d.no_matured_period %}<p class="status warn">{{ d.no_matured_period }}</p>{% endif %}

<h2>Summary: what changed, whether it matters, what to do</h2>
<p class="status {{ d.status }}">{{ status_text }}</p>
{% if d.findings %}
<table><tr><th>finding</th><th>level</th><th>what we saw</th><th>what to do</th></tr>
{% for f in d.findings %}<tr class="{{ f.status }}"><td>{{ f.analysis|replace("_", " ") }}: {{ f.subject }}</td>
<td>{{ f.status }}</td><td>{{ f.message }}</td><td>{{ action_text[f.action] }}</td></tr>{% endfor %}</table>
{% else %}<p>Nothing to report.</p>{% endif %}
{% if d.actions %}<p><b>Recommended:</b> {% for a in d.actions %}{{ action_text[a] }}{% if not loop.last %}; {% endif %}{% endfor %}.</p>{% endif %}

<h2>1. Who is being scored: input drift</h2>
<p>For each model input, the population stability index (PSI) against the training population: below 0.1 little
change, 0.1-0.25 some, above 0.25 a major shift; the PSI decides (with hundreds of thousands of people any
difference is "significant", so no significance test is used). The inputs that matter most to the model
(mean |SHAP| at training) come first.</p>
{% if charts.inputs %}<img alt="PSI over time for the most important and the shifted inputs" src="{{ charts.inputs }}">{% endif %}
<table><tr><th>rank</th><th>input</th><th>largest PSI</th><th>in</th><th>missing at training / now</th><th>new values</th><th>level</th></tr>
{% for r in input_rows %}<tr class="{{ r.status }}"><td>{{ r.rank }}</td><td>{{ r.input }}</td><td>{{ "%.3f"|format(r.psi) }}</td>
<td>{{ r.period }}</td><td>{{ "%.1f%%"|format(100*r.missing_reference) }} / {{ "%.1f%%"|format(100*r.missing_current) }}</td>
<td>{{ r.new_categories|join(", ") }}</td><td>{{ r.status }}</td></tr>{% endfor %}</table>

<h2>2. The scores: score drift and risk bands</h2>
{% if charts.score %}<img alt="Score PSI and band shares over time" src="{{ charts.score }}">{% endif %}
<table><tr><th>period</th><th>people</th><th>score PSI</th><th>mean probability</th><th>top band share</th><th>level</th></tr>
{% for r in d.score_drift %}<tr class="{{ r.status|replace(' ', '') }}"><td>{{ r.period }}</td><td>{{ r.n }}</td><td>{{ "%.3f"|format(r.psi) }}</td>
<td>{{ "%.4f"|format(r.mean_probability) }}</td><td>{{ "%.1f%%"|format(100*r.band_shares[-1]) }}</td><td>{{ r.status }}</td></tr>{% endfor %}</table>

<h2>3. Is it still accurate: performance as outcomes mature</h2>
{% if d.performance %}
{% if charts.performance %}<img alt="Realised AUC over time against training" src="{{ charts.performance }}">{% endif %}
<table><tr><th>period</th><th>people</th><th>outcomes</th><th>AUC (95% CI)</th><th>AUC at training</th><th>PR AUC</th><th>Brier</th>
<th>precision in top k</th><th>observed / predicted rate</th><th>level</th></tr>
{% for r in d.performance %}<tr class="{{ r.status }}"><td>{{ r.period }}</td><td>{{ r.n }}</td><td>{{ r.positives }}</td>
<td>{{ fmt(r.roc_auc) }} ({{ fmt(r.roc_auc_ci[0]) }}-{{ fmt(r.roc_auc_ci[1]) }})</td><td>{{ fmt(r.training.roc_auc) }} ({{ fmt(r.training.roc_auc_ci[0]) }}-{{ fmt(r.training.roc_auc_ci[1]) }})</td>
<td>{{ fmt(r.pr_auc) }}</td><td>{{ fmt(r.brier, 5) }}</td><td>{{ fmt(r.precision_top_k) }} (k={{ r.k }}; {{ fmt(r.training.precision_top_k) }} at training)</td>
<td>{{ fmt(r.observed_rate, 4) }} / {{ fmt(r.expected_rate, 4) }}</td><td>{{ r.status }}</td></tr>{% endfor %}</table>
<p>The AUC at training comes from a test period of {{ d.performance[-1].training.n }} people with
{{ d.performance[-1].training.positives }} outcomes, so it is uncertain too: a drop is an alert only when its whole
95% interval, from both, is above the policy's limit.</p>
<p>Calibration by risk band in the latest matured period ({{ d.performance[-1].period }}): observed against expected
outcomes, and how their ratio changed since training (an alert when the change's 95% interval, from both periods'
outcome counts, lies wholly outside the policy's tolerance).</p>
<table><tr><th>band</th><th>people</th><th>observed (95% CI)</th><th>predicted</th><th>observed / expected now</th>
<th>at training (outcomes)</th><th>change (95% CI)</th><th>level</th></tr>
{% for b in [dict(d.performance[-1].calibration, band="all")] + d.performance[-1].calibration_by_band %}<tr class="{{ b.status }}"><td>{{ b.band }}</td><td>{{ b.n }}</td>
<td>{{ fmt(b.observed, 4) }} ({{ fmt(b.ci_low, 4) }}-{{ fmt(b.ci_high, 4) }})</td><td>{{ fmt(b.expected, 4) }}</td>
<td>{{ fmt(b.observed_to_expected, 2) }}</td><td>{{ fmt(b.training_observed_to_expected, 2) }} ({{ b.training_outcomes }})</td>
<td>{{ fmt(b.ratio_change, 2) }} ({{ fmt(b.ratio_change_ci[0], 2) }}-{{ fmt(b.ratio_change_ci[1], 2) }})</td><td>{{ b.status }}</td></tr>{% endfor %}</table>
{% else %}<p>No period has matured yet: outcomes take a full year to be known.</p>{% endif %}

<h2>4. Is it still fair: the gate's checks over time</h2>
{% if d.fairness %}
<table><tr><th>period</th><th>checks</th><th>failing</th><th>of which passed at publication</th><th>level</th></tr>
{% for r in d.fairness %}<tr class="{{ r.status }}"><td>{{ r.period }}</td><td>{{ r.checks }}</td><td>{{ r.failed|length }}</td>
<td>{{ r.failed|selectattr("finding", "equalto", "alert")|list|length }}</td><td>{{ r.status }}</td></tr>{% endfor %}</table>
{% for r in d.fairness if r.failed %}<p><b>{{ r.period }}</b>: {% for c in r.failed %}{{ c.metric }} {{ c.attribute }}={{ c.group }}
{{ "%.3f"|format(c.value) }} (allowed {{ c.band }}; {{ c.status_at_publication }} at publication){% if not loop.last %}; {% endif %}{% endfor %}</p>{% endfor %}
{% if d.label_bias %}<p>Label bias (synthetic truth): recorded against true outcome rates relative to the reference group.</p>
<table><tr><th>period</th><th>attribute</th><th>group</th><th>people</th><th>recorded rate</th><th>true rate</th><th>relative to reference</th><th>level</th></tr>
{% for p in d.label_bias %}{% for r in p.rows %}<tr class="{{ r.status }}"><td>{{ p.period }}</td><td>{{ r.attribute }}</td><td>{{ r.group }}</td><td>{{ r.count }}</td>
<td>{{ fmt(r.recorded_rate, 4) }}</td><td>{{ fmt(r.true_rate, 4) }}</td><td>{{ fmt(r.relative_to_reference, 2) }}</td><td>{{ r.status }}</td></tr>{% endfor %}{% endfor %}</table>{% endif %}
{% else %}<p>No period has matured yet.</p>{% endif %}

<h2>5. Practitioners' reviews and service volumes</h2>
{% if d.service %}
<p>{{ count(d.service.reviews.total) }} reviews of {{ count(d.service.volumes.total) }} scorings; median time from score to review
{{ fmt(d.service.reviews.median_hours_to_review, 1) }} hours. Counts below {{ d.service.suppression_threshold }} are
suppressed ({{ mark }}), with further cells where needed so that none can be worked out from a total, and no rate is
shown for a suppressed count.</p>
{% for section in d.service.reviews.by %}<p><b>By {{ section.by }}</b></p>
<table><tr><th>{{ section.by }}</th><th>reviews</th><th>disagree (95% CI)</th><th>escalate (95% CI)</th><th>level</th></tr>
{% for r in section.rows %}<tr class="{{ r.status }}"><td>{{ r.group }}</td><td>{{ count(r.reviews) }}</td>
<td>{{ fmt(r.disagree_rate) }} ({{ fmt(r.disagree_ci[0]) }}-{{ fmt(r.disagree_ci[1]) }})</td>
<td>{{ fmt(r.escalate_rate) }} ({{ fmt(r.escalate_ci[0]) }}-{{ fmt(r.escalate_ci[1]) }})</td><td>{{ r.status }}</td></tr>{% endfor %}</table>{% endfor %}
{% if charts.volumes %}<img alt="Cases scored per week" src="{{ charts.volumes }}">{% endif %}
<table><tr><th>week</th><th>role</th><th>local authority</th><th>cases scored</th></tr>
{% for r in d.service.volumes.weekly %}<tr><td>{{ r.week }}</td><td>{{ r.role }}</td><td>{{ r.local_authority }}</td><td>{{ count(r.cases) }}</td></tr>{% endfor %}</table>
{% else %}<p>No audit trail was given (<code>--audit-db</code>), so reviews and volumes are not reported.</p>{% endif %}
</body></html>
"""


def count(value: int | None) -> str:
    """A published count, or the suppression mark for a suppressed one (None)."""
    return SUPPRESSED_MARK if value is None else str(value)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _input_chart(document: dict[str, Any], names: list[str]) -> str | None:
    rows = [r for r in document["input_drift"] if r["input"] in names and r["psi"] is not None]
    if not rows:
        return None
    fig = new_figure(9, 3.6)
    ax = fig.add_subplot()
    for name in names:
        series = [(r["period"], r["psi"]) for r in rows if r["input"] == name]
        ax.plot([p for p, _ in series], [v for _, v in series], marker="o", ms=3, label=name)
    ax.axhline(0.1, color="#d9a300", ls="--", lw=1)
    ax.axhline(0.25, color="#c0392b", ls="--", lw=1)
    ax.set_ylabel("PSI against training")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    ax.legend(fontsize=7, ncol=2)
    return png_data_uri(fig)


def _score_chart(document: dict[str, Any]) -> str | None:
    rows = document["score_drift"]
    if not rows:
        return None
    fig = new_figure(9, 3.4)
    left, right = fig.subplots(1, 2)
    periods = [r["period"] for r in rows]
    left.plot(periods, [r["psi"] for r in rows], marker="o", ms=3)
    left.axhline(0.25, color="#c0392b", ls="--", lw=1)
    left.set_title("score PSI", fontsize=9)
    shares = np.array([r["band_shares"] for r in rows])
    bottom = np.zeros(len(rows))
    for band in range(shares.shape[1]):
        right.bar(periods, shares[:, band], bottom=bottom, label=str(band + 1))
        bottom += shares[:, band]
    right.set_title("share in each risk band (10% each at training)", fontsize=9)
    for ax in (left, right):
        ax.tick_params(axis="x", rotation=60, labelsize=7)
    return png_data_uri(fig)


def _performance_chart(document: dict[str, Any]) -> str | None:
    rows = [r for r in document["performance"] if r.get("roc_auc") is not None]
    if not rows:
        return None
    fig = new_figure(7, 3.2)
    ax = fig.add_subplot()
    periods = [r["period"] for r in rows]
    auc = np.array([r["roc_auc"] for r in rows])
    low = np.array([r["roc_auc_ci"][0] for r in rows])
    high = np.array([r["roc_auc_ci"][1] for r in rows])
    ax.errorbar(periods, auc, yerr=[auc - low, high - auc], marker="o", ms=3, capsize=2, label="realised")
    ax.axhline(rows[0]["training"]["roc_auc"], color="#555", ls="--", lw=1, label="at training")
    low_then, high_then = rows[0]["training"]["roc_auc_ci"]
    if low_then is not None and high_then is not None:
        # Training's own 95% interval: a small test period makes it wide, and alerts weigh it.
        ax.axhspan(low_then, high_then, color="#555", alpha=0.12, label="at training, 95% CI")
    ax.set_ylabel("AUC")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    ax.legend(fontsize=7)
    return png_data_uri(fig)


def _volume_chart(document: dict[str, Any]) -> str | None:
    service = document.get("service")
    if not service or not service["volumes"]["weekly_totals"]:
        return None
    # Published weekly totals only: a suppressed week is a gap, never the sum of its cells.
    totals = {r["week"]: r["cases"] for r in service["volumes"]["weekly_totals"] if r["cases"] is not None}
    fig = new_figure(7, 2.8)
    ax = fig.add_subplot()
    ax.bar(list(totals), list(totals.values()))
    ax.set_ylabel("cases scored")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    return png_data_uri(fig)


def render_html(document: dict[str, Any]) -> str:
    """The report page for ``document`` (monitoring.run.build_document)."""
    from jinja2 import Environment

    best: dict[str, dict[str, Any]] = {}
    for row in document["input_drift"]:
        current = best.get(row["input"])
        if row["psi"] is not None and (current is None or row["psi"] > current["psi"]):
            best[row["input"]] = row
    worst_status = {}
    for row in document["input_drift"]:
        order = {"alert": 2, "warn": 1}.get(row["status"], 0)
        worst_status[row["input"]] = max(worst_status.get(row["input"], 0), order)
    input_rows = sorted(best.values(), key=lambda r: r["rank"])
    shown = [r for r in input_rows if worst_status[r["input"]] > 0] + input_rows[:TOP_INPUTS_TABLED]
    seen: set[str] = set()
    table_rows = []
    for r in sorted(shown, key=lambda r: r["rank"]):
        if r["input"] not in seen:
            seen.add(r["input"])
            table_rows.append({**r, "status": ["ok", "warn", "alert"][worst_status[r["input"]]]})
    charted = [r["input"] for r in input_rows if worst_status[r["input"]] > 0][:TOP_INPUTS_CHARTED]
    charted += [r["input"] for r in input_rows if r["input"] not in charted][: max(0, TOP_INPUTS_CHARTED - len(charted))]
    charts = {"inputs": _input_chart(document, charted), "score": _score_chart(document),
              "performance": _performance_chart(document), "volumes": _volume_chart(document)}
    env = Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(
        d=document, charts=charts, input_rows=table_rows, fmt=fmt, count=count, mark=SUPPRESSED_MARK, dict=dict,
        action_text=ACTION_TEXT,
        status_text=STATUS_TEXT[document["status"]],
    )
