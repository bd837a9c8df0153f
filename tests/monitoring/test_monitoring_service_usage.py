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
    assert usage["volumes"]["total"] == 400
    assert sum(r["cases"] for r in usage["volumes"]["weekly"]) == 400
    assert {r["role"] for r in usage["volumes"]["weekly"]} == {"practitioner", "admin"}
    assert all(set(r) == {"week", "role", "local_authority", "cases"} for r in usage["volumes"]["weekly"])
    reviews = usage["reviews"]
    assert reviews["total"] == 400 and reviews["median_hours_to_review"] == pytest.approx(2.0)
    by = {s["by"]: {r["group"]: r for r in s["rows"]} for s in reviews["by"]}
    asian = by["ethnicity"]["asian"]
    assert asian["disagree_rate"] == 1.0 and asian["disagree_ci"][0] > 0.9 and asian["status"] == "warn"
    assert by["ethnicity"]["white"]["status"] == "ok"
    assert set(by["band"]) == {str(b) for b in range(1, 11)}
    assert [f["subject"] for f in usage["findings"]] == ["ethnicity=asian"]


def test_an_empty_trail_and_a_wrong_database(tmp_path, trail_url):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    AuditTrail(empty).create_schema()
    usage = service_usage(empty, load_policy())
    assert usage["volumes"]["total"] == 0 and usage["reviews"]["total"] == 0 and usage["findings"] == []
    with pytest.raises(ValueError, match="no table of scorings"):
        service_usage(f"sqlite:///{tmp_path / 'other.db'}", load_policy())
