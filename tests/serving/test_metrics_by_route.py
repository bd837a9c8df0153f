"""Request metrics labelled by route (issue 21 item 2): random paths cannot grow /metrics."""

from __future__ import annotations

import uuid

import httpx
import pytest
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


@pytest.mark.server
@pytest.mark.slow
def test_metrics_served_random_paths_do_not_grow_the_series(served) -> None:
    """Issue 21 item 2 on the real server: 400 random paths, with and without a key."""

    def requests_series() -> set[str]:
        text = httpx.get(served.url + "/metrics").text
        return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line.startswith(REQUESTS + "_total{")}

    paths = [f"/{uuid.uuid4().hex}" for _ in range(200)]
    with httpx.Client(timeout=30) as client:
        client.get(served.url + paths[0])
        client.get(served.url + paths[0], headers=served.headers("admin"))
        requests_series()  # the scrape counts itself (route /metrics) from its first answer on
        before = requests_series()
        for path in paths:
            client.get(served.url + path)
            client.get(served.url + path, headers=served.headers("admin"))
    after = requests_series()
    assert after == before  # every random path counted under the one series it already had
    assert any('route="other"' in s and 'status="401"' in s for s in after)
    text = httpx.get(served.url + "/metrics").text
    assert not [p for p in paths if p.lstrip("/") in text]
    assert "bentoml_service_request_total" not in text  # BentoML's raw-path metrics are off
