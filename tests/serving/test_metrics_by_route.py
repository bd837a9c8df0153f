"""Request metrics labelled by route (issue 21 item 2): random paths cannot grow /metrics."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from serving.metrics import OTHER, REQUESTS, RequestMetrics, count_request, route_label

ROUTES = frozenset({"/score", "/reviews", "/healthz"})


def _series(name: str) -> dict[tuple, float]:
    from prometheus_client import REGISTRY

    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name
    }


def test_metrics_route_label_is_one_of_a_fixed_set() -> None:
    assert route_label("/score", ROUTES, ("/app",)) == "/score"
    assert route_label("/reviews/", ROUTES, ("/app",)) == "/reviews"
    assert route_label("/app/case/3f2a", ROUTES, ("/app",)) == "/app"
    assert route_label("/app", ROUTES, ("/app",)) == "/app"
    for path in ("/", "/apps", "/score/x", "/" + uuid.uuid4().hex, "/reviews%00"):
        assert route_label(path, ROUTES, ("/app",)) == OTHER, path


def test_metrics_many_random_paths_and_methods_share_one_series_per_status() -> None:
    async def not_found(scope, receive, send) -> None:
        status = 200 if scope["path"] == "/healthz" else 404
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = TestClient(RequestMetrics(not_found, routes=ROUTES, prefixes=("/app",)))
    client.get("/healthz")
    before = _series(REQUESTS + "_total")
    for i in range(300):
        client.request("GET" if i % 2 else f"X{i}", f"/{uuid.uuid4().hex}/{i}")
    after = _series(REQUESTS + "_total")
    new = set(after) - set(before)
    assert new <= {
        (("method", "GET"), ("route", OTHER), ("status", "404")),
        (("method", OTHER), ("route", OTHER), ("status", "404")),
    }
    other_get = (("method", "GET"), ("route", OTHER), ("status", "404"))
    assert after[other_get] - before.get(other_get, 0) == 150


def test_metrics_an_out_of_range_status_is_not_a_new_label() -> None:
    count_request("/score", "GET", 999, 0.01)
    assert (("method", "GET"), ("route", "/score"), ("status", OTHER)) in _series(REQUESTS + "_total")
