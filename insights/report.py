"""``svrisk needs``: build the needs assessment and write it (HTML, CSV, PNG).

Only aggregated, disclosure-controlled tables leave this module: every CSV is a
published table, the charts are drawn from those tables, and the HTML embeds both.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from extract.disclosure import SUPPRESSED_MARK
from extract.episodes import ed_rows, police_rows
from extract.episodes import episodes as build_episodes
from insights.config import NeedsConfig
from insights.ed_view import EdResult, ed_view
from insights.episodes import (
    availability,
    first_record,
    in_window,
    monthly_index,
    young_people,
)
from insights.when import SeriesResult, analyse_series, monthly_counts
from insights.where import UNKNOWN_DECILE, WhereResult, where

ERR_AS_OF_AFTER = "--as-of {as_of} is not before the extract date {extracted_on}: the records stop there"
ERR_AS_OF_BEFORE = "--as-of {as_of} is before the extract's first record ({first}): there is nothing to assess"
WEAPON_CATEGORIES = ("weapon_possession", "robbery", "violence_with_injury")


@dataclass
class NeedsResult:
    as_of: pd.Timestamp
    extracted_on: pd.Timestamp
    window: tuple[pd.Timestamp, pd.Timestamp]
    config: NeedsConfig
    where: WhereResult
    when: list[SeriesResult]
    ed: EdResult
    who: object | None = None  # insights.capacity.CapacityResult
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def check_as_of(tables: Mapping[str, pd.DataFrame], extracted_on: pd.Timestamp, as_of: pd.Timestamp | None) -> pd.Timestamp:
    """The as-of date (default: the extract date); ValueError when outside the extract."""
    if as_of is None:
        return pd.Timestamp(extracted_on).normalize()
    as_of = pd.Timestamp(as_of).normalize()
    if as_of > extracted_on:
        raise ValueError(ERR_AS_OF_AFTER.format(as_of=as_of.date(), extracted_on=extracted_on.date()))
    first = first_record(tables)
    if first is None or as_of <= first:
        raise ValueError(ERR_AS_OF_BEFORE.format(as_of=as_of.date(), first=None if first is None else first.date()))
    return as_of


def build_needs(
    tables: Mapping[str, pd.DataFrame],
    extracted_on: pd.Timestamp,
    config: NeedsConfig,
    as_of: pd.Timestamp | None = None,
    who=None,
) -> NeedsResult:
    """Every section of the report from the contract tables (``who``: a CapacityResult or a note)."""
    as_of = check_as_of(tables, pd.Timestamp(extracted_on), as_of)
    threshold = config.disclosure.suppression_threshold
    found = availability(tables)
    all_episodes = build_episodes(tables)
    start = as_of - pd.DateOffset(months=config.where.lookback_months)
    recent = in_window(all_episodes, start, as_of)
    young = young_people(tables, as_of)
    place = where(
        recent, young, threshold=threshold, top_areas=config.where.top_areas,
        replicates=config.where.bootstrap_replicates, seed=config.where.seed, has_area=found.has_area,
    )
    first = first_record(tables)
    months = monthly_index(first, as_of)
    police = police_rows(tables)
    ed = ed_rows(tables)
    series: dict[str, pd.Series] = {
        "serious_violence_episodes": all_episodes["date"],
        "ed_assault_attendances": ed["date"],
    }
    for category in WEAPON_CATEGORIES:
        series[category] = police.loc[police["category"] == category, "date"]
    if found.has_weapon:
        series["knife_or_sharp"] = police.loc[police["weapon"] == "knife_or_sharp", "date"]
        series["firearm"] = police.loc[police["weapon"] == "firearm", "date"]
    when = [
        analyse_series(name, monthly_counts(dates, months), threshold=threshold,
                       horizon=config.when.forecast_months, interval=config.when.interval)
        for name, dates in series.items()
    ]
    result = NeedsResult(
        as_of=as_of, extracted_on=pd.Timestamp(extracted_on), window=(start, as_of), config=config,
        where=place, when=when, ed=ed_view(recent, threshold=threshold, has_area=found.has_area,
                                           has_weapon=found.has_weapon),
        missing=list(found.missing),
    )
    for item in when:
        result.notes.extend(item.notes)
    if isinstance(who, str):
        result.missing.append(who)
    else:
        result.who = who
    return result


# ---------------------------------------------------------------------------- writing
def published_tables(result: NeedsResult) -> dict[str, pd.DataFrame]:
    """Every table the report publishes, by file stem."""
    out = {
        "where_by_local_authority": result.where.by_authority,
        "where_by_imd_decile": result.where.by_deprivation,
    }
    if result.where.by_area is not None:
        out["where_by_area"] = result.where.by_area
        out["where_top_areas"] = result.where.top_areas
        out["where_concentration_curve"] = result.where.curve
    for item in result.when:
        out[f"when_{item.name}"] = item.published
        if item.forecast is not None:
            out[f"when_{item.name}_forecast"] = item.forecast
    for name, table in result.ed.tables.items():
        out[f"ed_only_{name}"] = table
    if result.who is not None:
        out["who_by_band"] = result.who.by_band
        out["who_by_local_authority"] = result.who.by_authority
        out["who_capacity"] = result.who.capacity
        out["cost_by_band"] = result.who.cost
    return out


def summary(result: NeedsResult) -> dict:
    """The JSON summary (needs.json): headline figures, peaks, concentration, notes."""
    return {
        "as_of": str(result.as_of.date()),
        "extracted_on": str(result.extracted_on.date()),
        "window": [str(result.window[0].date()), str(result.window[1].date())],
        "config_version": result.config.version,
        "suppression_threshold": result.config.disclosure.suppression_threshold,
        "concentration": result.where.concentration,
        "peak_months": {s.name: s.peak_months for s in result.when if s.peak_months},
        "lowest_months": {s.name: s.lowest_months for s in result.when if s.lowest_months},
        "ed_only": result.ed.overall,
        "who": None if result.who is None else {"model": result.who.model, "assumptions": result.who.assumptions},
        "missing": result.missing,
        "notes": result.notes,
    }


def _png(fig, path: Path) -> str:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(path.read_bytes()).decode("ascii")


def charts(result: NeedsResult, out: Path) -> dict[str, str]:
    """PNG charts drawn from the published tables only; base64 for the HTML."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = {}
    la = result.where.by_authority.iloc[:-1]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(la["local_authority"].astype(str), la["rate_per_1000"].astype(float))
    ax.set_ylabel("episodes per 1,000 aged 10-24")
    ax.set_title("Recorded serious violence by local authority (suppressed cells blank)")
    ax.tick_params(axis="x", rotation=30)
    images["where_by_local_authority"] = _png(fig, out / "where_by_local_authority.png")
    imd = result.where.by_deprivation.iloc[:-1]
    imd = imd[imd["imd_decile"] != UNKNOWN_DECILE]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(imd["imd_decile"].astype(int), imd["rate_per_1000"].astype(float))
    ax.set_xlabel("IMD decile (1 = most deprived)")
    ax.set_ylabel("per 1,000 aged 10-24")
    ax.set_title("Deprivation gradient")
    images["where_by_imd_decile"] = _png(fig, out / "where_by_imd_decile.png")
    if result.where.curve is not None:
        curve = result.where.curve
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot(curve["share_of_areas"], curve["share_of_episodes"], marker="o")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax.set_xlabel("share of areas (highest first)")
        ax.set_ylabel("share of episodes")
        ax.set_title("Concentration curve")
        images["where_concentration_curve"] = _png(fig, out / "where_concentration_curve.png")
    for item in result.when:
        table = item.published.iloc[:-1]
        fig, ax = plt.subplots(figsize=(8, 3.2))
        x = pd.to_datetime(table["month"])
        ax.plot(x, table["count"].astype(float), label="recorded (suppressed months blank)")
        if "trend" in table.columns:
            ax.plot(x, table["trend"].astype(float), label="trend (STL)")
        if item.forecast is not None:
            fx = pd.to_datetime(item.forecast["month"])
            ax.plot(fx, item.forecast["forecast"], label="forecast")
            ax.fill_between(fx, item.forecast["lower"], item.forecast["upper"], alpha=0.3, label="interval")
        ax.set_title(item.name.replace("_", " "))
        ax.legend(fontsize=7)
        images[f"when_{item.name}"] = _png(fig, out / f"when_{item.name}.png")
    return images


def _html_table(frame: pd.DataFrame) -> str:
    shown = frame.astype(object).where(frame.notna(), SUPPRESSED_MARK)
    return shown.to_html(index=False, border=0, classes="t", na_rep=SUPPRESSED_MARK)


def write_needs(result: NeedsResult, out: str | Path) -> list[Path]:
    """Write needs.html, needs.json, one CSV per published table and the PNG charts."""
    from jinja2 import Template

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    tables = published_tables(result)
    for name, table in tables.items():
        path = out / f"{name}.csv"
        table.to_csv(path, index=False)
        written.append(path)
    images = charts(result, out)
    written += [out / f"{name}.png" for name in images]
    info = summary(result)
    (out / "needs.json").write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
    written.append(out / "needs.json")
    html = Template(TEMPLATE).render(
        r=result, info=info, tables={k: _html_table(v) for k, v in tables.items()}, images=images,
        threshold=result.config.disclosure.suppression_threshold, mark=SUPPRESSED_MARK, cost=result.config.cost,
        pct=lambda v: "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.1f}%",
    )
    (out / "needs.html").write_text(html, encoding="utf-8")
    written.append(out / "needs.html")
    return written


TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Serious violence needs assessment (as of {{ info.as_of }})</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:auto;padding:1rem}
table.t{border-collapse:collapse;font-size:.8rem;margin:.5rem 0}table.t td,table.t th{border:1px solid #ccc;padding:2px 6px}
.est{background:#fff6dd;padding:.5rem;border-left:4px solid #e0a800}.miss{background:#fde;padding:.5rem}
img{max-width:100%}@media print{section{page-break-inside:avoid}}</style></head><body>
<h1>Serious violence among young people: needs assessment</h1>
<p>As of {{ info.as_of }} (extract date {{ info.extracted_on }}); place and ED views count the
{{ r.config.where.lookback_months }} months from {{ info.window[0] }}. Aggregated results only:
every count below {{ threshold }} is suppressed ({{ mark }}), with further cells suppressed so that no
suppressed value can be worked out from totals, and no rate is shown for a suppressed count. Areas
appear by code only. Synthetic or real, these are recorded events, not all violence.</p>
{% if r.missing %}<div class="miss"><b>Not in this report, and why:</b><ul>{% for m in r.missing %}<li>{{ m }}</li>{% endfor %}</ul></div>{% endif %}

<section><h2>1. Where</h2>
<p>Recorded serious violence (police victim/suspect records of violence with injury, robbery or weapon
possession, and ED assault attendances; one episode per person and day) per 1,000 young people aged 10-24.</p>
<img src="data:image/png;base64,{{ images.where_by_local_authority }}" alt="rates by local authority">
{{ tables.where_by_local_authority }}
<img src="data:image/png;base64,{{ images.where_by_imd_decile }}" alt="rates by IMD decile">
{{ tables.where_by_imd_decile }}
{% if info.concentration %}{% set c = info.concentration %}
<p><b>Concentration.</b> The busiest 10% of the {{ c.areas }} areas hold {{ pct(c.observed_top_share) }} of
episodes with a known place; ranked on half of the episodes and counted on the other half, {{ pct(c.split_half_top_share) }}.
With few episodes per area the first overstates concentration and the second understates it, so the
interval {{ pct(c.interval[0]) }} to {{ pct(c.interval[1]) }} (bootstrap over areas, {{ c.replicates }} replicates)
runs from the lower bound of one to the upper bound of the other. Gini {{ '%.3f' % c.gini }}
({{ '%.3f' % c.gini_interval[0] }}-{{ '%.3f' % c.gini_interval[1] }}), also inflated by small counts.
{{ c.episodes_without_place if c.episodes_without_place is not none else mark }} episodes had no recorded place.</p>
<img src="data:image/png;base64,{{ images.where_concentration_curve }}" alt="concentration curve">
<h3>Top areas</h3>{{ tables.where_top_areas }}
<p>All areas: where_by_area.csv.</p>{% endif %}
</section>

<section><h2>2. When</h2>
{% for s in r.when %}<h3>{{ s.name.replace('_', ' ') }}</h3>
<img src="data:image/png;base64,{{ images['when_' + s.name] }}" alt="{{ s.name }}">
{% if s.peak_months %}<p>Peak months: <b>{{ s.peak_months | join(', ') }}</b>; lowest: {{ s.lowest_months | join(', ') }}
(STL seasonal component averaged by calendar month). {{ r.config.when.forecast_months }}-month forecast
(damped-trend additive ETS) with a {{ (100 * r.config.when.interval) | round | int }}% interval: when_{{ s.name }}_forecast.csv.</p>
{% else %}<p>{{ s.notes | join('; ') }}</p>{% endif %}{% endfor %}
</section>

<section><h2>3. The ED's view</h2>
<p>ED assault attendances with no police record of serious violence for the same person on the same day:
{{ info.ed_only.ed_only_episodes if info.ed_only.ed_only_episodes is not none else mark }} of
{{ info.ed_only.ed_episodes if info.ed_only.ed_episodes is not none else mark }}
({{ pct(info.ed_only.ed_only_share) }}). This is violence the police alone would not see: the case for
sharing ED data (the Cardiff Model).</p>
{% for name in ['by_age_band', 'by_weapon', 'by_local_authority', 'by_area'] %}{% if 'ed_only_' + name in tables %}
<h3>{{ name.replace('_', ' ') }}</h3>{{ tables['ed_only_' + name] }}{% endif %}{% endfor %}
</section>

<section><h2>4. Who, within capacity</h2>
{% if r.who %}<p>Scores of model {{ r.who.model.name }} version {{ r.who.model.version }}
({{ r.who.model.alias or 'pinned version' }}) on everyone aged 10-24 on {{ info.as_of }}.
{% if r.who.model.notice %}<b>{{ r.who.model.notice }}</b>{% endif %}</p>
{{ tables.who_by_band }}{{ tables.who_by_local_authority }}
<p class="est">Estimates: expected recorded episodes in the next 12 months are sums of calibrated probabilities.
Top k: the k highest scores; eligible: aged {{ r.config.capacity.cirv_min_age }}+ and living in the area
({{ r.who.assumptions.area }}), as the Community Initiative to Reduce Violence requires.</p>
{{ tables.who_capacity }}
{% else %}<p>Not computed (see above).</p>{% endif %}
</section>

<section><h2>5. Cost</h2>
{% if r.who %}<div class="est"><b>Estimates, with their assumptions.</b>
Unit cost: {{ cost.unit_cost.statement() }}.
Expected violence-with-injury episodes = expected episodes x {{ '%.3f' % r.who.assumptions.vwi_share }}
({{ r.who.assumptions.vwi_share_definition }}). Break-even: the relative reduction in violence with injury among the
top k that repays GBP {{ '{:,.0f}'.format(cost.intervention_cost_per_head) }} per head
(who_capacity.csv, break_even_reduction); above 1 the intervention cannot repay itself through the
cost of recorded violence with injury alone, whatever its effect.</div>
{{ tables.cost_by_band }}
{% else %}<p>Not computed (see above).</p>{% endif %}
</section>
{% if r.notes %}<h2>Notes</h2><ul>{% for n in r.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""
