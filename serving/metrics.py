"""Prometheus metrics of the service, served at ``/metrics``.

Svrisk's counters the monitoring report and an operator's dashboard read:
cases scored by risk band, practitioners' reviews by decision, and refused
requests by HTTP status; and the HTTP requests themselves by route, method and
status (:class:`RequestMetrics`). They are prometheus_client metrics in its
default registry, aggregated across BentoML's worker processes (BentoML sets
prometheus_client's multi-process directory; its own ``bentoml.metrics``
wrapper is deprecated in favour of prometheus_client). Each metric is created
on first use, not at import.

BentoML's own request metrics are turned off (``metrics.enabled`` false in
serving/service.py): they label every series with the raw path, before the key
check runs, so anyone could grow ``/metrics`` (and the multi-process files on
disk) without limit by requesting random paths. Here every label comes from a
fixed set: a known route's path, an open prefix, or ``other``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCORES = "svrisk_scores"
REVIEWS = "svrisk_reviews"
REFUSED = "svrisk_refused_requests"
REQUESTS = "svrisk_http_requests"
REQUEST_SECONDS = "svrisk_http_request_duration_seconds"
# Every path that is not a known route (or under an open prefix) shares this label.
OTHER = "other"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Request durations: from a cached health check to a large batch near the 30 s timeout.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@cache
def _counter(name: str, documentation: str, *labels: str) -> Any:
    from prometheus_client import Counter

    return Counter(name, documentation, labelnames=list(labels))


@cache
def _histogram(name: str, documentation: str, *labels: str) -> Any:
    from prometheus_client import Histogram

    return Histogram(name, documentation, labelnames=list(labels), buckets=DURATION_BUCKETS)


def count_scores(bands: Any) -> None:
    """One increment per scored case, labelled with its band (1-10)."""
    counter = _counter(SCORES, "Cases scored, by risk band", "band")
    for band in bands:
        counter.labels(band=str(int(band))).inc()


def count_review(decision: str) -> None:
    _counter(REVIEWS, "Practitioner reviews recorded, by decision", "decision").labels(decision=decision).inc()


def count_refused(status: int) -> None:
    """A request refused before or instead of scoring (authentication, role, size, invalid case)."""
    _counter(REFUSED, "Requests refused, by HTTP status", "status").labels(status=str(int(status))).inc()


def route_label(path: str, routes: frozenset[str], prefixes: tuple[str, ...]) -> str:
    """The metric label of a request path: the route itself, its open prefix, or :data:`OTHER`."""
    path = path.rstrip("/") or "/"
    if path in routes:
        return path
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return OTHER


def count_request(route: str, method: str, status: int, seconds: float) -> None:
    """One finished HTTP request; ``route`` from :func:`route_label`."""
    method = method if method in KNOWN_METHODS else OTHER
    status_class = str(int(status)) if 100 <= int(status) <= 599 else OTHER
    _counter(REQUESTS, "HTTP requests, by route, method and status", "route", "method", "status").labels(
        route=route, method=method, status=status_class
    ).inc()
    _histogram(REQUEST_SECONDS, "HTTP request duration in seconds, by route", "route").labels(
        route=route
    ).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text ``/metrics`` serves and its media type: every worker's metrics, summed."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST




class RequestMetrics:
    """ASGI middleware: counts and times every HTTP request under its route's label.

    ``routes`` are the service's paths (each its own label), ``prefixes`` the mounted
    sub-applications (one label each); any other path is counted as :data:`OTHER`.
    """

    def __init__(self, app: ASGIApp, routes: Iterable[str] = (), prefixes: Iterable[str] = ()) -> None:
        self.app = app
        self.routes = frozenset(routes)
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_label(scope["path"], self.routes, self.prefixes)
        started = time.perf_counter()
        status = 500  # what the client sees when the app fails before it answers

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            count_request(route, scope["method"], status, time.perf_counter() - started)
