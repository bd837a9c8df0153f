"""The svrisk scoring service (BentoML): explained scores, roles, audit trail, reviews.

Run it with ``svrisk serve`` (or ``bentoml serve serving.service:SvriskService``).
Endpoints (see docs/serving.md):

- ``POST /score``: one case in the single-case format -> calibrated probability,
  risk band, percentile, explanation, model version, audit_id and the notice.
- ``POST /score_batch``: ``{"cases": [...]}`` up to ``SVRISK_MAX_BATCH`` cases.
- ``GET /model``: the served version, its training date, outcome definition,
  gate verdict, metrics, fairness report and band cut-offs.
- ``POST /reviews`` / ``GET /reviews``: practitioner reviews of scored cases.
- BentoML's own ``/healthz``, ``/livez``, ``/readyz`` and ``/metrics`` (Prometheus).

The model is loaded and verified once per worker in ``__init__``; a model that
is not the gated champion (or fails its checksum) stops the service from
starting. Record contents are never logged: validation errors hide the input,
and error messages name the field and the problem without its value.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import bentoml
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from extract.loader import ExtractValidationError
from features.single_case import AS_OF_IN_FUTURE, SingleCase, case_to_extract
from serving.api_keys import KeyRing, Principal
from serving.audit_trail import AuditTrail, ScoreRow, new_audit_id, utc_now
from serving.errors import BatchTooLarge, InvalidCase, ServiceError
from serving.http_guard import ServiceGuard
from serving.model_loader import load_served_model
from serving.reviews import Decision, ReviewList, ReviewRecord, ReviewRequest, record_review
from serving.settings import ServingSettings
from runtime.pyfunc_model import score_parsed_cases

NOTICE = "For practitioner review. This score does not make a decision."
REQUEST_TIMEOUT_S = 30
ERR_BATCH_SIZE = "cases: {given} cases given; at most {limit} per call"
ERR_BEFORE_BIRTH = "as_of: before person.birth_month (the person was not yet born)"
ERR_CASE = "{where}{table}{column}{row}: {problem}"


class CaseInput(SingleCase):
    """One case in the single-case format: the person's people row, their records, and as_of."""

    # Validation errors are logged by BentoML; never with the case's values.
    model_config = ConfigDict(hide_input_in_errors=True)

    @model_validator(mode="after")
    def _as_of_plausible(self) -> CaseInput:
        # Checked here so the 4xx names the field; the single-case path refuses the same.
        today = utc_now().date()
        if self.as_of > today:
            raise ValueError(f"as_of: {AS_OF_IN_FUTURE.format(as_of=self.as_of, today=today)}")
        if self.as_of < self.person.birth_month:
            raise ValueError(ERR_BEFORE_BIRTH)
        return self


class BatchInput(BaseModel):
    """Several cases in the single-case format."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    cases: list[CaseInput] = Field(
        ...,
        min_length=1,
        description="Cases in the single-case format; at most SVRISK_MAX_BATCH (default 500).",
    )


class Factor(BaseModel):
    """One feature that moved this case's probability."""

    feature: str = Field(..., description="Feature name (see the feature dictionary).")
    family: str | None = Field(None, description="ace, trauma, school, police, health or context.")
    value: float | str | None = Field(None, description="The person's value of the feature.")
    sentence: str = Field(..., description="The factor in plain English.")
    contribution: float = Field(..., description="Change in probability (probability points).")


class Explanation(BaseModel):
    base_value: float = Field(..., description="Probability of a typical case; factors add to it.")
    raising: list[Factor] = Field(..., description="Top factors raising the probability.")
    lowering: list[Factor] = Field(..., description="Top factors lowering the probability.")


class ScoredCase(BaseModel):
    """A scored, explained case."""

    model_config = ConfigDict(protected_namespaces=())

    person_id: str = Field(..., description="The pseudonymised person_id of the case.")
    as_of: dt.date = Field(..., description="The date the case was scored at.")
    probability: float = Field(..., description="Calibrated probability of the outcome.")
    band: int = Field(..., ge=1, le=10, description="Risk band 1 (lowest) to 10 (highest).")
    percentile: float = Field(..., description="Percent of the reference population at or below.")
    explanation: Explanation = Field(..., description="Top factors raising and lowering.")
    model_version: str = Field(..., description="Registered version of the svrisk model.")
    audit_id: str = Field(..., description="Identifier of this scoring in the audit trail.")
    notice: str = Field(NOTICE, description="How to use the score.")


class ScoredBatch(BaseModel):
    results: list[ScoredCase] = Field(..., description="One scored case per input case, in order.")
    notice: str = Field(NOTICE, description="How to use the scores.")


http_api = FastAPI(
    title="svrisk model information and reviews",
    description="GET /model and the practitioner reviews (mounted in the BentoML service).",
)


@http_api.exception_handler(ServiceError)
async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
    # BentoML maps these for its own routes; the mounted FastAPI app needs the same mapping.
    return JSONResponse({"error": exc.message}, status_code=int(exc.error_code))


@bentoml.service(name="svrisk", traffic={"timeout": REQUEST_TIMEOUT_S})
@bentoml.asgi_app(http_api, path="/")
class SvriskService:
    """Explained, fairness-gated risk scores for practitioner review."""

    def __init__(self) -> None:
        self.settings = ServingSettings.from_env()
        # Fail at start-up, not at the first request, when the keys are misconfigured.
        KeyRing.from_sources(self.settings.api_keys_file, self.settings.api_keys_json)
        self.model = load_served_model(self.settings)
        self.audit = AuditTrail(self.settings.audit_db)
        self.audit.create_schema()

    @bentoml.api(route="/score")
    async def score(self, case: CaseInput, /, context: bentoml.Context) -> ScoredCase:
        """Score and explain one case; the call is recorded in the audit trail."""
        # Run on the event loop, not in BentoML's thread pool: one case is a few ms of
        # CPU-bound work with nothing to await, and the hand-off to a worker thread (and
        # the GIL passing back and forth) cost 1-7 ms a call in benchmarks/serve.py.
        # Requests still run one at a time per worker, as CPU-bound threads would.
        return self._score([case], _principal(context.request))[0]

    @bentoml.api(route="/score_batch")
    def score_batch(self, batch: BatchInput, /, context: bentoml.Context) -> ScoredBatch:
        """Score and explain up to SVRISK_MAX_BATCH cases in one call."""
        if len(batch.cases) > self.settings.max_batch:
            raise BatchTooLarge(
                ERR_BATCH_SIZE.format(given=len(batch.cases), limit=self.settings.max_batch)
            )
        return ScoredBatch(results=self._score(batch.cases, _principal(context.request)))

    @http_api.get("/model", summary="The served model")
    def model_info(self) -> dict[str, Any]:
        """Version, training date, outcome definition, gate verdict, metrics, report, bands."""
        return {**self.model.card, "notice": NOTICE}

    @http_api.post("/reviews", status_code=201, summary="Record a review")
    def add_review(self, review: ReviewRequest, request: Request) -> ReviewRecord:
        """Record a practitioner's decision on a scored case (its audit_id must exist)."""
        return record_review(self.audit, review, _principal(request))

    @http_api.get("/reviews", summary="List reviews")
    def list_reviews(
        self,
        since: dt.datetime | None = Query(None, description="Reviews at or after (ISO time, UTC)."),
        until: dt.datetime | None = Query(None, description="Reviews before (ISO time, UTC)."),
        decision: Decision | None = Query(None, description="Only this decision."),
        model_version: str | None = Query(None, max_length=40, description="Only this version."),
        limit: int = Query(1000, ge=1, le=10_000, description="Most reviews returned."),
    ) -> ReviewList:
        """Reviews oldest first, filtered by date range, decision and model version."""
        rows = self.audit.reviews(
            since=_as_utc(since),
            until=_as_utc(until),
            decision=decision,
            model_version=model_version,
            limit=limit,
        )
        return ReviewList(reviews=[ReviewRecord(**row) for row in rows])

    def _score(self, cases: list[SingleCase], principal: Principal) -> list[ScoredCase]:
        # The logged pyfunc's own scoring, on its loaded RiskModel, given the already
        # validated cases: MLflow's signature check, a JSON round trip and frames in and
        # out would only repeat the request's validation (CaseInput is stricter than the
        # signature), at a few milliseconds a call.
        try:
            out = score_parsed_cases(self.model.risk_model, cases)
        except ExtractValidationError as exc:
            # `from None`: the original message quotes record values and would reach the log.
            raise InvalidCase(_locate_problem(cases, exc)) from None
        probability = out["probability"].astype("float64")
        bands = self.model.bands.band(probability)
        percentiles = self.model.risk_model.percentile(probability)
        now = utc_now()
        rows = [
            ScoreRow(
                audit_id=new_audit_id(),
                created_at=now,
                caller=principal.name,
                role=principal.role,
                person_id=str(out["person_id"][i]),
                as_of=dt.date.fromisoformat(str(out["as_of"][i])),
                model_version=self.model.version,
                probability=float(probability[i]),
                band=int(bands[i]),
            )
            for i in range(len(probability))
        ]
        self.audit.append_scores(rows)
        return [
            ScoredCase(
                person_id=row.person_id,
                as_of=row.as_of,
                probability=row.probability,
                band=row.band,
                percentile=float(percentiles[i]),
                explanation=Explanation(
                    base_value=float(out["base_value"][i]),
                    raising=json.loads(out["top_raising"][i]),
                    lowering=json.loads(out["top_lowering"][i]),
                ),
                model_version=row.model_version,
                audit_id=row.audit_id,
            )
            for i, row in enumerate(rows)
        ]


SvriskService.add_asgi_middleware(ServiceGuard)


def _principal(request: Any) -> Principal:
    # Set by ServiceGuard for every protected route before the endpoint runs.
    return request.state.principal


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _locate_problem(cases: list[SingleCase], exc: ExtractValidationError) -> str:
    """Name the case (in a batch), table, column and row of each violation, never its value."""
    if len(cases) == 1:
        return _describe(exc, "")
    for index, case in enumerate(cases):
        try:
            case_to_extract(case)
        except ExtractValidationError as found:
            return _describe(found, f"cases[{index}].")
    return _describe(exc, "cases: ")


def _describe(exc: ExtractValidationError, where: str) -> str:
    return "; ".join(
        ERR_CASE.format(
            where=where,
            table=v.table,
            column=f".{v.column}" if v.column else "",
            row=f"[{v.row - 1}]" if v.row is not None else "",
            problem=v.problem,
        )
        for v in exc.violations
    )
