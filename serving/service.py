"""The svrisk scoring service (BentoML): explained scores, roles, audit trail, reviews.

Run it with ``svrisk serve`` (or ``bentoml serve serving.service:SvriskService``).
Endpoints (see docs/serving.md):

- ``POST /score``: one case in the single-case format -> calibrated probability,
  its natural frequency, band and percentile (relative), the grouped explanation,
  model version, audit_id and the notice.
- ``POST /score_batch``: ``{"cases": [...]}`` up to ``SVRISK_MAX_BATCH`` cases.
- ``GET /model``: the served version, its training date, outcome definition,
  gate verdict, metrics, fairness report and band cut-offs.
- ``POST /reviews`` / ``GET /reviews``: practitioner reviews of scored cases.
- BentoML's own ``/healthz``, ``/livez`` and ``/readyz``; ``/metrics`` (Prometheus, by route:
  serving/metrics.py) and ``/docs.json`` (the OpenAPI document: serving/openapi_document.py).

The model is loaded and verified once per worker in ``__init__``; a model that
is not the gated champion (or fails its checksum) stops the service from
starting. Record contents are never logged: validation errors hide the input,
and error messages name the field and the problem without its value.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

import bentoml
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from features.single_case import SingleCase
from serving.api_keys import ERR_NO_KEY, KeyRing, Permission, Principal
from serving.audit_trail import AuditTrail
from serving.audit_availability import STORE_ERRORS, trail_unavailable, watch_sqlite_file
from serving.case_scoring import NOTICE, CaseInput, ScoredCase, score_and_audit, score_and_audit_on_loop
from serving.errors import (
    ERR_VALIDATION,
    BatchTooLarge,
    InvalidQuery,
    MissingApiKey,
    OneErrorShape,
    ServiceError,
    error_body,
    refusals_reach_the_client,
    validation_problems,
)
from serving.http_guard import OPEN_PATHS, OPEN_PREFIXES, PROTECTED_ROUTES, ServiceGuard, is_open_path
from serving.metrics import RequestMetrics, count_refused, exposition
from serving.model_loader import load_served_model
from serving.openapi_document import published_document
from serving.reviews import Decision, ReviewList, ReviewRecord, ReviewRequest, record_review
from serving.settings import ServingSettings
from serving.workspace.app import Workspace, workspace_app

REQUEST_TIMEOUT_S = 30
ERR_BATCH_SIZE = "cases: {given} cases given; at most {limit} per call"
ERR_TIME_RANGE = "{name}: outside the range of dates the service can compare"
# MLflow numbers a registered model's versions 1, 2, 3, ...
MODEL_VERSION_PATTERN = r"^[0-9]+$"
ERR_UNKNOWN_PARAMETER = "query: a parameter the operation does not have; see /docs.json"
ERR_NOT_ISO_TIME = "not an ISO 8601 date and time (e.g. 2025-01-01T00:00:00Z)"
# A query's time must be written out: pydantic would also read "0.5" as seconds since 1970.
ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$")
__all__ = ["NOTICE", "SvriskService"]


def _written_time(value: Any) -> Any:
    if isinstance(value, str) and not ISO_DATE_TIME.match(value):
        raise ValueError(ERR_NOT_ISO_TIME)
    return value


QueryTime = Annotated[dt.datetime, BeforeValidator(_written_time)]


class BatchInput(BaseModel):
    """Several cases in the single-case format."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    cases: list[CaseInput] = Field(
        ...,
        min_length=1,
        description="Cases in the single-case format; at most SVRISK_MAX_BATCH (default 500).",
    )


class ScoredBatch(BaseModel):
    results: list[ScoredCase] = Field(..., description="One scored case per input case, in order.")
    notice: str = Field(NOTICE, description="How to use the scores.")


http_api = FastAPI(
    title="svrisk model information and reviews",
    description="GET /model and the practitioner reviews (mounted in the BentoML service).",
    # The published API description is BentoML's /docs.json; FastAPI's own pages stay off.
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)


@http_api.exception_handler(ServiceError)
async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
    # BentoML maps these for its own routes; the mounted FastAPI app needs the same mapping.
    return JSONResponse(error_body(exc.message), status_code=int(exc.error_code), headers=exc.headers)


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Reviews and reads need the trail as scores do: 503 with Retry-After, not a 500.
    return await _service_error(request, trail_unavailable(exc))


for _store_error in STORE_ERRORS:
    http_api.add_exception_handler(_store_error, _store_unavailable)


@http_api.exception_handler(RequestValidationError)
async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's own 422 body repeats what was sent (a review's reason, a query's value);
    # this one names the field and the problem only.
    body = error_body(ERR_VALIDATION, validation_problems(exc.errors()))
    return JSONResponse(body, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)


@http_api.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    # Starlette answers a method a route lacks with that one route's methods only; /reviews
    # is two routes (GET and POST), so Allow lists the path's methods in the document.
    headers = dict(exc.headers or {})
    documented = _published_document()["paths"].get(request.url.path)
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED and documented:
        headers["Allow"] = ", ".join(sorted(method.upper() for method in documented))
    return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=headers)


@http_api.get("/docs.json", include_in_schema=False)
def openapi_document() -> JSONResponse:
    """The published OpenAPI document (served here, before BentoML's own /docs.json route)."""
    return JSONResponse(_published_document())


@cache
def _published_document() -> dict[str, Any]:
    return published_document(SvriskService.openapi_spec.asdict(), lambda path: not is_open_path(path))


@http_api.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    """Prometheus metrics of every worker (BentoML's own, labelled by raw path, are off)."""
    content, media_type = exposition()
    return Response(content, media_type=media_type)


# BentoML's request metrics label series by raw path (unbounded); serving.metrics counts by route.
@bentoml.service(name="svrisk", traffic={"timeout": REQUEST_TIMEOUT_S}, metrics={"enabled": False})
@bentoml.asgi_app(http_api, path="/")
# The practitioners' workspace (serving/workspace): HTML pages over the same model and trail.
@bentoml.asgi_app(workspace_app, path="/app")
class SvriskService:
    """Explained, fairness-gated risk scores for practitioner review."""

    def __init__(self) -> None:
        self.settings = ServingSettings.from_env()
        # Fail at start-up, not at the first request, when the keys are misconfigured.
        KeyRing.from_sources(self.settings.api_keys_file, self.settings.api_keys_json)
        self.model = load_served_model(self.settings)
        self.audit = AuditTrail(
            self.settings.audit_db,
            self.settings.sqlite_busy_timeout_ms,
            head_log_seconds=self.settings.chain_head_seconds,
        )
        for engine in self.audit.engines:
            watch_sqlite_file(engine)
        # Migrate (or check) the trail's schema, and log where its chains stand (issue 19).
        self.audit.create_schema()
        self.audit.log_heads()
        self.workspace = Workspace(self.settings, self.model, self.audit)

    @bentoml.api(route="/score")
    async def score(self, case: CaseInput, /, context: bentoml.Context) -> ScoredCase:
        """Score and explain one case; the call is recorded in the audit trail."""
        # Run on the event loop, not in BentoML's thread pool: one case is a few ms of
        # CPU-bound work with nothing to await, and the hand-off to a worker thread (and
        # the GIL passing back and forth) cost 1-7 ms a call in benchmarks/serve.py.
        # Requests still run one at a time per worker, as CPU-bound threads would. Only the
        # audit commit goes to a thread: a locked database must not stall /readyz (issue 21).
        with refusals_reach_the_client(context.request.scope):
            principal = _principal(context.request, Permission.SCORE)
            return (await score_and_audit_on_loop(self.model, self.audit, [case], principal))[0]

    @bentoml.api(route="/score_batch")
    def score_batch(self, batch: BatchInput, /, context: bentoml.Context) -> ScoredBatch:
        """Score and explain up to SVRISK_MAX_BATCH cases in one call."""
        with refusals_reach_the_client(context.request.scope):
            if len(batch.cases) > self.settings.max_batch:
                count_refused(BatchTooLarge.error_code)
                raise BatchTooLarge(
                    ERR_BATCH_SIZE.format(given=len(batch.cases), limit=self.settings.max_batch)
                )
            principal = _principal(context.request, Permission.SCORE_BATCH)
            return ScoredBatch(results=self._score(batch.cases, principal))

    @http_api.get("/model", summary="The served model")
    def model_info(self, request: Request) -> dict[str, Any]:
        """Version, training date, outcome definition, gate verdict, metrics, report, bands."""
        principal = _principal(request, Permission.MODEL_INFO)
        _refuse_unknown_parameters(request)
        self.audit.record_access(principal.name, principal.role, "GET /model", 1)
        return {**self.model.card, "notice": NOTICE}

    @http_api.post("/reviews", status_code=201, summary="Record a review")
    def add_review(self, review: ReviewRequest, request: Request) -> ReviewRecord:
        """Record a practitioner's decision on a scored case (its audit_id must exist)."""
        return record_review(self.audit, review, _principal(request, Permission.REVIEW_WRITE))

    @http_api.get("/reviews", summary="List reviews")
    def list_reviews(
        self,
        request: Request,
        since: QueryTime | None = Query(None, description="Reviews at or after (ISO time, UTC)."),
        until: QueryTime | None = Query(None, description="Reviews before (ISO time, UTC)."),
        decision: Decision | None = Query(None, description="Only this decision."),
        model_version: str | None = Query(
            None, max_length=10, pattern=MODEL_VERSION_PATTERN, description="Only this version (a number)."
        ),
        limit: int = Query(1000, ge=1, le=10_000, description="Most reviews returned."),
    ) -> ReviewList:
        """Reviews oldest first, filtered by date range, decision and model version."""
        principal = _principal(request, Permission.REVIEW_READ)
        _refuse_unknown_parameters(request)
        rows = self.audit.reviews(
            since=_as_utc(since, "since"),
            until=_as_utc(until, "until"),
            decision=decision,
            model_version=model_version,
            limit=limit,
        )
        self.audit.record_access(principal.name, principal.role, "GET /reviews", len(rows))
        return ReviewList(reviews=[ReviewRecord(**row) for row in rows])

    def _score(self, cases: list[SingleCase], principal: Principal) -> list[ScoredCase]:
        return score_and_audit(self.model, self.audit, cases, principal)


# Outermost first: every request counted by route (refusals too), every error body in one
# shape (but the workspace's, under /app, which answers with its own pages).
SvriskService.add_asgi_middleware(
    RequestMetrics,
    routes=OPEN_PATHS | {path for _, path in PROTECTED_ROUTES},
    prefixes=OPEN_PREFIXES,
)
SvriskService.add_asgi_middleware(OneErrorShape, exempt_prefixes=OPEN_PREFIXES)
SvriskService.add_asgi_middleware(ServiceGuard)


def _principal(request: Any, permission: Permission) -> Principal:
    """The caller ServiceGuard authenticated, checked again here for this endpoint's permission.

    The second check keeps an endpoint closed if its route is renamed or missing from
    the guard's table; a request that reached it without a principal is refused (401).
    """
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise MissingApiKey(ERR_NO_KEY)
    KeyRing.authorise(principal, permission)
    return principal


def _refuse_unknown_parameters(request: Request) -> None:
    """:class:`InvalidQuery` (422) for a query parameter the document does not list for the operation.

    A misspelt filter (``?decison=disagree``) would otherwise widen the answer silently.
    The message does not repeat the name: it was sent by the caller.
    """
    operation = _published_document()["paths"][request.url.path][request.method.lower()]
    if set(request.query_params) - {p["name"] for p in operation.get("parameters", [])}:
        raise InvalidQuery(ERR_UNKNOWN_PARAMETER)


def _as_utc(value: dt.datetime | None, name: str) -> dt.datetime | None:
    """``value`` in UTC; :class:`InvalidQuery` (422) when that falls outside years 1-9999."""
    if value is None:
        return None
    try:
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-05:00 is a valid time whose UTC reading is past year 9999.
        raise InvalidQuery(ERR_TIME_RANGE.format(name=name)) from None
