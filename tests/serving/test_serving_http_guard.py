"""The guard in front of every route, called in-process: deny by default, per-endpoint roles."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from serving.api_keys import API_KEY_HEADER, Permission, Principal, hash_key, new_key
from serving.errors import MissingApiKey, RoleNotAllowed
from serving.http_guard import ServiceGuard

OPEN = ["/healthz", "/livez", "/readyz", "/metrics", "/docs.json", "/app", "/app/", "/app/sign-in",
        "/app/static/workspace.css"]  # fmt: skip
# BentoML's index page and schema, FastAPI's documentation pages, the API routes, a route
# nobody has written yet, and look-alikes of the open paths.
CLOSED = ["/", "/schema.json", "/docs", "/redoc", "/openapi.json", "/static_content/index.js",
          "/score", "/model", "/reviews", "/added-later", "/apps", "/app-admin", "/healthz-debug"]  # fmt: skip


async def _inner(scope, receive, send) -> None:
    body = json.dumps({"reached": scope["path"]}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def guarded(monkeypatch) -> tuple[TestClient, dict[str, str]]:
    keys = {"practitioner": new_key(), "ethics_panel": new_key()}
    entries = [{"name": f"t-{role}", "role": role, "sha256": hash_key(key)} for role, key in keys.items()]
    monkeypatch.setenv("SVRISK_API_KEYS", json.dumps(entries))
    monkeypatch.delenv("SVRISK_API_KEYS_FILE", raising=False)
    return TestClient(ServiceGuard(_inner)), keys


def test_serving_guard_denies_every_path_it_does_not_list_as_open(guarded) -> None:
    client, keys = guarded
    for path in OPEN:
        response = client.get(path)
        assert response.status_code == 200, path
    for path in CLOSED:
        for method in ("GET", "POST"):
            response = client.request(method, path)
            assert response.status_code == 401, (method, path)
            assert "reached" not in response.json(), (method, path)
    practitioner = {API_KEY_HEADER: keys["practitioner"]}
    # A known key opens a path with no listed permission (the app answers, e.g. 404) ...
    assert client.get("/added-later", headers=practitioner).json() == {"reached": "/added-later"}
    # ... and listed routes still need their role.
    assert client.get("/model", headers=practitioner).status_code == 403
    assert client.get("/model", headers={API_KEY_HEADER: keys["ethics_panel"]}).status_code == 200


def test_serving_endpoints_check_their_own_permission_and_framework_docs_are_off() -> None:
    from serving.service import _principal, http_api

    def request(principal):
        return SimpleNamespace(state=SimpleNamespace(principal=principal))

    practitioner = Principal(name="p", role="practitioner")
    assert _principal(request(practitioner), Permission.SCORE) == practitioner
    with pytest.raises(RoleNotAllowed):
        _principal(request(practitioner), Permission.MODEL_INFO)
    with pytest.raises(MissingApiKey):
        _principal(SimpleNamespace(state=SimpleNamespace()), Permission.SCORE)
    client = TestClient(http_api)
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path


def test_serving_guard_sets_nosniff_everywhere_and_no_store_on_keyed_responses(guarded) -> None:
    client, keys = guarded
    practitioner = {API_KEY_HEADER: keys["practitioner"]}
    for response in (client.get("/healthz"), client.get("/app/sign-in"), client.get("/score"),
                     client.post("/score", json={}, headers=practitioner),
                     client.get("/reviews", headers=practitioner)):  # fmt: skip
        assert response.headers["x-content-type-options"] == "nosniff", response.url
    # Scores, reviews and refusals of them are never stored by a browser or a proxy.
    for response in (client.post("/score", json={}, headers=practitioner),
                     client.get("/reviews", headers={API_KEY_HEADER: keys["ethics_panel"]}),
                     client.get("/reviews", headers=practitioner), client.get("/score")):  # fmt: skip
        assert response.headers["cache-control"] == "no-store", response.url
    assert "cache-control" not in client.get("/healthz").headers
