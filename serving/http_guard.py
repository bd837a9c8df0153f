"""ASGI middleware in front of every route: API key and role, body size, content type.

One place decides who may call what, for BentoML's own API routes and for the
mounted FastAPI routes alike, so both answer 401/403/413/415 with the same
clear JSON body (``{"error": ...}``). Deny by default: only the paths in
:data:`OPEN_PATHS` and under :data:`OPEN_PREFIXES` are reachable without a key;
every other path, including ones added later, needs a known key, and the routes
in :data:`PROTECTED_ROUTES` also a role granting their permission (which each
endpoint checks again). The authenticated caller is left in the request scope's
``state`` under ``principal`` for the endpoint and the audit trail. Every
response is ``X-Content-Type-Options: nosniff``; every keyed one, which may
carry a score, a review or the model's card, is also ``Cache-Control: no-store``.

Keyed requests are also limited here, before any work is done: each key's and
role's requests a minute, and a batch's cases a minute (429 with ``Retry-After``;
:mod:`serving.rate_limits`), and the requests in progress in this worker (503 with
``Retry-After`` at once, rather than a queue that grows while one request is slow).
The workspace's pages (under :data:`OPEN_PREFIXES`; they score cases too)
count in the same in-progress counter; one past the limit is not answered here but
passed on with the refusal in the scope's ``state`` under
:data:`serving.errors.REFUSAL_STATE_KEY`, which the workspace answers as its own page.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from serving.api_keys import API_KEY_HEADER, KeyRing, Permission, Principal
# A refusal of an open path is left under REFUSAL_STATE_KEY for its app to answer in its own form.
from serving.errors import REFUSAL_STATE_KEY, PayloadTooLarge, ServiceBusy, ServiceError, UnsupportedMediaType
from serving.metrics import count_refused
from serving.rate_limits import RateLimiter
from serving.settings import ServingSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Reachable without a key: the orchestrator's probes, Prometheus scraping, and the
# published API description (it holds the contract's schema, no record or model data).
OPEN_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/metrics", "/docs.json"})
# The workspace signs its users in with its own session cookies and checks them per page.
# Its pages (they score cases too) count against the worker's requests in progress ...
OPEN_PREFIXES = ("/app",)
# ... but not its static files: plain files, which the busy page itself needs.
UNCOUNTED_PREFIXES = ("/app/static",)
# (method, path) -> permission; every other path needs a key but no particular role.
PROTECTED_ROUTES: dict[tuple[str, str], Permission] = {
    ("POST", "/score"): Permission.SCORE,
    ("POST", "/score_batch"): Permission.SCORE_BATCH,
    ("GET", "/model"): Permission.MODEL_INFO,
    ("POST", "/reviews"): Permission.REVIEW_WRITE,
    ("GET", "/reviews"): Permission.REVIEW_READ,
}
NOSNIFF = (b"x-content-type-options", b"nosniff")
OPEN_HEADERS = (NOSNIFF,)
KEYED_HEADERS = (NOSNIFF, (b"cache-control", b"no-store"))
JSON_MEDIA_TYPE = "application/json"
ERR_TOO_LARGE = "request body: larger than the limit of {limit} bytes"
ERR_MEDIA_TYPE = "Content-Type: must be application/json"
ERR_CONTENT_LENGTH = "Content-Length: not a valid number"
ERR_BUSY = "the service is busy with {limit} requests in this worker; try again shortly"
BUSY_RETRY_S = 1
# The route whose cases count against the cases-a-minute limit.
BATCH_ROUTE = ("POST", "/score_batch")


class ServiceGuard:
    """The middleware; settings are read from the environment once, at start-up (the key
    file again whenever it changes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        settings = ServingSettings.from_env()
        self.max_bytes = settings.max_request_bytes
        self.keys = KeyRing.from_sources(settings.api_keys_file, settings.api_keys_json)
        self.limiter = RateLimiter.from_settings(settings)
        self.max_in_flight = settings.max_concurrent_requests
        # One guard per worker process, called on its one event loop: a plain counter.
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        if is_open_path(path):
            await self._open(scope, path, receive, _with_headers(send, OPEN_HEADERS))
            return
        # Every keyed response may carry a score, a review or the model's card: never cached.
        send = _with_headers(send, KEYED_HEADERS)
        permission = PROTECTED_ROUTES.get((scope["method"], path))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            principal = self.keys.authenticate(headers.get(API_KEY_HEADER.lower()))
            if permission is not None:
                self.keys.authorise(principal, permission)
            self._check_room()
        except ServiceError as exc:
            count_refused(exc.error_code)
            await _send_error(send, exc)
            return
        with self._in_progress():
            await self._admit(scope, path, headers, principal, receive, send)

    async def _open(self, scope: Scope, path: str, receive: Receive, send: Send) -> None:
        """Pass an open path on; a counted one takes a slot, or carries the refusal past the limit."""
        if not is_counted_open_path(path):
            await self.app(scope, receive, send)
            return
        try:
            self._check_room()
        except ServiceBusy as exc:
            count_refused(exc.error_code)
            # The workspace answers it as its page: the API's JSON body is no page for a browser.
            scope.setdefault("state", {})[REFUSAL_STATE_KEY] = exc
            await self.app(scope, receive, send)
            return
        with self._in_progress():
            await self.app(scope, receive, send)

    def _check_room(self) -> None:
        """ServiceBusy (503) when this worker already has its limit of requests in progress."""
        if self.in_flight >= self.max_in_flight:
            raise ServiceBusy(ERR_BUSY.format(limit=self.max_in_flight), BUSY_RETRY_S)

    @contextmanager
    def _in_progress(self) -> Iterator[None]:
        # The slot is taken before the first await, so requests arriving meanwhile see it.
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def _admit(
        self, scope: Scope, path: str, headers: dict[str, str], principal: Principal,
        receive: Receive, send: Send,
    ) -> None:  # fmt: skip
        """Charge the rate limits, check and read a POST's body, then call the app."""
        try:
            await self.limiter.charge_on_loop(principal, requests=1)
            if scope["method"] == "POST":
                media_type = headers.get("content-type", JSON_MEDIA_TYPE).split(";")[0].strip()
                if media_type.lower() != JSON_MEDIA_TYPE:
                    raise UnsupportedMediaType(ERR_MEDIA_TYPE)
                body = await self._read_body(headers, receive)
                if (scope["method"], path) == BATCH_ROUTE:
                    await self.limiter.charge_on_loop(principal, cases=batch_size(body))
                receive = _replay(body, receive)
        except ServiceError as exc:
            count_refused(exc.error_code)
            await _send_error(send, exc)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise ServiceError(ERR_CONTENT_LENGTH)
            if int(declared) > self.max_bytes:
                raise PayloadTooLarge(ERR_TOO_LARGE.format(limit=self.max_bytes))
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            # Checked while reading too: a chunked body has no Content-Length to trust.
            if size > self.max_bytes:
                raise PayloadTooLarge(ERR_TOO_LARGE.format(limit=self.max_bytes))
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def is_open_path(path: str) -> bool:
    """Whether ``path`` (without a trailing slash) may be called without a key."""
    return path in OPEN_PATHS or _under(path, OPEN_PREFIXES)


def is_counted_open_path(path: str) -> bool:
    """Whether an open ``path`` counts against the worker's limit of requests in progress."""
    return _under(path, OPEN_PREFIXES) and not _under(path, UNCOUNTED_PREFIXES)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def batch_size(body: bytes) -> int:
    """The number of cases in a ``/score_batch`` body; 0 when it is not one (the endpoint
    then refuses it with its own 4xx)."""
    try:
        cases = json.loads(body).get("cases")
    except (ValueError, AttributeError, RecursionError):
        return 0
    return len(cases) if isinstance(cases, list) else 0


def _with_headers(send: Send, extra: tuple[tuple[bytes, bytes], ...]) -> Send:
    """``send`` adding ``extra`` to the response's headers unless the app set them itself."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in extra if name not in present]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _replay(body: bytes, original: Receive) -> Receive:
    """Hand the already-read body to the app once, then pass through (disconnect events)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send_error(send: Send, exc: ServiceError) -> None:
    body = json.dumps({"error": exc.message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": int(exc.error_code),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # Retry-After on 429 and 503 (serving.errors.RetryLater).
                *[(k.lower().encode(), v.encode()) for k, v in getattr(exc, "headers", {}).items()],
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
