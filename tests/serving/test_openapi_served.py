"""The four answers issue 19 found outside the document, on the real server."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _check_documented(document: dict, method: str, path: str, response: httpx.Response) -> None:
    """``response``'s status is listed for the operation and its body matches the listed schema."""
    from jsonschema import Draft202012Validator

    listed = document["paths"][path][method.lower()]["responses"]
    assert str(response.status_code) in listed, (method, path, response.status_code, sorted(listed))
    schema = listed[str(response.status_code)]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": document["components"]}).validate(response.json())


def test_openapi_served_answers_match_the_document(served, cases) -> None:
    document = httpx.get(served.url + "/docs.json").json()
    admin = served.headers("admin")
    # A non-date is refused, not read as seconds since 1970.
    until = httpx.get(served.url + "/reviews", params={"until": "0.5"}, headers=admin)
    assert until.status_code == 422 and until.json()["problems"][0]["field"] == "until"
    _check_documented(document, "GET", "/reviews", until)
    unknown_filter = httpx.get(served.url + "/reviews", params={"decison": "agree"}, headers=admin)
    assert unknown_filter.status_code == 422
    _check_documented(document, "GET", "/reviews", unknown_filter)
    # Schema errors of the scoring operations: the documented body, not BentoML's detail list.
    for path, body in (("/score", {"as_of": 3}), ("/score_batch", {"cases": []}), ("/score_batch", {"cases": [{}]})):
        refused = httpx.post(served.url + path, json=body, headers=admin, timeout=60)
        assert refused.status_code == 400, refused.text
        assert "detail" not in refused.json() and refused.json()["problems"], refused.text
        _check_documented(document, "POST", path, refused)
    contract = httpx.post(served.url + "/score", json={**cases[0], "as_of": "1990-01-01"}, headers=admin, timeout=60)
    assert contract.status_code in (400, 422)
    _check_documented(document, "POST", "/score", contract)
    too_many = httpx.post(served.url + "/score_batch", json={"cases": [cases[0]] * 61}, headers=admin, timeout=60)
    assert too_many.status_code == 422
    _check_documented(document, "POST", "/score_batch", too_many)
    # An unknown audit_id: 404, now in the document.
    review = {"audit_id": str(uuid.uuid4()), "decision": "agree"}
    missing = httpx.post(served.url + "/reviews", json=review, headers=served.headers("practitioner"))
    assert missing.status_code == 404
    _check_documented(document, "POST", "/reviews", missing)
    # The guard's refusals are the same shape.
    for response in (httpx.get(served.url + "/model"), httpx.get(served.url + "/reviews", headers=served.headers("data_scientist"))):
        assert response.status_code in (401, 403)
        _check_documented(document, "GET", response.url.path, response)
    # OPTIONS (and any method a path lacks): 405 with the path's documented methods.
    options = httpx.options(served.url + "/reviews", headers=admin)
    assert options.status_code == 405
    assert {m.strip() for m in options.headers["allow"].split(",")} == {"GET", "POST"}
    assert options.json() == {"error": "Method Not Allowed"}
    wrong = httpx.get(served.url + "/score", headers=admin)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST" and "error" in wrong.json()
