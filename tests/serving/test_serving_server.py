"""The real service over HTTP: a published champion behind `bentoml serve` on 127.0.0.1."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from served_model import MAX_BYTES
from serving.audit_trail import AuditTrail
from serving.service import NOTICE

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _post(served, path: str, body, role: str = "admin", **kwargs) -> httpx.Response:
    return httpx.post(served.url + path, json=body, headers=served.headers(role), timeout=60, **kwargs)


def test_serving_score_returns_an_explained_audited_case(served, cases) -> None:
    response = _post(served, "/score", cases[0], role="practitioner")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["person_id"] == cases[0]["person"]["person_id"]
    assert body["as_of"] == cases[0]["as_of"]
    assert 0 < body["probability"] < 1
    assert 1 <= body["band"] <= 10 and 0 <= body["percentile"] <= 100
    assert body["model_version"] == "1" and body["notice"] == NOTICE
    explanation = body["explanation"]
    assert explanation["raising"] or explanation["lowering"]
    for factor in explanation["raising"]:
        assert factor["sentence"] and factor["contribution"] > 0
    for factor in explanation["lowering"]:
        assert factor["sentence"] and factor["contribution"] < 0
    row = AuditTrail(served.audit_db).score_row(body["audit_id"])
    assert row is not None
    assert (row.caller, row.role, row.person_id, row.as_of.isoformat()) == (
        "test-practitioner", "practitioner", body["person_id"], body["as_of"],
    )
    assert (row.model_version, row.band) == ("1", body["band"])
    assert row.probability == pytest.approx(body["probability"], abs=1e-12)
    person = cases[0]["person"]
    # The case's audit attributes for equality monitoring (issue 15), never its records.
    assert (row.sex, row.ethnicity, row.sen, row.local_authority) == (
        person["sex"], person["ethnicity"], person["sen"], person["local_authority"])
    assert row.age_band and row.imd_decile == person["imd_decile"]


def test_serving_batch_matches_single_scores_in_order(served, cases) -> None:
    batch = cases[:12]
    response = _post(served, "/score_batch", {"cases": batch}, role="data_scientist")
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["person_id"] for r in results] == [c["person"]["person_id"] for c in batch]
    assert len({r["audit_id"] for r in results}) == len(batch)
    single = _post(served, "/score", batch[3]).json()
    assert results[3]["probability"] == pytest.approx(single["probability"], abs=1e-12)
    assert results[3]["explanation"] == single["explanation"]


def _review_own_scoring(served, case: dict, review: dict, role: str) -> httpx.Response:
    # Reviews belong to the scoring (issue 21 item 6): a role that may score reviews its own.
    scorer = role if role in ("practitioner", "admin") else "admin"
    audit_id = _post(served, "/score", case, role=scorer).json()["audit_id"]
    return _post(served, "/reviews", {**review, "audit_id": audit_id}, role=role)


def test_serving_roles_and_keys(served, cases) -> None:
    audit_id = _post(served, "/score", cases[1]).json()["audit_id"]
    review = {"audit_id": audit_id, "decision": "agree", "reason": "matches what I know"}
    calls = {
        "score": lambda role: _post(served, "/score", cases[1], role=role),
        "score_batch": lambda role: _post(served, "/score_batch", {"cases": cases[:1]}, role=role),
        "model": lambda role: httpx.get(served.url + "/model", headers=served.headers(role)),
        "review_write": lambda role: _review_own_scoring(served, cases[1], review, role),
        "review_read": lambda role: httpx.get(served.url + "/reviews", headers=served.headers(role)),
    }
    allowed = {
        "practitioner": {"score", "review_write"},
        "data_scientist": {"model", "score_batch"},
        "ethics_panel": {"review_read", "model"},
        "admin": set(calls),
    }
    for role, permitted in allowed.items():
        for name, call in calls.items():
            status = call(role).status_code
            if name in permitted:
                assert status in (200, 201), (role, name, status)
            else:
                assert status == 403, (role, name, status)
    for path in ("/score", "/score_batch", "/reviews"):
        missing = httpx.post(served.url + path, json={})
        assert missing.status_code == 401 and "X-API-Key" in missing.json()["error"]
    wrong = httpx.get(served.url + "/model", headers={"X-API-Key": "not-a-key"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "unknown API key"
    forbidden = _post(served, "/score", cases[1], role="ethics_panel")
    assert "may not score" in forbidden.json()["error"]
    for path in ("/healthz", "/readyz", "/livez", "/metrics"):
        assert httpx.get(served.url + path).status_code == 200


def test_serving_model_information(served) -> None:
    info = httpx.get(served.url + "/model", headers=served.headers("data_scientist")).json()
    assert info["version"] == "1" and info["alias"] == "champion"
    assert info["trained_at"] and info["run_id"]
    assert info["outcome_definition"]["horizon_days"] == 365
    assert "365 days" in info["outcome_definition"]["description"]
    assert info["gate"]["passed"] == "true" and info["gate"]["approver"] == "svrisk tests"
    assert info["fairness_report"]
    assert info["metrics"]
    bands = info["bands"]
    assert [b["band"] for b in bands] == list(range(1, 11))
    cutoffs = [b["upper"] for b in bands[:-1]]
    assert cutoffs == sorted(cutoffs) and bands[0]["lower"] is None
    assert info["notice"] == NOTICE


def test_serving_reviews_reference_audited_scores(served, cases) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    audit_id = _post(served, "/score", cases[2], role="practitioner").json()["audit_id"]
    review = {"audit_id": audit_id, "decision": "disagree", "reason": "recent change", "practitioner_band": 9}
    created = _post(served, "/reviews", review, role="practitioner")
    assert created.status_code == 201, created.text
    assert created.json()["model_version"] == "1" and created.json()["caller"] == "test-practitioner"
    unknown = _post(served, "/reviews", {**review, "audit_id": str(uuid.uuid4())}, role="practitioner")
    assert unknown.status_code == 404 and "audit_id" in unknown.text
    no_band = _post(served, "/reviews", {**review, "practitioner_band": None}, role="practitioner")
    assert no_band.status_code == 422 and "practitioner_band" in no_band.text
    bad_decision = _post(served, "/reviews", {**review, "decision": "maybe"}, role="practitioner")
    assert bad_decision.status_code == 422 and "decision" in bad_decision.text
    listed = httpx.get(
        served.url + "/reviews",
        params={"since": start.isoformat(), "decision": "disagree", "model_version": "1"},
        headers=served.headers("ethics_panel"),
    )
    assert listed.status_code == 200
    mine = [r for r in listed.json()["reviews"] if r["audit_id"] == audit_id]
    assert len(mine) == 1 and mine[0]["practitioner_band"] == 9
    later = httpx.get(
        served.url + "/reviews",
        params={"since": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()},
        headers=served.headers("ethics_panel"),
    )
    assert later.json()["reviews"] == []
    bad_filter = httpx.get(
        served.url + "/reviews", params={"since": "yesterday"}, headers=served.headers("admin")
    )
    assert bad_filter.status_code == 422 and "since" in bad_filter.text


def _mutated(case: dict, change) -> dict:
    out = copy.deepcopy(case)
    change(out)
    return out


def test_serving_bad_input_is_a_clear_4xx(served, cases) -> None:
    case = next(c for c in cases if c["police_contacts"] or c["attendance"])
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    table = "police_contacts" if case["police_contacts"] else "attendance"
    date_column = "occurred_on" if table == "police_contacts" else "term_start"
    bad = {
        "malformed JSON": (b'{"as_of": ', "json"),
        "wrong type": (_mutated(case, lambda c: c.update(as_of=12)), "as_of"),
        "unknown category": (_mutated(case, lambda c: c["person"].update(sex="robot")), "sex"),
        "unknown field": (_mutated(case, lambda c: c.update(nhs_number="1")), "nhs_number"),
        "as_of in the future": (_mutated(case, lambda c: c.update(as_of=tomorrow)), "as_of"),
        "as_of before birth": (
            _mutated(case, lambda c: c.update(as_of="1990-01-01")), "before person.birth_month"
        ),
        "record dated in the future": (
            _mutated(case, lambda c: c[table][0].update({date_column: dt.date.today().isoformat()})),
            f"{table}.{date_column}",
        ),
        "missing person": (_mutated(case, lambda c: c.pop("person")), "person"),
    }
    for label, (body, named) in bad.items():
        if isinstance(body, bytes):
            response = httpx.post(
                served.url + "/score", content=body,
                headers={**served.headers("admin"), "Content-Type": "application/json"},
            )  # fmt: skip
        else:
            response = _post(served, "/score", body)
        assert 400 <= response.status_code < 500, (label, response.status_code, response.text)
        assert named in response.text.lower() or named in response.text, (label, response.text)
    # Compact JSON on the wire is smaller than json.dumps: twice the limit is surely over it.
    oversized = {"cases": [case] * (2 * MAX_BYTES // len(json.dumps(case)) + 1)}
    too_large = _post(served, "/score_batch", oversized)
    assert too_large.status_code == 413 and "larger than" in too_large.text
    over_limit = _post(served, "/score_batch", {"cases": [cases[0]] * 61})
    assert over_limit.status_code == 422 and "at most 60" in over_limit.text
    empty = _post(served, "/score_batch", {"cases": []})
    assert empty.status_code == 400 and "cases" in empty.text
    wrong_type = httpx.post(
        served.url + "/score", content=b"as_of=2024-01-01",
        headers={**served.headers("admin"), "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert wrong_type.status_code == 415 and "Content-Type" in wrong_type.text


def test_serving_refuses_ages_outside_10_to_24_with_a_422_naming_the_age(served, cases) -> None:
    from features.single_case import AGE_OUT_OF_RANGE

    case = cases[0]
    as_of = dt.date.fromisoformat(case["as_of"])
    for age in (9, 25):
        born = dt.date(as_of.year - age - 1, as_of.month, 1)  # birthday in the month after as_of
        if born.month == 12:
            born = dt.date(born.year + 1, 1, 1)
        else:
            born = dt.date(born.year, born.month + 1, 1)
        body = _mutated(case, lambda c, b=born: c["person"].update(birth_month=b.isoformat()))
        one = _post(served, "/score", body)
        assert one.status_code == 422, one.text
        assert AGE_OUT_OF_RANGE.format(age=age, low=10, high=24) in one.text
        batch = _post(served, "/score_batch", {"cases": [cases[1], body]})
        assert batch.status_code == 422 and "cases[1].people.birth_month" in batch.text, batch.text


def test_serving_concurrent_scoring_loses_no_audit_row(served, cases) -> None:
    trail = AuditTrail(served.audit_db)
    before = trail.count_scores()
    n_requests = 200
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(
            pool.map(
                lambda i: client.post(
                    served.url + "/score", json=cases[i % len(cases)], headers=served.headers("admin")
                ).status_code,
                range(n_requests),
            )
        )
    assert statuses == [200] * n_requests
    assert trail.count_scores() - before == n_requests


def test_serving_denies_by_default_sets_headers_and_bounds_inputs(served, cases) -> None:
    """Issue 21 items 1, 8 and 5 on the real server (one test: the server is slow to start)."""
    for path in ("/", "/schema.json", "/added-later", "/score"):
        assert httpx.get(served.url + path).status_code == 401, path
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(served.url + path, headers=served.headers("admin")).status_code == 404, path
    for path in ("/healthz", "/readyz", "/docs.json", "/app/signin"):
        assert httpx.get(served.url + path).status_code == 200, path
    scored = _post(served, "/score", cases[3], role="practitioner")
    assert scored.status_code == 200, scored.text
    review = {"audit_id": scored.json()["audit_id"], "decision": "agree", "reason": "fits"}
    reviewed = _post(served, "/reviews", review, role="practitioner")
    listed = httpx.get(served.url + "/reviews", headers=served.headers("ethics_panel"))
    for response in (scored, reviewed, listed):
        assert response.headers["cache-control"] == "no-store", response.url
        assert response.headers["x-content-type-options"] == "nosniff", response.url
    assert httpx.get(served.url + "/healthz").headers["x-content-type-options"] == "nosniff"
    attendance = {"term_start": "2023-09-01", "term_end": "2023-12-20", "sessions_possible": int("9" * 400),
                  "sessions_attended": 90, "unauthorised_absences": 2}  # fmt: skip
    unbounded = {
        "400-digit count": lambda c: c.update(attendance=[attendance]),
        "megabyte person_id": lambda c: c["person"].update(person_id="p" * 1_000_000),
        "long person_id": lambda c: c["person"].update(person_id="p" * 201),
        "NUL in person_id": lambda c: c["person"].update(person_id="p\x001"),
    }
    for label, change in unbounded.items():
        response = _post(served, "/score", _mutated(cases[3], change))
        assert 400 <= response.status_code < 500, (label, response.status_code, response.text[:500])
    nul_reason = _post(served, "/reviews", {**review, "reason": "fits\u0000"}, role="practitioner")
    assert nul_reason.status_code == 422 and "reason" in nul_reason.text
    overflow = httpx.get(served.url + "/reviews", params={"until": "9999-12-31T23:59:59-05:00"},
                         headers=served.headers("admin"))  # fmt: skip
    assert overflow.status_code == 422 and "until" in overflow.text


def test_serving_refusals_hold_no_value_that_was_sent(served, cases) -> None:
    """Issue 21 item 3: distinctive values in every field of a bad case, review and query
    appear neither in the response nor in the server's log."""
    before = len(served.server.log_text())
    case = _mutated(cases[4], lambda c: c.update(
        care_episodes=[{"start_on": "2017-11-23", "end_on": "2017-10-02", "episode": "early_help"}],
        attendance=[{"term_start": "2016-09-05", "term_end": "2016-12-16", "sessions_possible": 98317,
                     "sessions_attended": 98533, "unauthorised_absences": 97141}]))  # fmt: skip
    case["person"].update(person_id="zqxperson9071", local_authority="zqxborough")
    future = _mutated(case, lambda c: c.update(as_of="2099-06-17"))
    audit_id = str(uuid.uuid4())
    review = {"audit_id": audit_id, "decision": "agree", "reason": "zqx-reason-5521",
              "note": "zqx-note-6632", "practitioner_band": 3}  # fmt: skip
    responses = [
        _post(served, "/score", case, role="practitioner"),
        _post(served, "/score", future, role="practitioner"),
        _post(served, "/score_batch", {"cases": [case]}, role="data_scientist"),
        _post(served, "/reviews", review, role="practitioner"),
        httpx.get(served.url + "/reviews", params={"since": "zqx-since-7743", "model_version": "zqx-v"},
                  headers=served.headers("admin")),
    ]  # fmt: skip
    assert all(400 <= r.status_code < 500 for r in responses), [r.text for r in responses]
    assert "care_episodes" in responses[0].text and "attendance" in responses[0].text
    log = served.server.log_text()[before:]
    sent = ["2017-11-23", "2017-10-02", "98317", "98533", "97141", "2016-09-05", "2016-12-16", "zqxperson9071",
            "zqxborough", "2099-06-17", audit_id, "zqx-reason-5521", "zqx-note-6632", "zqx-since-7743"]  # fmt: skip
    # Whole words only, and counts above any port number: a timing or a port is no leak.
    found = [re.compile(rf"(?<![\w.]){re.escape(v)}(?![\w.])") for v in sent]
    for response in responses:
        assert not [f.pattern for f in found if f.search(response.text)], response.text
    assert not [f.pattern for f in found if f.search(log)], log[-3000:]


def test_serving_logs_hold_no_record_contents(served, cases) -> None:
    # Runs after the tests above (file order): the server has seen good and bad cases.
    log = served.server.log_text()
    assert "/score" in log  # the access log is captured
    person_ids = {c["person"]["person_id"] for c in cases}
    assert not [pid for pid in person_ids if re.search(rf"\b{re.escape(pid)}\b", log)]
    # Values sent only in bad requests (error paths log their exceptions).
    assert "robot" not in log and "1990-01-01" not in log
