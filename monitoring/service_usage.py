"""Practitioners' reviews and service volumes, from the service's audit trail (no personal data).

The trail holds, per scored case, the band, the caller's role and the case's
audit attributes (serving/audit_trail.py), never its records; reviews refer
to a scoring by ``audit_id``. This reads both and reports only counts and
rates: cases scored per week by role and local authority, and disagreement
and escalation rates by band, local authority and protected group, with
Wilson 95% intervals, and the time from score to review.

Every published count is under the partnership's disclosure control
(``extract.disclosure``, the needs assessment's rule, with the monitoring
policy's ``disclosure.suppression_threshold``): a count below the threshold is
suppressed (``None``), with secondary suppression so that no suppressed count
can be recovered from a published total, and a rate is never shown for a
suppressed count, its complement or its denominator. Findings are judged on
the full counts; a finding about a suppressed group says so without numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from extract.disclosure import suppression_mask
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
                         ["review_id", "audit_id", "created_at", "decision", "role", "superseded_by"])
        # A practitioner who changed their mind left two rows: only the standing decision counts.
        reviews = reviews[reviews["superseded_by"].isna()]
    finally:
        trail.dispose()
    threshold = policy.disclosure.suppression_threshold
    rates = review_rates(scorings, reviews, policy, confidence)
    return {"suppression_threshold": threshold, "volumes": volumes(scorings, threshold),
            "reviews": protect_reviews(rates, threshold), "findings": review_findings(rates, threshold)}


def _published(count: int, hidden: bool) -> int | None:
    return None if hidden else int(count)


def volumes(scorings: pd.DataFrame, threshold: int) -> dict[str, Any]:
    """Cases scored per ISO week (Monday) by role and local authority, and per week, disclosure-controlled.

    The total and each week's total are published (the chart), so cells are
    protected within their week and weeks within the total; a week whose total
    is suppressed has every cell suppressed, so its cells cannot add up to it.
    """
    if scorings.empty:
        return {"total": 0, "weekly": [], "weekly_totals": []}
    created = pd.to_datetime(scorings["created_at"], utc=True)
    week = (created.dt.tz_localize(None).dt.normalize() - pd.to_timedelta(created.dt.day_of_week, unit="D"))
    frame = pd.DataFrame({"week": week.dt.strftime("%Y-%m-%d"), "role": scorings["role"],
                          "local_authority": scorings["local_authority"].fillna(NOT_RECORDED)})
    counts = frame.groupby(["week", "role", "local_authority"], sort=True).size().reset_index(name="cases")
    weeks = counts.groupby("week", sort=True)["cases"].sum()
    week_hidden = pd.Series(suppression_mask(weeks.to_numpy(), threshold), index=weeks.index)
    cell_hidden = (suppression_mask(counts["cases"].to_numpy(), threshold, groups=counts["week"].to_numpy())
                   | week_hidden.loc[counts["week"]].to_numpy())
    total = int(len(scorings))
    return {
        "total": _published(total, total < threshold),
        "weekly": [{"week": r.week, "role": r.role, "local_authority": r.local_authority,
                    "cases": _published(r.cases, hidden)}
                   for r, hidden in zip(counts.itertuples(index=False), cell_hidden, strict=True)],
        "weekly_totals": [{"week": w, "cases": _published(c, week_hidden[w])} for w, c in weeks.items()],
    }


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
    return {"reviews": n, "disagree": disagree, "escalate": escalate, "disagree_rate": disagree / n if n else None,
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


def _protect_rows(rows: list[dict[str, Any]], threshold: int) -> list[dict[str, Any]]:
    """Rows of one table (whose total is published) with small counts and their rates suppressed."""
    if not rows:
        return []
    n = np.array([r["reviews"] for r in rows], dtype=np.int64)
    hidden_n = suppression_mask(n, threshold)
    out = [{**r, "reviews": _published(r["reviews"], h)} for r, h in zip(rows, hidden_n, strict=True)]
    for name in ("disagree", "escalate"):
        events = np.array([r[name] for r in rows], dtype=np.int64)
        # The count and its complement (reviews less the count) both follow from a published rate.
        hidden = suppression_mask(np.stack([events, n - events], axis=1), threshold) | hidden_n
        for row, h in zip(out, hidden, strict=True):
            if h:
                row.update({f"{name}_rate": None, f"{name}_ci": [None, None]})
            del row[name]
    return out


def protect_reviews(rates: dict[str, Any], threshold: int) -> dict[str, Any]:
    """``review_rates``' answer as published: every table disclosure-controlled, the raw counts dropped."""
    if not rates["total"]:
        return rates
    small = rates["total"] < threshold
    overall = _protect_rows([rates["overall"]], threshold)[0] if not small else {
        "reviews": None, "disagree_rate": None, "disagree_ci": [None, None], "escalate_rate": None,
        "escalate_ci": [None, None]}
    decisions = rates["decisions"]
    hidden = suppression_mask(np.array(list(decisions.values()), dtype=np.int64), threshold) if decisions else []
    return {
        "total": _published(rates["total"], small), "overall": overall,
        "by": [{"by": s["by"], "rows": _protect_rows(s["rows"], threshold)} for s in rates["by"]],
        "median_hours_to_review": None if small else rates["median_hours_to_review"],
        "decisions": {k: _published(v, h) for (k, v), h in zip(decisions.items(), hidden, strict=True)},
    }


def review_findings(rates: dict[str, Any], threshold: int) -> list[dict[str, Any]]:
    """A WARN for every group (in ``review_rates``' answer) whose practitioners disagree far more often.

    Judged on the full counts; the message gives the rate only where the
    published table does (``protect_reviews``).
    """
    published = protect_reviews(rates, threshold)
    found = []
    for section, shown in zip(rates["by"], published["by"], strict=True):
        for row, public in zip(section["rows"], shown["rows"], strict=True):
            if row["status"] != WARN:
                continue
            overall = published["overall"]["disagree_rate"]
            against = f" against {overall:.0%} overall" if overall is not None else ""
            if public["disagree_rate"] is None or public["reviews"] is None:
                message = (f"practitioners disagree with scores for {section['by']} {row['group']} far more often "
                           f"than overall (the lower end of the 95% interval of its rate is above the policy's "
                           f"ratio to the overall rate); its counts are too small to publish")
            else:
                message = (f"practitioners disagree with {public['disagree_rate']:.0%} of scores for {section['by']} "
                           f"{row['group']} (95% CI {public['disagree_ci'][0]:.0%}-{public['disagree_ci'][1]:.0%}, "
                           f"{public['reviews']} reviews){against}")
            found.append({"subject": f"{section['by']}={row['group']}", "status": WARN, "message": message})
    return found
