"""Fuzz the workspace's form endpoints in-process: never a 500, and bad input records nothing."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from serving.audit_trail import AuditTrail
from serving.workspace.case_form import person_fields, record_columns
from extract.contract import EVENT_TABLES

pytestmark = [pytest.mark.slow, pytest.mark.property]

NAMES = ["as_of", *(f.name for f in sum(person_fields(), []))] + [
    f"{t}-{i}-{c.name}" for t in EVENT_TABLES for i in range(2) for c in record_columns(t)
]
TEXT = st.one_of(
    st.sampled_from(["", "2020-01-01", "2999-12-31", "2008-05", "-1", "11", "1e9", "robbery", "none"]),
    st.text(max_size=30),
)
ACTIONS = st.sampled_from(["score", "add:police_contacts", "remove:adversity:0", "remove:x:9", "add:people", "", "zzz"])
ROWS = st.sampled_from(["0", "1", "2", "-1", "999", "x"])


@pytest.fixture(scope="module")
def signed_in(in_process):
    client = TestClient(in_process.app)
    page = client.get("/app/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    home = client.post("/app/signin", data={"csrf_token": token, "api_key": in_process.keys["admin"]}).text
    return client, re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)


def test_workspace_fuzz_case_and_review_forms(in_process, signed_in) -> None:
    client, token = signed_in
    trail = AuditTrail(in_process.audit_db)
    seen = {"n": 0}

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        fields=st.dictionaries(st.sampled_from(NAMES), TEXT, max_size=12),
        rows=st.dictionaries(st.sampled_from([f"{t}-rows" for t in EVENT_TABLES]), ROWS, max_size=3),
        action=ACTIONS,
        with_token=st.booleans(),
        target=st.sampled_from(["case", "upload", "review", "caseload"]),
        blob=st.binary(max_size=200),
    )
    def one(fields, rows, action, with_token, target, blob) -> None:
        seen["n"] += 1
        before = (trail.count_scores(), len(trail.reviews(limit=100_000)))
        data = {**fields, **rows, "action": action}
        if with_token:
            data["csrf_token"] = token
        if target == "case":
            response = client.post("/app/cases/new", data=data)
        elif target == "upload":
            response = client.post("/app/cases/upload", data=data, files={"case_file": ("c.json", blob, "application/json")})
        elif target == "review":
            review = {"decision": fields.get("as_of", ""), "reason": fields.get("person-sex", ""), **data}
            response = client.post("/app/cases/00000000-0000-4000-8000-000000000000/review", data=review)
        else:
            response = client.post("/app/caseload", data=data, files={"score_file": ("s.csv", blob, "text/csv")})
        assert response.status_code < 500, response.text[:500]
        after = (trail.count_scores(), len(trail.reviews(limit=100_000)))
        if response.status_code != 200 or "/app/cases/" not in str(response.url):
            assert after == before, (target, response.status_code)

    one()
    assert seen["n"] >= 1000
