"""Prometheus metrics of the service, served at BentoML's ``/metrics`` with its own.

Three counters the monitoring report and an operator's dashboard read:
cases scored by risk band, practitioners' reviews by decision, and refused
requests by HTTP status. They are prometheus_client counters in its default
registry, which BentoML serves, aggregated across its worker processes
(BentoML sets prometheus_client's multi-process directory; its own
``bentoml.metrics`` wrapper is deprecated in favour of prometheus_client).
Each counter is created on first use, not at import.
"""

from __future__ import annotations

from functools import cache
from typing import Any

SCORES = "svrisk_scores"
REVIEWS = "svrisk_reviews"
REFUSED = "svrisk_refused_requests"


@cache
def _counter(name: str, documentation: str, label: str) -> Any:
    from prometheus_client import Counter

    return Counter(name, documentation, labelnames=[label])


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
