"""The impact report for commissioners and the Police and Crime Board: JSON and HTML."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np

from evaluation.config import ImpactConfig
from evaluation.impact import ImpactResult

REPORT_JSON = "impact.json"
REPORT_HTML = "impact.html"
BALANCE_CSV = "balance.csv"
OVERLAP_PNG = "overlap.png"
INTERVALS = (
    "Intervals: naive, ipw and aipw from a bootstrap of young people (all of a person's referrals "
    "together), repeating the models and the trimming in every resample; prognostic matching from the "
    "Abadie-Imbens variance, as matching with replacement has no valid plain bootstrap."
)
QUESTIONS = {
    "engaged": "What did engaging with the programme change in recorded serious violence in the 12 months "
    "after referral, for the young people who engaged?",
    "referred": "What did being referred change in recorded serious violence in the following 12 months, "
    "for the young people referred, against young people at similar risk who were never referred?",
}
ASSUMPTIONS = (
    "Everything that made some young people engage and also affects their risk is in the records used "
    "(point-in-time features on the referral date, referral source, recorded sex and age). Anything else "
    "that drives both (peers, motivation, family support) is not adjusted for: see the sensitivity analysis.",
    "Engagement is recorded when it first happens (engaged_on); how much support followed is not measured.",
    "Outcome: recorded serious violence (victim or suspect, or an ED assault attendance) in the 12 months "
    "after the referral. Records miss some episodes and contain some errors; recording may differ by group.",
    "The estimate is for the treated people (engaged, or referred) kept after trimming, not for everyone.",
    "One young person's engagement does not change another's outcome.",
)


def report_payload(result: ImpactResult, config: ImpactConfig, source: str) -> dict:
    """The JSON report: estimates, intervals, population, trimming, balance, sensitivity, money."""
    aipw = result.estimates["aipw"]
    cost = config.unit_cost
    who = result.population["treated_are"]

    def per_100(value: float) -> float:
        return -100.0 * value  # episodes prevented per 100 treated (positive = fewer episodes)

    prevented = {key: per_100(aipw[key]) for key in ("estimate", "low", "high")}
    prevented["low"], prevented["high"] = sorted((prevented["low"], prevented["high"]))
    # The unit cost is per violence-with-injury offence: only that share of the episodes is priced.
    share = result.pricing["violence_with_injury_share"]
    money = {key: value * share * cost.uprated_gbp for key, value in prevented.items()}
    balance = result.balance
    return {
        "source": source,
        "question": QUESTIONS[result.population["treatment"]],
        "treatment": result.population["treatment"],
        "effect_measure": f"average effect on the {who} (ATT), risk difference in recorded serious violence",
        "population": result.population,
        "trimming": result.trimming,
        "estimates": result.estimates,
        "headline_estimator": "aipw",
        "intervals": INTERVALS,
        "episodes_prevented_per_100_treated": prevented,
        "value_per_100_treated_gbp": money,
        "unit_cost": {**cost.model_dump(), "uprated_gbp": cost.uprated_gbp, "statement": cost.statement()},
        "pricing": result.pricing,
        "balance": {
            "max_abs_smd_before": float(np.abs(balance["smd_before"]).max()),
            "max_abs_smd_after_weighting": float(np.abs(balance["smd_after_weighting"]).max()),
            "table": BALANCE_CSV,
        },
        "sensitivity": result.sensitivity,
        "assumptions": list(ASSUMPTIONS),
        "config": config.model_dump(),
    }


def overlap_png(result: ImpactResult) -> bytes:
    """Histograms of the engagement propensity by arm, with the trimming bounds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    bins = np.linspace(0, 1, 41)
    ax.hist(result.propensity[result.treated == 0], bins=bins, alpha=0.6, density=True, label=result.population["comparison_are"])
    ax.hist(result.propensity[result.treated == 1], bins=bins, alpha=0.6, density=True, label=result.population["treated_are"])
    for bound in (result.trimming["lower"], result.trimming["upper"]):
        ax.axvline(bound, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel(f"probability of being {result.population['treated_are']}, given the records")
    ax.set_ylabel("density")
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def write_report(result: ImpactResult, config: ImpactConfig, out: Path, source: str) -> list[Path]:
    """impact.json, impact.html (overlap plot inline), balance.csv and overlap.png in ``out``."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    out.mkdir(parents=True, exist_ok=True)
    payload = report_payload(result, config, source)
    json_path = out / REPORT_JSON
    json_path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    balance_path = out / BALANCE_CSV
    result.balance.to_csv(balance_path, index=False, float_format="%.4f", lineterminator="\n")
    png = overlap_png(result)
    png_path = out / OVERLAP_PNG
    png_path.write_bytes(png)
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html", "j2"])
    )
    worst = result.balance.reindex(
        result.balance["smd_before"].abs().sort_values(ascending=False).index
    ).head(10)
    html = env.get_template("report.html.j2").render(
        r=payload, balance=worst.to_dict("records"), overlap=base64.b64encode(png).decode("ascii")
    )
    html_path = out / REPORT_HTML
    html_path.write_text(html, encoding="utf-8")
    return [json_path, html_path, balance_path, png_path]
