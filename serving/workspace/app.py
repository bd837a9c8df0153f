"""The workspace's routes (Starlette), mounted in the BentoML service under ``/app``.

Every response carries the security headers (:data:`SECURITY_HEADERS`); every
page that can show a case is ``Cache-Control: no-store`` (all pages are, which
also makes Back after sign-out ask the server, which answers with the sign-in
page). Every form carries the session's CSRF token and a POST without it is
refused with 403 before anything is read or recorded. URLs name a case only by
its audit id or caseload rank; page titles never hold personal data.

Every signed-in request re-checks the key the session was made with against the
key ring (revoked, expired or removed: the session ends, the sign-in page) and is
charged against the same per-key and per-role rate limits as the API. Every page
counts against the worker's limit of requests in progress, as an API request does
(the service's guard counts them: serving.http_guard). A refusal that passes (rate
limit 429; the worker busy, the audit trail, the key file or the rate counter
unavailable 503) answers as a page with ``Retry-After`` where it has one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from serving.api_keys import ROLE_PERMISSIONS, KeyRing, Permission, hash_key, roles_allowed
from serving.audit_availability import STORE_ERRORS, trail_unavailable
from serving.audit_trail import AuditTrail
from serving.case_scoring import NOTICE, CaseInput, CaseRefused, score_and_audit
from serving.errors import (
    REFUSAL_STATE_KEY,
    MissingApiKey,
    NotYourScoring,
    ReviewAlreadyRecorded,
    ServiceError,
    UnknownAuditId,
)
from serving.rate_limits import RateLimiter
from serving.reviews import ReviewRequest, record_review
from serving.risk_bands import N_BANDS
from runtime.risk_language import format_points
from serving.settings import ServingSettings
from serving.workspace import case_form, caseload
from serving.workspace.sessions import SESSION_COOKIE, SIGN_IN_COOKIE, Session, SessionStore, tokens_match

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
CSRF_FIELD = "csrf_token"
MAX_FORM_FIELDS = 3000
FORM_SCOPE_KEY = "svrisk.form"
ERR_CSRF = "This form has expired or did not come from this site. Nothing was recorded. Go back, reload the page and try again."
ERR_SIGN_IN = "That key was not recognised. Check it and try again."
ERR_KEY_ENDED = (
    "You have been signed out: the key you signed in with is no longer accepted "
    "(revoked, expired or removed). Nothing was recorded. Sign in with a current key."
)
# Titles of the refusals that pass (their messages name no record value: serving.errors).
REFUSAL_TITLES = {
    HTTPStatus.TOO_MANY_REQUESTS: "Too many requests",
    HTTPStatus.SERVICE_UNAVAILABLE: "Not available just now",
}
ERR_ROLE = "Your role ({role}) may not see this page. It is for: {allowed}."
ERR_NOT_FOUND = "There is nothing here, or it is not yours to see."
ERR_TOO_LARGE = "The file is larger than the limit of {limit:,} bytes."
ERR_NO_FILE = "Choose a file to upload."
ERR_BAD_JSON = "The file is not valid JSON: {problem}"
ERR_NO_CONFIGURED = "No score file has been configured by the administrator (SVRISK_CASELOAD_FILE)."
ERR_UNREADABLE_CONFIGURED = "The score file set up by the administrator cannot be read; ask them to check it."
ERR_BAD_FORM = "The form could not be read: {problem}"
DECISION_LABELS = {
    "agree": "Agree",
    "disagree": "Disagree",
    "escalate": "Escalate",
    "no_action": "No further action",
}


class Workspace:
    """What the pages need in one worker: settings, the served model, the trail, sessions.

    Parameters
    ----------
    settings : ServingSettings
    model : serving.model_loader.ServedModel
    audit : AuditTrail
        With its schema created.
    limits : list of str, optional
        What the score cannot see; read from the served version's model card when omitted.
    """

    def __init__(
        self, settings: ServingSettings, model: Any, audit: AuditTrail, limits: list[str] | None = None
    ) -> None:
        from serving.model_loader import BENTO_MODEL_NAME
        from serving.workspace.model_card_limits import packaged_card_limits, served_card_limits

        self.settings = settings
        self.model = model
        self.audit = audit
        self.keys = KeyRing.from_sources(settings.api_keys_file, settings.api_keys_json)
        # The API's limits and counter file (ServiceGuard has no key to charge under /app): one
        # budget per key and role.
        self.limiter = RateLimiter.from_settings(settings)
        self.sessions = SessionStore(
            audit.engine, dt.timedelta(minutes=settings.session_idle_minutes), settings.sqlite_busy_timeout_ms
        )
        self.sessions.create_schema()
        if limits is None and settings.model_source == "registry":
            limits = served_card_limits(model.card)
        elif limits is None:
            # A bento has no training run to read: its model carries the limits (or, packaged
            # before it did, none: the page then says the card is not packaged).
            limits = packaged_card_limits(f"{BENTO_MODEL_NAME}:latest") or []
        self.limits = limits
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(
            # The served model's own outcome window words every chance on the pages.
            absolute_risk=model.risk_model.absolute_risk,
            format_points=format_points,
            label=case_form.label,
            notice=NOTICE,
            n_bands=N_BANDS,
            decision_labels=DECISION_LABELS,
        )

    def approval(self) -> dict[str, Any]:
        gate = self.model.card.get("gate", {})
        return {
            "date": str(gate.get("checked_at", ""))[:10] or "not recorded",
            "override": gate.get("override") == "true",
            # A REVIEW verdict published on a named approver's record (issue 23).
            "review_approved": gate.get("review_approved") == "true",
            "verdict": gate.get("verdict") or "",
            "approver": gate.get("approver") or "",
        }


Handler = Callable[[Request], Awaitable[Response]]


def build_workspace_app(resolve: Callable[[], Workspace]) -> Starlette:
    """The workspace app; ``resolve`` returns this worker's :class:`Workspace` at request time."""

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        ws = resolve()
        base = request.scope.get("root_path", "")
        html = ws.templates.get_template(template).render(base=base, **context)
        return HTMLResponse(html, status_code=status)

    def missing(request: Request, session: Session | None) -> HTMLResponse:
        return page(request, "message.html", 404, title="Not found", message=ERR_NOT_FOUND, session=session)

    async def refused(request: Request, exc: Exception) -> Response:
        """A refusal that passes (429, 503; a store error is the trail's 503) as a page with its headers."""
        refusal = exc if isinstance(exc, ServiceError) else trail_unavailable(exc)
        status = HTTPStatus(int(refusal.error_code))
        response = page(request, "message.html", status, title=REFUSAL_TITLES.get(status, status.phrase),
                        message=refusal.message, session=None)  # fmt: skip
        response.headers.update(refusal.headers)
        return response

    async def admit(request: Request) -> Session | Response | None:
        """The request's live session with its key re-checked, the request charged to its holder.

        None without a live session. When the session's key is no longer accepted the
        session ends and the answer is the sign-in page (401). Raises what :func:`refused`
        answers: KeysUnavailable, RateLimited, ServiceBusy, a store error.
        """
        ws = resolve()
        session = ws.sessions.find(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        try:
            # The key ring's holder now: a role changed in the key file applies at once too.
            principal = ws.keys.holder(session.key_sha256)
        except MissingApiKey:
            ws.sessions.end(session.session_id)
            response = _sign_in_form(request, ws, page, error=ERR_KEY_ENDED, status=401)
            response.delete_cookie(SESSION_COOKIE, path=request.scope.get("root_path", "") or "/")
            return response
        await ws.limiter.charge_on_loop(principal, requests=1)
        return dataclasses.replace(session, principal=principal)

    def signed_in(permission: Permission | None = None) -> Callable[[Callable], Handler]:
        """Require a live session (else the sign-in page) and, for POST, its CSRF token."""

        def wrap(handler: Callable[..., Awaitable[Response]]) -> Handler:
            @_closing_form
            async def endpoint(request: Request) -> Response:
                ws = resolve()
                session = await admit(request)
                if isinstance(session, Response):
                    return session
                form: FormData | None = None
                if request.method == "POST":
                    form = await _read_form(request, ws)
                    if isinstance(form, Response):
                        return form
                    if session is None or not tokens_match(session.csrf_token, _text(form.get(CSRF_FIELD))):
                        return page(request, "message.html", 403, title="Refused", message=ERR_CSRF, session=session)
                if session is None:
                    return RedirectResponse(f"{request.scope.get('root_path', '')}/signin", status_code=303)
                if permission is not None and permission not in ROLE_PERMISSIONS[session.principal.role]:
                    allowed = ", ".join(roles_allowed(permission))
                    message = ERR_ROLE.format(role=session.principal.role, allowed=allowed)
                    return page(request, "message.html", 403, title="Not for your role", message=message, session=session)
                return await handler(request, ws, session, form)

            return endpoint

        return wrap

    async def sign_in_page(request: Request) -> Response:
        ws = resolve()
        return _sign_in_form(request, ws, page, error=None)

    @_closing_form
    async def sign_in(request: Request) -> Response:
        ws = resolve()
        form = await _read_form(request, ws)
        if isinstance(form, Response):
            return form
        expected = ws.sessions.unsign(request.cookies.get(SIGN_IN_COOKIE))
        if not tokens_match(expected, _text(form.get(CSRF_FIELD))):
            return page(request, "message.html", 403, title="Refused", message=ERR_CSRF, session=None)
        key = _text(form.get("api_key")).strip()
        try:
            principal = ws.keys.authenticate(key or None)
        except MissingApiKey:
            return _sign_in_form(request, ws, page, error=ERR_SIGN_IN, status=401)
        # Charged like every page after it: a key past its limit cannot pile up sessions either.
        await ws.limiter.charge_on_loop(principal, requests=1)
        session = ws.sessions.start(principal, hash_key(key))
        response = RedirectResponse(f"{request.scope.get('root_path', '')}/", status_code=303)
        _set_cookie(response, request, SESSION_COOKIE, ws.sessions.sign(session.session_id))
        response.delete_cookie(SIGN_IN_COOKIE, path=request.scope.get("root_path", "") or "/")
        return response

    @signed_in()
    async def sign_out(request: Request, ws: Workspace, session: Session, _form: FormData) -> Response:
        ws.sessions.end(session.session_id)
        response = RedirectResponse(f"{request.scope.get('root_path', '')}/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=request.scope.get("root_path", "") or "/")
        return response

    @signed_in()
    async def home(request: Request, ws: Workspace, session: Session, _form: None) -> Response:
        perms = ROLE_PERMISSIONS[session.principal.role]
        return page(request, "home.html", session=session, perms={p.value for p in perms},
                    capacity=ws.settings.caseload_capacity)  # fmt: skip

    @signed_in(Permission.SCORE)
    async def new_case(request: Request, ws: Workspace, session: Session, form: FormData | None) -> Response:
        if form is None:
            state = case_form.CaseForm(values={"as_of": dt.date.today().isoformat()})
            return _case_page(request, page, session, state)
        state, action = case_form.read_form(form)
        if case_form.apply_action(state, action):
            return _case_page(request, page, session, state)
        return _score_form(request, ws, page, session, state)

    @signed_in(Permission.SCORE)
    async def upload_case(request: Request, ws: Workspace, session: Session, form: FormData) -> Response:
        upload = form.get("case_file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            state = case_form.CaseForm()
            state.general_errors.append(ERR_NO_FILE)
            return _case_page(request, page, session, state, status=422)
        raw = await upload.read()
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            state = case_form.CaseForm()
            state.general_errors.append(ERR_BAD_JSON.format(problem=getattr(exc, "msg", "not UTF-8 text")))
            return _case_page(request, page, session, state, status=422)
        state = case_form.from_case(data)
        if state.general_errors:
            return _case_page(request, page, session, state, status=422)
        return _score_form(request, ws, page, session, state, body=data)

    @signed_in(Permission.SCORE)
    async def result(request: Request, ws: Workspace, session: Session, _form: None) -> Response:
        audit_id = request.path_params["audit_id"]
        body = ws.sessions.result(session.session_id, audit_id)
        if body is None:
            return missing(request, session)
        return _result_page(request, ws, page, session, json.loads(body))

    @signed_in(Permission.REVIEW_WRITE)
    async def review(request: Request, ws: Workspace, session: Session, form: FormData) -> Response:
        audit_id = request.path_params["audit_id"]
        body = ws.sessions.result(session.session_id, audit_id)
        if body is None:
            return missing(request, session)
        values = {k: _text(form.get(k)) for k in ("decision", "reason", "note", "practitioner_band")}
        request_body = {
            "audit_id": audit_id,
            "decision": values["decision"],
            "reason": values["reason"],
            "note": values["note"] or None,
            "practitioner_band": values["practitioner_band"] or None,
        }
        try:
            parsed = ReviewRequest.model_validate(request_body)
            stored = record_review(ws.audit, parsed, session.principal)
        except ValidationError as exc:
            errors = _review_errors(exc)
            return _result_page(request, ws, page, session, json.loads(body), review=values,
                                review_errors=errors, status=422)  # fmt: skip
        except UnknownAuditId:
            return missing(request, session)
        except (NotYourScoring, ReviewAlreadyRecorded) as exc:
            # The form offers no "supersede": a second review is refused with the reason shown.
            return _result_page(request, ws, page, session, json.loads(body), review=values,
                                review_errors={"decision": exc.message}, status=int(exc.error_code))  # fmt: skip
        return RedirectResponse(
            f"{request.scope.get('root_path', '')}/reviews/{stored.review_id}", status_code=303
        )

    @signed_in(Permission.REVIEW_WRITE)
    async def my_reviews(request: Request, ws: Workspace, session: Session, _form: None) -> Response:
        rows = list(reversed(ws.audit.reviews(caller=session.principal.name, limit=10_000)))
        ws.audit.record_access(session.principal.name, session.principal.role, "GET /app/reviews", len(rows))
        return page(request, "reviews.html", session=session, reviews=rows)

    @signed_in(Permission.REVIEW_WRITE)
    async def one_review(request: Request, ws: Workspace, session: Session, _form: None) -> Response:
        row = ws.audit.review(request.path_params["review_id"])
        if row is None or row["caller"] != session.principal.name:
            return missing(request, session)
        ws.audit.record_access(session.principal.name, session.principal.role, "GET /app/reviews/{review_id}", 1)
        return page(request, "review.html", session=session, review=row)

    @signed_in(Permission.CASELOAD)
    async def caseload_page(request: Request, ws: Workspace, session: Session, form: FormData | None) -> Response:
        error = None
        if form is not None:
            try:
                payload = await _caseload_payload(form, ws)
                table = caseload.read_scores(payload, ws.model)
            except ValueError as exc:
                error = str(exc)
            else:
                ws.sessions.keep_caseload(session.session_id, caseload.to_bytes(table))
                return RedirectResponse(f"{request.scope.get('root_path', '')}/caseload", status_code=303)
        stored = ws.sessions.caseload(session.session_id)
        authority = request.query_params.get("local_authority", "")
        band = request.query_params.get("band", "")
        shown = (
            caseload.view(caseload.from_bytes(stored), ws.settings.caseload_capacity, authority, band)
            if stored is not None
            else None
        )
        return page(request, "caseload.html", 422 if error else 200, session=session, view=shown,
                    error=error, authority=authority, band=band, capacity=ws.settings.caseload_capacity,
                    configured=ws.settings.caseload_file is not None)  # fmt: skip

    @signed_in(Permission.CASELOAD)
    async def caseload_case(request: Request, ws: Workspace, session: Session, _form: None) -> Response:
        stored = ws.sessions.caseload(session.session_id)
        rank = request.path_params["rank"]
        table = caseload.from_bytes(stored) if stored is not None else None
        if table is None or not 1 <= rank <= len(table):
            return missing(request, session)
        scored = caseload.scored_case(table.iloc[rank - 1].to_dict(), ws.model)
        return _result_page(request, ws, page, session, scored, rank=rank)

    async def not_found(request: Request, _exc: Exception) -> Response:
        # An exception handler's own errors reach no other handler: answered here.
        try:
            session = await admit(request)
        except (ServiceError, *STORE_ERRORS) as exc:
            return await refused(request, exc)
        return session if isinstance(session, Response) else missing(request, session)

    # Registered here, not at import: importing the module changes no global state.
    _register_uuid_convertor()
    app = Starlette(
        routes=[
            Route("/", home, name="home"),
            Route("/signin", sign_in_page, methods=["GET"]),
            Route("/signin", sign_in, methods=["POST"]),
            Route("/signout", sign_out, methods=["POST"]),
            Route("/cases/new", new_case, methods=["GET", "POST"]),
            Route("/cases/upload", upload_case, methods=["POST"]),
            Route("/cases/{audit_id:uuid_text}", result),
            Route("/cases/{audit_id:uuid_text}/review", review, methods=["POST"]),
            Route("/reviews", my_reviews),
            Route("/reviews/{review_id}", one_review),
            Route("/caseload", caseload_page, methods=["GET", "POST"]),
            Route("/caseload/{rank:int}", caseload_case),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={
            404: not_found,
            405: not_found,
            ServiceError: refused,
            **{error: refused for error in STORE_ERRORS},
        },
    )

    async def workspace(scope: dict, receive: Callable, send: Callable) -> None:
        # Past the worker's limit of requests in progress the service's guard passes the
        # request on with its refusal (serving.http_guard): answered as a page, nothing run.
        refusal = scope.get("state", {}).get(REFUSAL_STATE_KEY) if scope["type"] == "http" else None
        if refusal is None:
            await app(scope, receive, send)
            return
        response = await refused(Request(scope, receive), refusal)
        await response(scope, receive, send)

    return _SecurityHeaders(workspace)


class _SecurityHeaders:
    """ASGI wrapper adding :data:`SECURITY_HEADERS` to every response (static files cache)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = "/static/" in scope.get("path", "")

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode())
                    for k, v in SECURITY_HEADERS.items()
                    if k.encode() not in present and not (static and k == "cache-control")
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _register_uuid_convertor() -> None:
    from starlette.convertors import Convertor, register_url_convertor

    class UUIDText(Convertor):
        regex = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    register_url_convertor("uuid_text", UUIDText())


# -- helpers ------------------------------------------------------------------------------

async def _read_form(request: Request, ws: Workspace) -> FormData | Response:
    declared = request.headers.get("content-length", "")
    limit = ws.settings.max_request_bytes
    if declared.isdigit() and int(declared) > limit:
        return HTMLResponse(_plain_page(ERR_TOO_LARGE.format(limit=limit)), status_code=413)
    try:
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=limit)
    except HTTPException as exc:
        return HTMLResponse(_plain_page(ERR_BAD_FORM.format(problem=exc.detail)), status_code=400)
    request.scope[FORM_SCOPE_KEY] = form
    return form


def _plain_page(message: str) -> str:
    from html import escape

    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>svrisk workspace</title>'
        f"</head><body><main><h1>Request refused</h1><p>{escape(message)}</p></main></body></html>"
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _sign_in_form(request: Request, ws: Workspace, page: Callable, error: str | None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "signin.html", status, token=token, error=error, session=None)
    _set_cookie(response, request, SIGN_IN_COOKIE, ws.sessions.sign(token))
    return response


def _set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    """HttpOnly, SameSite=Strict, Secure over HTTPS, for the workspace's paths only."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=request.scope.get("root_path", "") or "/",
    )


def _closing_form(endpoint: Handler) -> Handler:
    """Close the request's form after the endpoint: uploads are spooled to temporary files."""

    async def closing(request: Request) -> Response:
        try:
            return await endpoint(request)
        finally:
            form = request.scope.get(FORM_SCOPE_KEY)
            if form is not None:
                await form.close()

    return closing


def _case_page(request: Request, page: Callable, session: Session, state: case_form.CaseForm, status: int = 200) -> Response:
    used, audit = case_form.person_fields()
    tables = [
        {
            "name": table,
            "label": case_form.TABLES[table].description,
            "columns": case_form.record_columns(table),
            "rows": [
                [case_form.record_field(table, i, c) for c in case_form.record_columns(table)]
                for i in range(state.rows[table])
            ],
        }
        for table in case_form.EVENT_TABLES
    ]
    return page(request, "case_form.html", status, session=session, form=state, person_used=used,
                person_audit=audit, tables=tables, max_rows=case_form.MAX_ROWS)  # fmt: skip


def _score_form(
    request: Request, ws: Workspace, page: Callable, session: Session, state: case_form.CaseForm,
    body: dict | None = None,
) -> Response:  # fmt: skip
    try:
        case = CaseInput.model_validate(body if body is not None else case_form.to_case(state))
        scored = score_and_audit(ws.model, ws.audit, [case], session.principal)[0]
    except ValidationError as exc:
        case_form.add_validation_errors(state, exc)
        return _case_page(request, page, session, state, status=422)
    except CaseRefused as exc:
        case_form.add_case_problems(state, exc.problems)
        return _case_page(request, page, session, state, status=422)
    except ValueError as exc:
        # The single-case path's own refusals (e.g. the same person twice) carry no record value.
        state.general_errors.append(str(exc))
        return _case_page(request, page, session, state, status=422)
    ws.sessions.keep_result(session.session_id, scored.audit_id, scored.model_dump_json())
    return RedirectResponse(f"{request.scope.get('root_path', '')}/cases/{scored.audit_id}", status_code=303)


def _result_page(
    request: Request, ws: Workspace, page: Callable, session: Session, scored: dict[str, Any],
    review: dict[str, str] | None = None, review_errors: dict[str, str] | None = None,
    status: int = 200, rank: int | None = None,
) -> Response:  # fmt: skip
    groups = scored["explanation"]["raising"] + scored["explanation"]["lowering"]
    scale = max((abs(g["contribution"]) for g in groups), default=0.0) or 1.0
    can_review = scored.get("audit_id") is not None and Permission.REVIEW_WRITE in ROLE_PERMISSIONS[session.principal.role]
    return page(request, "result.html", status, session=session, scored=scored, scale=scale,
                limits=ws.limits, approval=ws.approval(), review=review or {},
                review_errors=review_errors or {}, can_review=can_review, rank=rank)  # fmt: skip


def _review_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(p) for p in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        field = loc[0] if loc else message.split(":", 1)[0]
        if field not in ("decision", "reason", "note", "practitioner_band"):
            field = "decision"
        errors.setdefault(field, f"{'.'.join(loc) + ': ' if loc else ''}{message}")
    return errors


async def _caseload_payload(form: FormData, ws: Workspace) -> bytes:
    if _text(form.get("source")) == "configured":
        if ws.settings.caseload_file is None:
            raise ValueError(ERR_NO_CONFIGURED)
        try:
            return Path(ws.settings.caseload_file).read_bytes()
        except OSError:
            raise ValueError(ERR_UNREADABLE_CONFIGURED) from None
    upload = form.get("score_file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValueError(ERR_NO_FILE)
    return await upload.read()


def _current_workspace() -> Workspace:
    import bentoml

    return bentoml.get_current_service().workspace


def __getattr__(name: str) -> Any:
    # The service's app (``workspace_app``) is built when first asked for, not at import.
    if name == "workspace_app":
        app = globals()["workspace_app"] = build_workspace_app(_current_workspace)
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
