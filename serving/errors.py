"""Errors the service returns, each carrying its HTTP status, and the one body they share.

BentoML turns a raised :class:`bentoml.exceptions.BentoMLException` into a
response with ``error_code`` as the status, so the API methods raise these and
never hand-build error responses. Messages name the field and the problem but
never echo a record's values: BentoML logs raised exceptions, and record
contents must not reach the logs.

Every refusal of the API has one body, :class:`ErrorBody`:
``{"error": "...", "problems": [{"field": "...", "problem": "..."}]}``
(``problems`` when the refusal is about named fields). The published OpenAPI
document (:mod:`serving.openapi_document`) lists, for each operation, the status
of every :class:`ServiceError` subclass whose ``operations`` include it, so a
refusal added here is documented without a second list. :class:`OneErrorShape`
rewrites the error bodies the frameworks build themselves (BentoML's validation
errors, Starlette's 404 and 405) into the same shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any, ClassVar

from bentoml.exceptions import BentoMLException
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Problem(BaseModel):
    """One field of the request and what is wrong with it (never the value sent)."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(..., description="Where: e.g. `person.sex`, `cases[0].as_of`, `since`.")
    problem: str = Field(..., description="What is wrong, in words.")


class ErrorBody(BaseModel):
    """The body of every refusal (4xx) and server error (5xx) of the API."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(..., description="What was refused and why, without any value that was sent.")
    problems: list[Problem] = Field(
        default_factory=list,
        description="Each field at fault; left out when the refusal is not about named fields.",
    )


class ServiceError(BentoMLException):
    """A request the service cannot use (400): e.g. a scoring body that does not match the
    schema, or breaks a rule between its fields (as_of after today or before birth).

    Each subclass carries its HTTP status (``error_code``). ``operations`` lists ``"METHOD /path"`` of the operations that can answer with this
    error; ``None`` means every operation that needs an API key. The OpenAPI document
    reads both, so a subclass added here is documented where it applies.
    """

    error_code = HTTPStatus.BAD_REQUEST
    operations: ClassVar[tuple[str, ...] | None] = None

    @property
    def headers(self) -> dict[str, str]:
        """Response headers the refusal needs (``Retry-After`` on those that pass)."""
        return {}


class MissingApiKey(ServiceError):
    """No API key, or one the service does not know (401)."""

    error_code = HTTPStatus.UNAUTHORIZED


class RoleNotAllowed(ServiceError):
    """The key's role may not call this operation (403)."""

    error_code = HTTPStatus.FORBIDDEN


class UnknownAuditId(ServiceError):
    """No scoring with this audit_id exists (404)."""

    error_code = HTTPStatus.NOT_FOUND
    operations = ("POST /reviews",)


class NotYourScoring(ServiceError):
    """A review of a scoring another caller asked for (only its caller, or an admin, may review it)."""

    error_code = HTTPStatus.FORBIDDEN
    operations = ("POST /reviews",)


class ReviewAlreadyRecorded(ServiceError):
    """A second review of a scoring that does not say which review it supersedes."""

    error_code = HTTPStatus.CONFLICT
    operations = ("POST /reviews",)


class InvalidCase(ServiceError):
    """A case that parses but breaks the data contract (422): e.g. an age outside 10-24 at
    as_of, a record dated on or after as_of."""

    error_code = HTTPStatus.UNPROCESSABLE_ENTITY
    operations = ("POST /score", "POST /score_batch")


class InvalidQuery(ServiceError):
    """A query parameter the operation does not have, or a time outside the range the
    service can compare (422)."""

    error_code = HTTPStatus.UNPROCESSABLE_ENTITY
    operations = ("GET /model", "GET /reviews")


class InvalidFields(ServiceError):
    """A review or query parameter the service cannot accept (422): a field breaks the schema,
    or a rule between fields (e.g. practitioner_band only with decision 'disagree')."""

    error_code = HTTPStatus.UNPROCESSABLE_ENTITY
    operations = ("GET /reviews", "POST /reviews")


class BatchTooLarge(ServiceError):
    """More cases than SVRISK_MAX_BATCH in one call (422)."""

    error_code = HTTPStatus.UNPROCESSABLE_ENTITY
    operations = ("POST /score_batch",)


class PayloadTooLarge(ServiceError):
    """A request body over SVRISK_MAX_REQUEST_BYTES (413)."""

    error_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    operations = ("POST /score", "POST /score_batch", "POST /reviews")


class UnsupportedMediaType(ServiceError):
    """A request body that is not application/json (415)."""

    error_code = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    operations = ("POST /score", "POST /score_batch", "POST /reviews")


class ModelRefused(RuntimeError):
    """The model behind the alias or version must not be served; the service does not start."""


def refusal_classes() -> Iterator[type[ServiceError]]:
    """:class:`ServiceError` and every subclass defined so far, parents first."""
    seen: set[type[ServiceError]] = set()
    pending: list[type[ServiceError]] = [ServiceError]
    while pending:
        cls = pending.pop(0)
        if cls not in seen:
            seen.add(cls)
            yield cls
            pending.extend(cls.__subclasses__())


def error_body(message: str, problems: Iterable[Problem] = ()) -> dict[str, Any]:
    """The JSON body of a refusal: ``error``, and ``problems`` when there are any."""
    listed = [p.model_dump() for p in problems]
    return {"error": message, "problems": listed} if listed else {"error": message}


# A model-level check names its field first: "as_of: before person.birth_month".
_FIELD_FIRST = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.+)$", re.DOTALL)
# FastAPI puts where the value came from first; it is not part of the field's name.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})


def validation_problems(errors: Sequence[dict[str, Any]]) -> list[Problem]:
    """pydantic's (or FastAPI's) validation errors as problems: field and message, no input."""
    problems = []
    for error in errors:
        loc = list(error.get("loc") or ())
        if loc and loc[0] in _SOURCES:
            loc = loc[1:]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        field = ""
        for part in loc:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        if not field:
            found = _FIELD_FIRST.match(message)
            field, message = (found.group(1), found.group(2)) if found else ("body", message)
        problems.append(Problem(field=field, problem=message))
    return problems


ERR_VALIDATION = "the request breaks the published schema or a rule between its fields"


# BentoML answers a raised 5xx with a generic text and drops its headers (and 401/403 with
# "Authorization error"); the API's methods leave the refusal here for OneErrorShape.
REFUSAL_STATE_KEY = "svrisk_refusal"


@contextmanager
def refusals_reach_the_client(scope: Scope) -> Iterator[None]:
    """Keep a :class:`ServiceError` raised inside a BentoML API method for :class:`OneErrorShape`,
    so its message and headers (``Retry-After``) reach the caller whatever its status."""
    try:
        yield
    except ServiceError as exc:
        scope.setdefault("state", {})[REFUSAL_STATE_KEY] = exc
        raise


class OneErrorShape:
    """ASGI middleware: every error response of the API carries an :class:`ErrorBody`.

    Bodies already in the shape pass unchanged. BentoML's validation error
    (``{"error": ..., "detail": [...]}``), its other refusals (``[{"error": ...}]``) and
    Starlette's plain-text 404 and 405 are rewritten; the status is kept. Paths under
    ``exempt_prefixes`` (the workspace's HTML pages) are left alone.
    """

    def __init__(self, app: ASGIApp, exempt_prefixes: Sequence[str] = ()) -> None:
        self.app = app
        self.exempt_prefixes = tuple(exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        # A HEAD answer has no body to put in shape.
        if scope["type"] != "http" or scope["method"] == "HEAD" or any(
            path == p or path.startswith(p + "/") for p in self.exempt_prefixes
        ):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        # Shared with the request objects below, which write into the same dict.
        state = scope.setdefault("state", {})

        async def send_in_shape(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message  # held until the whole body is known
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            refusal = state.get(REFUSAL_STATE_KEY)
            told = isinstance(refusal, ServiceError) and int(refusal.error_code) == start["status"]
            extra = {k.lower().encode(): v.encode() for k, v in refusal.headers.items()} if told else {}
            body = json.dumps(error_body(refusal.message)).encode() if told else _in_shape(
                start["status"], b"".join(chunks)
            )
            headers = [
                (name, value) for name, value in start.get("headers", [])
                if name.lower() not in (b"content-length", b"content-type", *extra)
            ]  # fmt: skip
            headers += list(extra.items())
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_in_shape)


def _in_shape(status: int, body: bytes) -> bytes:
    """``body`` as an :class:`ErrorBody`; unchanged when it already is one."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict) and "detail" in data and isinstance(data["detail"], list):
        # BentoML's validation error: its `error` counts the errors and names the model.
        out = error_body(ERR_VALIDATION, validation_problems(data["detail"]))
    elif isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) and "error" in data[0]:
        # BentoML answers a raised 4xx exception with a one-element list.
        return _in_shape(status, json.dumps(data[0]).encode())
    elif isinstance(data, dict) and isinstance(data.get("error"), str):
        try:
            known = ErrorBody.model_validate(data)
            return json.dumps(error_body(known.error, known.problems)).encode()
        except ValueError:
            out = error_body(data["error"])
    elif isinstance(data, dict) and isinstance(data.get("detail"), str):
        out = error_body(data["detail"])  # Starlette's HTTPException ("Not Found")
    else:
        out = error_body(_status_phrase(status))
    return json.dumps(out).encode()


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


class RetryLater(ServiceError):
    """A refusal that passes: the response says when to try again (``Retry-After``, seconds)."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class RateLimited(RetryLater):
    """The caller's key or role used its requests or cases for this minute (OWASP API4)."""

    error_code = HTTPStatus.TOO_MANY_REQUESTS


class ServiceBusy(RetryLater):
    """The worker already has its most requests in progress, or the rate counter is busy."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE


class AuditUnavailable(RetryLater):
    """The audit trail cannot take the row: no score is given without its audit row."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE


class KeysUnavailable(ServiceError):
    """The API key file changed and cannot be read: every keyed request is refused until fixed."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE
