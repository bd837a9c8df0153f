"""Who may go on using the workspace: the session's key re-checked, rate limits, refusals as pages.

These need no trained model: the pages here (start, sign-in, my reviews) show none of it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa
import yaml
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from serving.api_keys import ERR_KEYS_UNREADABLE, Principal, hash_key, new_key
from serving.audit_availability import AUDIT_RETRY_S, ERR_TRAIL_UNAVAILABLE
from serving.audit_trail import AuditTrail
from serving.errors import RateLimited
from serving.http_guard import BUSY_RETRY_S, ERR_BUSY, ServiceGuard
from serving.rate_limits import COUNTER_BUSY_RETRY_S, ERR_COUNTER_BUSY, RateLimiter
from serving.settings import ServingSettings
from serving.workspace.app import CSP, ERR_KEY_ENDED, Workspace, build_workspace_app
from serving.workspace.sessions import SESSION_COOKIE, SESSION_KEYS, SESSIONS
from workspace_client import csrf_token, sign_in

# What the page templates read of a served model; the pages these tests open show no score.
NO_MODEL = SimpleNamespace(risk_model=SimpleNamespace(absolute_risk=lambda probability: probability), card={})
# Mid-minute, so the tests' requests all fall in one rate-limit window (30 s left of it).
FIXED_CLOCK_S = 1_800_000_030.0
HOLDERS = {"a.smith": "practitioner", "b.jones": "practitioner", "c.lead": "team_lead"}
BASE = "http://testserver"


class Deployment:
    """A workspace's key file, audit database and rate counter; :meth:`worker` is one worker over them."""

    def __init__(self, root: Path, **settings: object) -> None:
        self.root = root
        self.keys = {name: new_key() for name in HOLDERS}
        self.key_file = root / "keys.yaml"
        self.write_keys({})
        self.settings = ServingSettings(
            audit_db=f"sqlite:///{root / 'audit.db'}", api_keys_file=self.key_file,
            rate_limit_db=root / "rates.db", **settings,
        )  # fmt: skip
        self.workers: list[Workspace] = []

    def write_keys(self, changes: dict[str, dict | None]) -> None:
        """The key file, each holder's entry updated by ``changes`` (None: left out)."""
        entries = [
            {"name": name, "role": role, "sha256": hash_key(self.keys[name]), **(changes.get(name) or {})}
            for name, role in HOLDERS.items()
            if not (name in changes and changes[name] is None)
        ]
        self.replace_key_file(yaml.safe_dump({"keys": entries}))

    def replace_key_file(self, text: str) -> None:
        # Written whole and renamed into place, as an operator's tooling would.
        staged = self.root / "keys.yaml.new"
        staged.write_text(text)
        os.replace(staged, self.key_file)

    def worker(self) -> tuple[Starlette, Workspace]:
        """A worker's workspace app: its own key ring, limiter and engines over the shared files."""
        audit = AuditTrail(self.settings.audit_db, self.settings.sqlite_busy_timeout_ms)
        audit.create_schema()
        workspace = Workspace(self.settings, NO_MODEL, audit, limits=[])
        workspace.limiter.clock = lambda: FIXED_CLOCK_S
        self.workers.append(workspace)
        return Starlette(routes=[Mount("/app", app=build_workspace_app(lambda: workspace))]), workspace

    def close(self) -> None:
        for workspace in self.workers:
            workspace.limiter.close()
            workspace.sessions.copies.dispose()
            workspace.audit.dispose()


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def make(**settings: object) -> Deployment:
        made.append(Deployment(tmp_path, **settings))
        return made[-1]

    yield make
    for deployment in made:
        deployment.close()


def _sessions_named(workspace: Workspace, cookie: str) -> int:
    session_id = workspace.sessions.unsign(cookie)
    with workspace.audit.engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(SESSIONS).where(SESSIONS.c.session_id == session_id)
        ).scalar_one()


def _assert_page(response, status: int, *texts: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    for text in texts:
        assert text in response.text, text


@pytest.mark.parametrize(
    "change", [{"revoked": True}, {"expires": dt.date.today().isoformat()}, None], ids=["revoked", "expired", "removed"]
)
def test_a_session_ends_at_once_on_every_worker_when_its_key_is_no_longer_accepted(deploy, change) -> None:
    deployment = deploy()
    first, first_ws = deployment.worker()
    second, _ = deployment.worker()
    client, token = sign_in(first, deployment.keys["a.smith"])
    cookie = client.cookies[SESSION_COOKIE]
    assert client.get("/app/reviews").status_code == 200
    other, _ = sign_in(second, deployment.keys["b.jones"])
    deployment.write_keys({"a.smith": change})
    # The second worker reads the changed key file at this request: no restart, no wait.
    ended = TestClient(second, base_url=BASE, cookies={SESSION_COOKIE: cookie}).get("/app/reviews")
    _assert_page(ended, 401, ERR_KEY_ENDED, 'name="api_key"')
    assert f'{SESSION_COOKIE}=""' in ended.headers["set-cookie"]  # the browser forgets it
    assert _sessions_named(first_ws, cookie) == 0
    # The cookie, kept or copied, opens nothing on either worker, GET or POST.
    assert client.get("/app/", follow_redirects=False).status_code == 303
    assert client.post("/app/signout", data={"csrf_token": token}).status_code == 403
    assert other.get("/app/reviews").status_code == 200  # another holder's session goes on


def test_a_key_refused_mid_session_refuses_a_post_before_it_records(deploy) -> None:
    deployment = deploy()
    app, workspace = deployment.worker()
    client, token = sign_in(app, deployment.keys["a.smith"])
    deployment.write_keys({"a.smith": {"revoked": True}})
    refused = client.post("/app/signout", data={"csrf_token": token})
    _assert_page(refused, 401, ERR_KEY_ENDED)


def test_a_session_from_before_keys_were_recorded_is_ended(deploy) -> None:
    deployment = deploy()
    app, workspace = deployment.worker()
    client, _ = sign_in(app, deployment.keys["a.smith"])
    with workspace.audit.engine.begin() as conn:
        conn.execute(SESSION_KEYS.delete())  # as a session table made before the upgrade
    _assert_page(client.get("/app/"), 401, ERR_KEY_ENDED)
    assert _sessions_named(workspace, client.cookies.get(SESSION_COOKIE) or "") == 0


def test_a_role_changed_in_the_key_file_applies_to_the_open_session(deploy) -> None:
    deployment = deploy()
    app, _ = deployment.worker()
    client, _ = sign_in(app, deployment.keys["c.lead"])
    assert client.get("/app/caseload").status_code == 200
    deployment.write_keys({"c.lead": {"role": "ethics_panel"}})
    _assert_page(client.get("/app/caseload"), 403, "may not see this page")


def test_pages_are_charged_to_the_apis_budget_per_key_and_per_role(deploy) -> None:
    deployment = deploy(rate_limit_requests=4, rate_limit_roles={"team_lead": {"requests": 2}})
    app, _ = deployment.worker()
    client, _ = sign_in(app, deployment.keys["a.smith"])  # the sign-in and the start page: 2
    assert client.get("/app/reviews").status_code == 200
    assert client.get("/app/").status_code == 200
    limited = client.get("/app/reviews")
    _assert_page(limited, 429, "Too many requests", "may make 4 requests a minute")
    assert limited.headers["retry-after"] == "30"
    # One budget with the API: its guard's limiter (the same counter file) refuses the key too.
    api = RateLimiter.from_settings(deployment.settings)
    api.clock = lambda: FIXED_CLOCK_S
    try:
        with pytest.raises(RateLimited):
            api.charge(Principal(name="a.smith", role="practitioner"), requests=1)
    finally:
        api.close()
    # The role's total: the team lead's sign-in and start page use it up.
    lead, _ = sign_in(app, deployment.keys["c.lead"])
    _assert_page(lead.get("/app/caseload"), 429, "role team_lead may make 2 requests")


def test_a_locked_audit_trail_answers_503_as_a_page(deploy) -> None:
    deployment = deploy(sqlite_busy_timeout_ms=50)
    app, _ = deployment.worker()
    client, _ = sign_in(app, deployment.keys["a.smith"])
    holder = sqlite3.connect(deployment.root / "audit.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        busy = client.get("/app/reviews")  # the page records its read in the access log
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _assert_page(busy, 503, ERR_TRAIL_UNAVAILABLE)
    assert busy.headers["retry-after"] == str(AUDIT_RETRY_S)
    assert client.get("/app/reviews").status_code == 200  # the session outlives the outage


def test_a_store_error_on_a_missing_page_answers_503_without_its_values(deploy, monkeypatch) -> None:
    deployment = deploy()
    app, workspace = deployment.worker()
    client, _ = sign_in(app, deployment.keys["a.smith"])

    def lost(_cookie: str | None) -> None:
        raise sa.exc.OperationalError("SELECT ... WHERE id = ?", ("record-value-x",), Exception("disk I/O error"))

    monkeypatch.setattr(workspace.sessions, "find", lost)
    for path in ("/app/no-such-page", "/app/reviews"):
        failed = client.get(path)
        _assert_page(failed, 503, ERR_TRAIL_UNAVAILABLE)
        assert "record-value-x" not in failed.text and "disk I/O" not in failed.text


def test_an_unreadable_key_file_answers_503_until_it_is_fixed(deploy) -> None:
    deployment = deploy()
    app, _ = deployment.worker()
    client, _ = sign_in(app, deployment.keys["a.smith"])
    good = deployment.key_file.read_text()
    deployment.replace_key_file("keys: [this is not an entry")
    _assert_page(client.get("/app/"), 503, ERR_KEYS_UNREADABLE)
    deployment.replace_key_file(good)
    assert client.get("/app/").status_code == 200  # fixed: the session was kept


def test_a_busy_rate_counter_answers_503_as_a_page(deploy) -> None:
    deployment = deploy()
    app, _ = deployment.worker()
    client, _ = sign_in(app, deployment.keys["a.smith"])  # the counter file exists now
    holder = sqlite3.connect(deployment.settings.rate_limit_db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        busy = client.get("/app/")  # waits COUNTER_BUSY_TIMEOUT_S, then refuses
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _assert_page(busy, 503, ERR_COUNTER_BUSY)
    assert busy.headers["retry-after"] == str(COUNTER_BUSY_RETRY_S)


def test_pages_charge_the_rate_counter_on_the_loop_while_it_is_free(deploy, monkeypatch) -> None:
    deployment = deploy()
    app, workspace = deployment.worker()
    client, _ = sign_in(app, deployment.keys["a.smith"])
    waits: list[bool] = []
    charge = workspace.limiter.charge

    def counted(*args, wait: bool = True, **kwargs) -> bool:
        waits.append(wait)
        return charge(*args, wait=wait, **kwargs)

    monkeypatch.setattr(workspace.limiter, "charge", counted)
    assert client.get("/app/reviews").status_code == 200
    # As the API's guard: no hop to a thread (and no wait) while no other worker holds the counter.
    assert waits == [False]


def test_pages_past_the_workers_limit_of_requests_in_progress_get_the_busy_page_at_once(deploy, monkeypatch) -> None:
    deployment = deploy()
    _, workspace = deployment.worker()
    # The service's guard in front of the workspace, over the same key file and counter.
    monkeypatch.setenv("SVRISK_MAX_CONCURRENT", "2")
    monkeypatch.setenv("SVRISK_API_KEYS_FILE", str(deployment.key_file))
    monkeypatch.delenv("SVRISK_API_KEYS", raising=False)
    monkeypatch.setenv("SVRISK_RATE_LIMIT_DB", str(deployment.settings.rate_limit_db))
    service = Starlette(routes=[
        Route("/readyz", lambda _request: PlainTextResponse("ok")),
        Mount("/app", app=build_workspace_app(lambda: workspace)),
    ])  # fmt: skip
    release = asyncio.Event()

    async def slow_reviews(scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/app/reviews":
            await release.wait()
        await service(scope, receive, send)

    guard = ServiceGuard(slow_reviews)

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url=BASE) as client:
            token = csrf_token((await client.get("/app/signin")).text)
            await client.post("/app/signin", data={"csrf_token": token, "api_key": deployment.keys["a.smith"]})
            held = [asyncio.create_task(client.get("/app/reviews")) for _ in range(2)]
            for _ in range(500):  # the two held pages reach the guard within a few loop turns
                if guard.in_flight == 2:
                    break
                await asyncio.sleep(0.01)
            assert guard.in_flight == 2
            # A third page is refused at once as the workspace's own page, not the API's JSON ...
            busy = await asyncio.wait_for(client.get("/app/"), timeout=1)
            _assert_page(busy, 503, "Not available just now", ERR_BUSY.format(limit=2))
            assert busy.headers["retry-after"] == str(BUSY_RETRY_S)
            assert busy.headers["content-security-policy"] == CSP
            # ... while the probes and the busy page's stylesheet still answer.
            assert (await asyncio.wait_for(client.get("/readyz"), timeout=1)).status_code == 200
            assert (await asyncio.wait_for(client.get("/app/static/workspace.css"), timeout=1)).status_code == 200
            release.set()
            assert [(await page).status_code for page in held] == [200, 200]
            assert guard.in_flight == 0
            assert (await client.get("/app/")).status_code == 200

    asyncio.run(scenario())


def test_the_workspace_passes_the_services_busy_timeout_to_its_copies_engine(deploy) -> None:
    deployment = deploy(sqlite_busy_timeout_ms=1234)
    _, workspace = deployment.worker()
    with workspace.sessions.copies.connect() as copies:
        assert copies.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
