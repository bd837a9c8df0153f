"""Reviews belong to the scoring (issue 21 item 6), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import threading

import httpx
import pytest

from serving.api_keys import Principal
from serving.audit_trail import AuditTrail, ScoreRow, new_audit_id, utc_now
from serving.errors import NotYourScoring, ReviewAlreadyRecorded
from serving.reviews import ReviewRequest, record_review

PAT = Principal(name="pat", role="practitioner")
SAM = Principal(name="sam", role="practitioner")
ADMIN = Principal(name="ada", role="admin")


def _scored(trail: AuditTrail, caller: str = "pat") -> str:
    row = ScoreRow(audit_id=new_audit_id(), created_at=utc_now(), caller=caller, role="practitioner",
                   person_id="P1", as_of=dt.date(2024, 4, 1), model_version="2", probability=0.2, band=8)  # fmt: skip
    trail.append_scores([row])
    return row.audit_id


def _review(audit_id: str, supersedes: str | None = None, decision: str = "agree") -> ReviewRequest:
    return ReviewRequest(audit_id=audit_id, decision=decision, reason="seen", supersedes=supersedes)


@pytest.fixture
def trail(trail_url: str) -> AuditTrail:
    trail = AuditTrail(trail_url)
    trail.create_schema()
    yield trail
    trail.dispose()


def test_reviews_only_the_scorings_caller_or_an_admin(trail: AuditTrail) -> None:
    audit_id = _scored(trail)
    with pytest.raises(NotYourScoring) as refused:
        record_review(trail, _review(audit_id), SAM)
    assert refused.value.error_code == 403 and trail.reviews() == []
    assert record_review(trail, _review(audit_id), PAT).caller == "pat"
    other = _scored(trail, caller="sam")
    assert record_review(trail, _review(other), ADMIN).caller == "ada"  # admin is exempt


def test_reviews_a_second_review_supersedes_never_edits(trail: AuditTrail) -> None:
    audit_id = _scored(trail)
    first = record_review(trail, _review(audit_id), PAT)
    with pytest.raises(ReviewAlreadyRecorded) as twice:
        record_review(trail, _review(audit_id, decision="escalate"), PAT)
    assert twice.value.error_code == 409 and "supersedes" in twice.value.message
    second = record_review(trail, _review(audit_id, supersedes=first.review_id, decision="escalate"), PAT)
    assert second.supersedes == first.review_id
    with pytest.raises(ReviewAlreadyRecorded, match="not the latest"):  # the first is superseded already
        record_review(trail, _review(audit_id, supersedes=first.review_id), PAT)
    with pytest.raises(ReviewAlreadyRecorded, match="no review to supersede"):
        record_review(trail, _review(_scored(trail), supersedes=first.review_id), PAT)
    listed = {r["review_id"]: r for r in trail.reviews()}
    assert listed[first.review_id]["superseded_by"] == second.review_id  # the first row is unchanged
    assert listed[first.review_id]["decision"] == "agree" and listed[second.review_id]["superseded_by"] is None
    assert trail.verify() == []


def test_reviews_two_workers_cannot_both_review_first(trail: AuditTrail) -> None:
    audit_id = _scored(trail)
    workers = [AuditTrail(trail.url) for _ in range(4)]
    outcomes: list[str] = []

    def review(worker: AuditTrail) -> None:
        try:
            record_review(worker, _review(audit_id), PAT)
            outcomes.append("stored")
        except ReviewAlreadyRecorded:
            outcomes.append("refused")

    threads = [threading.Thread(target=review, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused"] * 3 + ["stored"] and len(trail.reviews()) == 1
    for worker in workers:
        worker.dispose()


def test_reviews_reading_reviews_and_the_model_is_recorded(served, cases) -> None:
    trail = AuditTrail(served.audit_db)
    before = len(trail.accesses())
    scored = httpx.post(served.url + "/score", json=cases[5], headers=served.headers("practitioner"), timeout=60)
    audit_id = scored.json()["audit_id"]
    review = {"audit_id": audit_id, "decision": "agree", "reason": "zqx-access-reason"}
    mine = httpx.post(served.url + "/reviews", json=review, headers=served.headers("practitioner"), timeout=60)
    assert mine.status_code == 201, mine.text
    again = httpx.post(served.url + "/reviews", json=review, headers=served.headers("practitioner"), timeout=60)
    assert again.status_code == 409 and "supersedes" in again.json()["error"]
    replaced = httpx.post(served.url + "/reviews", json={**review, "supersedes": mine.json()["review_id"]},
                          headers=served.headers("practitioner"), timeout=60)  # fmt: skip
    assert replaced.status_code == 201 and replaced.json()["supersedes"] == mine.json()["review_id"]
    listed = httpx.get(served.url + "/reviews", headers=served.headers("ethics_panel"), timeout=60).json()["reviews"]
    by_id = {r["review_id"]: r for r in listed}
    assert by_id[mine.json()["review_id"]]["superseded_by"] == replaced.json()["review_id"]
    httpx.get(served.url + "/model", headers=served.headers("data_scientist"), timeout=60)
    accesses = trail.accesses()[before:]
    assert [(a["caller"], a["resource"]) for a in accesses] == [("test-ethics_panel", "GET /reviews"),
                                                                ("test-data_scientist", "GET /model")]
    assert accesses[0]["row_count"] == len(listed) and accesses[1]["row_count"] == 1
    assert "zqx-access-reason" not in str(accesses)  # who and how many, never what
    assert trail.verify() == []
    trail.dispose()
