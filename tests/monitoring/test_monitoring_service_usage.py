"""Reviews and volumes from an audit trail: rates with intervals by group, a group disagreed with far more often."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from monitoring.policy import load_policy
from monitoring.service_usage import service_usage
from serving.audit_trail import AuditTrail, ScoreRow, new_audit_id


@pytest.fixture
def trail_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    trail = AuditTrail(url)
    trail.create_schema()
    start = dt.datetime(2024, 4, 1, 9, tzinfo=dt.UTC)
    rows, reviews = [], []
    rng = np.random.default_rng(0)
    for i in range(400):
        la = "coventry" if i % 2 else "walsall"
        ethnicity = "asian" if rng.random() < 0.15 else "white"
        row = ScoreRow(new_audit_id(), start + dt.timedelta(hours=6 * i), "key", "practitioner" if i % 3 else "admin",
                       f"p{i}", dt.date(2024, 4, 1), "1", 0.01, 1 + i % 10, sex="male", ethnicity=ethnicity,
                       age_band="16-17", sen="none", imd_decile=1 + i % 10, local_authority=la)
        rows.append(row)
        # Practitioners disagree with every score for the asian group and with 1 in 10 of the rest.
        draw = rng.random()
        decision = "disagree" if ethnicity == "asian" or draw < 0.1 else ("escalate" if draw < 0.15 else "agree")
        reviews.append({"review_id": new_audit_id(), "audit_id": row.audit_id,
                        "created_at": row.created_at + dt.timedelta(hours=2), "caller": "key", "role": "practitioner",
                        "decision": decision, "reason": "r", "practitioner_band": 5 if decision == "disagree" else None,
                        "model_version": "1"})
    trail.append_scores(rows)
    for review in reviews:
        trail.append_review(review)
    trail.dispose()
    return url


def test_volumes_reviews_and_a_group_finding(trail_url):
    usage = service_usage(trail_url, load_policy())
    threshold = usage["suppression_threshold"]
    assert threshold == load_policy().disclosure.suppression_threshold == 10
    assert usage["volumes"]["total"] == 400
    assert {r["role"] for r in usage["volumes"]["weekly"]} == {"practitioner", "admin"}
    assert all(set(r) == {"week", "role", "local_authority", "cases"} for r in usage["volumes"]["weekly"])
    reviews = usage["reviews"]
    assert reviews["total"] == 400 and reviews["median_hours_to_review"] == pytest.approx(2.0)
    by = {s["by"]: {r["group"]: r for r in s["rows"]} for s in reviews["by"]}
    asian = by["ethnicity"]["asian"]
    # Every asian-group score was disagreed with: no other decision, a complement of 0, so the rate
    # would reveal a count under the threshold; the finding stands, without numbers.
    assert asian["status"] == "warn" and asian["reviews"] >= threshold
    assert asian["disagree_rate"] is None and asian["disagree_ci"] == [None, None]
    # With two groups, the other one's count would give asian's as the overall less it: hidden too.
    white = by["ethnicity"]["white"]
    assert white["status"] == "ok" and white["disagree_rate"] is None and white["reviews"] is not None
    overall = reviews["overall"]
    assert overall["disagree_rate"] == pytest.approx(0.23, abs=0.05) and overall["disagree_ci"][0] is not None
    assert set(by["band"]) == {str(b) for b in range(1, 11)}
    assert [f["subject"] for f in usage["findings"]] == ["ethnicity=asian"]
    assert "too small to publish" in usage["findings"][0]["message"]
    assert not {"disagree", "escalate"} & set(asian), "raw counts are not published"


def test_small_counts_are_suppressed_and_cannot_be_recovered(trail_url):
    usage = service_usage(trail_url, load_policy())
    threshold = usage["suppression_threshold"]
    weekly, totals = usage["volumes"]["weekly"], usage["volumes"]["weekly_totals"]
    assert all(r["cases"] is None or r["cases"] >= threshold for r in weekly + totals)
    assert any(r["cases"] is None for r in weekly), "6-hourly scorings split by role and area: small cells"
    published_total = {r["week"]: r["cases"] for r in totals}
    for week, total in published_total.items():
        cells = [r["cases"] for r in weekly if r["week"] == week]
        hidden = [c for c in cells if c is None]
        if total is None:
            assert len(hidden) == len(cells), "a suppressed week shows none of its cells"
        else:
            assert len(hidden) != 1, "one hidden cell would be the week's total less the others"
            if hidden:
                assert total - sum(c for c in cells if c is not None) >= threshold
    hidden_weeks = [w for w, t in published_total.items() if t is None]
    assert len(hidden_weeks) != 1
    for section in usage["reviews"]["by"]:
        for row in section["rows"]:
            if row["reviews"] is None:
                assert row["disagree_rate"] is None and row["escalate_rate"] is None
            for name in ("disagree", "escalate"):
                if row[f"{name}_rate"] is not None:
                    events = round(row[f"{name}_rate"] * row["reviews"])
                    assert events >= threshold and row["reviews"] - events >= threshold
    assert all(v is None or v >= threshold for v in usage["reviews"]["decisions"].values())


def test_an_empty_trail_and_a_wrong_database(tmp_path, trail_url):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    AuditTrail(empty).create_schema()
    usage = service_usage(empty, load_policy())
    assert usage["volumes"]["total"] == 0 and usage["reviews"]["total"] == 0 and usage["findings"] == []
    with pytest.raises(ValueError, match="no table of scorings"):
        service_usage(f"sqlite:///{tmp_path / 'other.db'}", load_policy())


def test_the_report_shows_suppressed_counts_as_marks_never_as_none(trail_url):
    from extract.disclosure import SUPPRESSED_MARK
    from monitoring.report import render_html

    usage = service_usage(trail_url, load_policy())
    document = {
        "model": {"name": "svrisk", "version": "1", "alias": "champion", "run_id": "r",
                  "reference_as_of": ["2022-04-01"], "labels_observed_until": "2023-04-01"},
        "extract": {"source": "x", "extracted_on": "2025-03-31"}, "periods": ["2024-04-01"],
        "matured_periods": [], "policy_version": "1.1", "fairness_policy_version": "1.0",
        "created_at": "2026-12-02T08:00:00+00:00", "status": "warn", "notices": [], "no_matured_period": None,
        "findings": [{**f, "analysis": "reviews", "action": "investigate", "periods": []} for f in usage["findings"]],
        "actions": [], "input_drift": [], "score_drift": [], "performance": [], "fairness": [], "label_bias": [],
        "service": usage, "seconds": {},
    }
    html = render_html(document)
    assert SUPPRESSED_MARK in html and "too small to publish" in html
    assert ">None<" not in html


def test_a_superseded_review_is_counted_once_with_its_standing_decision(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    trail = AuditTrail(url)
    trail.create_schema()
    at = dt.datetime(2024, 4, 1, 9, tzinfo=dt.UTC)
    rows = [ScoreRow(new_audit_id(), at, "key", "practitioner", f"p{i}", dt.date(2024, 4, 1), "1", 0.01, 3)
            for i in range(30)]
    trail.append_scores(rows)
    for row in rows:
        first = {"review_id": new_audit_id(), "audit_id": row.audit_id, "created_at": at + dt.timedelta(hours=1),
                 "caller": "key", "role": "practitioner", "decision": "agree", "reason": "r",
                 "practitioner_band": None, "model_version": "1"}
        trail.append_review(first)
        # Every practitioner later changes their mind: a new row that supersedes the first.
        trail.append_review({**first, "review_id": new_audit_id(), "created_at": at + dt.timedelta(hours=3),
                             "decision": "disagree", "practitioner_band": 5, "supersedes": first["review_id"]})
    trail.dispose()
    overall = service_usage(url, load_policy())["reviews"]["overall"]
    assert overall["reviews"] == 30
    # All 30 now disagree: the rate's complement is 0, under the threshold, so it is withheld;
    # counted twice it would have been 0.5 and published.
    assert overall["disagree_rate"] is None or overall["disagree_rate"] == 1.0
