"""Practitioners' reviews and service volumes, from the service's audit trail (no personal data).

The trail holds, per scored case, the band, the caller's role and the case's
audit attributes (serving/audit_trail.py), never its records; reviews refer
to a scoring by ``audit_id``. This reads both and reports only counts and
rates: cases scored per week by role and local authority, and disagreement
and escalation rates by band, local authority and protected group, with
Wilson 95% intervals, and the time from score to review.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitoring.outcomes import OK, WARN, wilson_interval
from serving.audit_trail import AUDIT_ATTRIBUTE_COLUMNS

REVIEW_GROUPS = ("band", *AUDIT_ATTRIBUTE_COLUMNS)
NOT_RECORDED = "not recorded"
NO_TRAIL = "the audit trail {url} holds no table of scorings: is it the service's SVRISK_AUDIT_DB?"


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if not rows else pd.DataFrame(rows)


def service_usage(url: str, policy: Any, confidence: float = 0.95) -> dict[str, Any]:
    """Volumes and review rates from the audit trail at ``url``; ``policy`` is the monitoring policy."""
    import sqlalchemy as sa

    from serving.audit_trail import SCORES, AuditTrail

    trail = AuditTrail(url)
    try:
        if not sa.inspect(trail.engine).has_table(SCORES.name):
            raise ValueError(NO_TRAIL.format(url=url))
        scorings = _frame(trail.scorings(), [c.name for c in SCORES.columns])
        reviews = _frame(trail.reviews(limit=np.iinfo(np.int64).max),
                         ["review_id", "audit_id", "created_at", "decision", "role"])
    finally:
        trail.dispose()
    rates = review_rates(scorings, reviews, policy, confidence)
    return {"volumes": volumes(scorings), "reviews": rates, "findings": review_findings(rates)}


def volumes(scorings: pd.DataFrame) -> dict[str, Any]:
    """Cases scored per ISO week (Monday) by role and local authority."""
    if scorings.empty:
        return {"total": 0, "weekly": []}
    created = pd.to_datetime(scorings["created_at"], utc=True)
    week = (created.dt.tz_localize(None).dt.normalize() - pd.to_timedelta(created.dt.day_of_week, unit="D"))
    frame = pd.DataFrame({"week": week.dt.strftime("%Y-%m-%d"), "role": scorings["role"],
                          "local_authority": scorings["local_authority"].fillna(NOT_RECORDED)})
    counts = frame.groupby(["week", "role", "local_authority"], sort=True).size().reset_index(name="cases")
    return {"total": int(len(scorings)), "weekly": counts.to_dict(orient="records")}


def _joined(scorings: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    scored = scorings[["audit_id", "created_at", *REVIEW_GROUPS]].rename(columns={"created_at": "scored_at"})
    joined = reviews.merge(scored, on="audit_id", how="inner")
    for column in REVIEW_GROUPS:
        joined[column] = joined[column].astype(object).where(joined[column].notna(), NOT_RECORDED).astype(str)
    return joined


def _rates(part: pd.DataFrame, confidence: float) -> dict[str, Any]:
    n = len(part)
    disagree = int((part["decision"] == "disagree").sum())
    escalate = int((part["decision"] == "escalate").sum())
    return {"reviews": n, "disagree_rate": disagree / n if n else None,
            "disagree_ci": list(wilson_interval(disagree, n, confidence)),
            "escalate_rate": escalate / n if n else None,
            "escalate_ci": list(wilson_interval(escalate, n, confidence))}


def review_rates(scorings: pd.DataFrame, reviews: pd.DataFrame, policy: Any, confidence: float) -> dict[str, Any]:
    """Overall and per-group disagreement and escalation rates, and hours from score to review."""
    if reviews.empty or scorings.empty:
        return {"total": 0, "by": [], "median_hours_to_review": None}
    joined = _joined(scorings, reviews)
    overall = _rates(joined, confidence)
    hours = (pd.to_datetime(joined["created_at"], utc=True)
             - pd.to_datetime(joined["scored_at"], utc=True)).dt.total_seconds() / 3600.0
    limit = policy.reviews.max_disagreement_ratio * (overall["disagree_rate"] or 0.0)
    sections = []
    for column in REVIEW_GROUPS:
        rows = []
        for group, part in joined.groupby(column, sort=True):
            rates = _rates(part, confidence)
            finding = (rates["reviews"] >= policy.reviews.minimum_reviews and overall["disagree_rate"]
                       and rates["disagree_ci"][0] > limit)
            rows.append({"group": str(group), **rates, "status": WARN if finding else OK})
        sections.append({"by": column, "rows": rows})
    return {"total": int(len(joined)), "overall": overall, "by": sections,
            "median_hours_to_review": float(np.median(hours)) if len(hours) else None,
            "decisions": joined["decision"].value_counts().sort_index().to_dict()}


def review_findings(rates: dict[str, Any]) -> list[dict[str, Any]]:
    """A WARN for every group (in ``review_rates``' answer) whose practitioners disagree far more often."""
    found = []
    for section in rates["by"]:
        for row in section["rows"]:
            if row["status"] == WARN:
                found.append({"subject": f"{section['by']}={row['group']}", "status": WARN, "message": (
                    f"practitioners disagree with {row['disagree_rate']:.0%} of scores for {section['by']} "
                    f"{row['group']} (95% CI {row['disagree_ci'][0]:.0%}-{row['disagree_ci'][1]:.0%}, "
                    f"{row['reviews']} reviews) against {rates['overall']['disagree_rate']:.0%} overall")})
    return found
