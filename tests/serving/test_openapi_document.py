"""The published OpenAPI document and the one error shape, in-process (no server)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from starlette.testclient import TestClient

from serving.errors import (
    ERR_VALIDATION,
    ErrorBody,
    OneErrorShape,
    Problem,
    refusal_classes,
    validation_problems,
)
from serving.http_guard import is_open_path
from serving.openapi_document import REPLACED_SCHEMAS, documented_refusals

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
KEYED_OPERATIONS = {"POST /score", "POST /score_batch", "GET /model", "GET /reviews", "POST /reviews"}


@pytest.fixture(scope="module")
def document() -> dict:
    from serving.service import http_api

    response = TestClient(http_api).get("/docs.json")
    assert response.status_code == 200
    return response.json()


def _operations(document: dict) -> dict[str, dict]:
    return {f"{m.upper()} {p}": op for p, item in document["paths"].items() for m, op in item.items()}


def test_openapi_every_refusal_is_the_error_body_and_keyed_operations_say_so(document) -> None:
    operations = _operations(document)
    assert set(operations) == KEYED_OPERATIONS | {"GET /healthz", "GET /livez", "GET /readyz", "GET /metrics"}
    for name, operation in operations.items():
        errors = {code: r for code, r in operation["responses"].items() if int(code) >= 400}
        keyed = not is_open_path(name.split(" ")[1])
        assert bool(errors) == keyed, name
        for code, response in errors.items():
            assert response["content"] == {"application/json": {"schema": ERROR_REF}}, (name, code)
            assert response["description"], (name, code)
        if keyed:
            assert {"400", "401", "403"} <= set(errors), name
            assert operation["security"] == [{"ApiKey": []}], name
    assert document["components"]["securitySchemes"]["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    text = json.dumps(document)
    for name in REPLACED_SCHEMAS:
        assert f"schemas/{name}" not in text and name not in document["components"]["schemas"]
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error"]


def test_openapi_lists_the_statuses_the_issue_found_missing(document) -> None:
    operations = _operations(document)
    assert "404" in operations["POST /reviews"]["responses"]  # unknown audit_id
    assert {"413", "415", "422"} <= set(operations["POST /score"]["responses"])
    assert {"413", "415", "422"} <= set(operations["POST /score_batch"]["responses"])
    assert "422" in operations["GET /reviews"]["responses"]
    assert "404" not in operations["POST /score"]["responses"]


def test_openapi_statuses_come_from_the_service_errors() -> None:
    for cls in refusal_classes():
        for operation in cls.operations or KEYED_OPERATIONS:
            assert int(cls.error_code) in documented_refusals(operation, keyed=True), (cls, operation)

    # An error added later, by anyone, joins the document. In a subprocess: BentoML keeps
    # every exception class it sees in a registry, so the test's class would outlive the test.
    added = textwrap.dedent(
        """
        from serving.errors import ServiceError
        from serving.openapi_document import documented_refusals

        class TeapotRefusal(ServiceError):
            \"\"\"The kettle is busy (418).\"\"\"

            error_code = 418

        print(documented_refusals("GET /model", keyed=True).get(418))
        print(documented_refusals("GET /healthz", keyed=False).get(418))
        """
    )
    done = subprocess.run([sys.executable, "-c", added], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split("\n")[:2] == ["The kettle is busy (418).", "None"]


def test_openapi_validation_problems_name_fields_not_values() -> None:
    errors = [
        {"loc": ("body", "cases", 0, "person", "sex"), "msg": "Input should be 'male'", "type": "enum"},
        {"loc": ("query", "until"), "msg": "Value error, not a date", "type": "value_error"},
        {"loc": (), "msg": "Value error, as_of: before person.birth_month", "type": "value_error"},
        {"loc": (), "msg": "something without a field", "type": "value_error"},
    ]
    assert validation_problems(errors) == [
        Problem(field="cases[0].person.sex", problem="Input should be 'male'"),
        Problem(field="until", problem="not a date"),
        Problem(field="as_of", problem="before person.birth_month"),
        Problem(field="body", problem="something without a field"),
    ]


def _answering(status: int, body: bytes, content_type: bytes = b"application/json", headers=()):
    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), *headers]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    return TestClient(OneErrorShape(app, exempt_prefixes=("/app",)))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # BentoML's validation error (the list issue 19 found) -> named problems
        (400, {"error": "1 validation error for CaseInputIODescriptor",
               "detail": [{"type": "missing", "loc": ["person"], "msg": "Field required"}]},  # fmt: skip
         {"error": ERR_VALIDATION, "problems": [{"field": "person", "problem": "Field required"}]}),
        # BentoML's answer to a raised ServiceError: a one-element list
        (422, [{"error": "cases: 61 cases given; at most 60 per call"}],
         {"error": "cases: 61 cases given; at most 60 per call"}),
        # Starlette's HTTPException body
        (404, {"detail": "Not Found"}, {"error": "Not Found"}),
        # already in shape: unchanged
        (401, {"error": "unknown API key"}, {"error": "unknown API key"}),
        (422, {"error": "x", "problems": [{"field": "f", "problem": "p"}]},
         {"error": "x", "problems": [{"field": "f", "problem": "p"}]}),
    ],
)
def test_openapi_one_error_shape_rewrites_framework_bodies(status, body, expected) -> None:
    response = _answering(status, json.dumps(body).encode()).get("/score")
    assert response.status_code == status
    assert response.json() == expected
    ErrorBody.model_validate(response.json())
    assert response.headers["content-length"] == str(len(response.content))


def test_openapi_one_error_shape_keeps_headers_and_leaves_success_and_workspace_alone() -> None:
    plain = _answering(405, b"Method Not Allowed", b"text/plain", [(b"allow", b"GET, POST")])
    response = plain.options("/reviews")
    assert response.json() == {"error": "Method Not Allowed"}
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == "application/json"
    assert plain.get("/app/case").text == "Method Not Allowed"  # the workspace's own pages
    ok = _answering(200, b'{"detail": [1]}')
    assert ok.get("/score").json() == {"detail": [1]}


def test_openapi_service_refusals_and_405_in_the_document_shape() -> None:
    from serving.service import http_api

    client = TestClient(http_api, raise_server_exceptions=False)
    options = client.options("/reviews")
    assert options.status_code == 405 and options.headers["allow"] == "GET, POST"
    assert options.json() == {"error": "Method Not Allowed"}
    assert client.get("/not-a-route").json() == {"error": "Not Found"}


@pytest.mark.parametrize("text", ["0.5", "1700000000", "yesterday", "2025-13", "2025-01-01T25"])
def test_openapi_query_times_must_be_written_out(text) -> None:
    from pydantic import TypeAdapter, ValidationError

    from serving.service import ERR_NOT_ISO_TIME, QueryTime

    with pytest.raises(ValidationError, match="ISO 8601") as raised:
        TypeAdapter(QueryTime).validate_python(text)
    assert ERR_NOT_ISO_TIME in str(raised.value) or "datetime" in str(raised.value)


@pytest.mark.parametrize("text", ["2025-01-01T00:00:00Z", "2025-01-01T10:20:30.123+05:30", "2025-01-01t00:00:00z"])
def test_openapi_query_times_accept_rfc3339(text) -> None:
    from pydantic import TypeAdapter

    from serving.service import QueryTime

    assert TypeAdapter(QueryTime).validate_python(text).year == 2025
