"""Rate limits per key and per role, and the per-worker limit on requests in progress (issues 19, 21)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from serving.api_keys import API_KEY_HEADER, Principal, hash_key, new_key
from serving.errors import RateLimited
from serving.http_guard import ServiceGuard, batch_size
from serving.rate_limits import RateLimiter
from serving.settings import MAX_SQLITE_BUSY_TIMEOUT_MS, RoleRateLimit, ServingSettings

PAT = Principal(name="pat", role="practitioner")
PIP = Principal(name="pip", role="practitioner")
DAN = Principal(name="dan", role="data_scientist")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_limits_count_requests_per_key_across_workers_and_reset_each_minute(tmp_path: Path) -> None:
    clock = Clock(60 * 1000 + 45.5)  # 45.5 s into a minute
    # Two limiters on one file: two worker processes of one service.
    first, second = (RateLimiter(tmp_path / "rates.db", 3, 100, clock=clock) for _ in range(2))
    first.charge(PAT, requests=1)
    second.charge(PAT, requests=1)
    first.charge(PAT, requests=1)
    with pytest.raises(RateLimited, match="pat may make 3 requests a minute") as limited:
        second.charge(PAT, requests=1)
    assert limited.value.error_code == 429
    assert limited.value.headers == {"Retry-After": "15"}
    # Other keys have their own count; a refused request is not counted.
    first.charge(DAN, requests=1)
    clock.now += 15
    for _ in range(3):
        second.charge(PAT, requests=1)
    with pytest.raises(RateLimited):
        first.charge(PAT, requests=1)


def test_limits_count_batch_cases_and_role_totals(tmp_path: Path) -> None:
    clock = Clock(120.0)
    roles = {"practitioner": RoleRateLimit(requests=4), "data_scientist": RoleRateLimit(cases=900)}
    limiter = RateLimiter(tmp_path / "rates.db", 3, 500, roles, clock=clock)
    limiter.charge(DAN, cases=500)
    with pytest.raises(RateLimited, match="dan may make 500 batch cases a minute"):
        limiter.charge(DAN, cases=1)
    # The role's total across its keys: two practitioners share 4 requests a minute.
    for _ in range(3):
        limiter.charge(PAT, requests=1)
    limiter.charge(PIP, requests=1)
    with pytest.raises(RateLimited, match="role practitioner may make 4 requests") as limited:
        limiter.charge(PIP, requests=1)
    assert limited.value.headers["Retry-After"] == "60"


def test_limits_settings_from_the_environment(tmp_path: Path) -> None:
    env = {"SVRISK_HOME": str(tmp_path), "SVRISK_RATE_LIMIT_REQUESTS": "7",
           "SVRISK_RATE_LIMIT_ROLES": '{"team_lead": {"requests": 30, "cases": 5}}'}  # fmt: skip
    settings = ServingSettings.from_env(env)
    assert settings.rate_limit_requests == 7
    assert settings.rate_limit_roles["team_lead"] == RoleRateLimit(requests=30, cases=5)
    assert settings.rate_limit_db == tmp_path / "svrisk_rate_limits.db"
    for name, value in [("SVRISK_RATE_LIMIT_ROLES", '{"boss": {"requests": 1}}'),
                        ("SVRISK_RATE_LIMIT_ROLES", '{"admin": {"requests": 1, "per": "hour"}}'),
                        ("SVRISK_RATE_LIMIT_ROLES", "{not json"),
                        ("SVRISK_RATE_LIMIT_REQUESTS", "0"),
                        ("SVRISK_MAX_CONCURRENT", "0"),
                        ("SVRISK_SQLITE_BUSY_TIMEOUT_MS", "30000")]:  # fmt: skip
        with pytest.raises(ValueError, match=name):
            ServingSettings.from_env({**env, name: value})


def test_limits_busy_timeout_stays_below_the_request_timeout() -> None:
    from serving.service import REQUEST_TIMEOUT_S

    assert MAX_SQLITE_BUSY_TIMEOUT_MS < REQUEST_TIMEOUT_S * 1000
    assert ServingSettings.from_env({}).sqlite_busy_timeout_ms < REQUEST_TIMEOUT_S * 1000


async def _inner(scope, receive, send) -> None:
    body = json.dumps({"reached": scope["path"]}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _guarded_get(guard: ServiceGuard, path: str, key: str | None) -> tuple[int, dict[str, str]]:
    """A GET through ``guard`` alone: the response's status and headers."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [] if key is None else [(API_KEY_HEADER.lower().encode(), key.encode())]
    await guard({"type": "http", "method": "GET", "path": path, "headers": headers}, receive, send)
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    keys = {"practitioner": new_key(), "data_scientist": new_key()}
    entries = [{"name": f"t-{role}", "role": role, "sha256": hash_key(key)} for role, key in keys.items()]
    monkeypatch.setenv("SVRISK_API_KEYS", json.dumps(entries))
    monkeypatch.delenv("SVRISK_API_KEYS_FILE", raising=False)
    monkeypatch.setenv("SVRISK_RATE_LIMIT_DB", str(tmp_path / "rates.db"))
    return keys


def test_limits_guard_answers_429_with_retry_after(keys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVRISK_RATE_LIMIT_REQUESTS", "2")
    monkeypatch.setenv("SVRISK_RATE_LIMIT_CASES", "3")
    client = TestClient(ServiceGuard(_inner))
    practitioner = {API_KEY_HEADER: keys["practitioner"]}
    assert client.post("/score", json={}, headers=practitioner).status_code == 200
    assert client.post("/score", json={}, headers=practitioner).status_code == 200
    limited = client.post("/score", json={}, headers=practitioner)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"].startswith("rate limit: t-practitioner may make 2 requests")
    # Open paths are never limited.
    assert client.get("/readyz").status_code == 200
    # A batch's cases count against the cases a minute; the request itself too.
    scientist = {API_KEY_HEADER: keys["data_scientist"]}
    assert client.post("/score_batch", json={"cases": [{}, {}]}, headers=scientist).status_code == 200
    batch = client.post("/score_batch", json={"cases": [{}, {}]}, headers=scientist)
    assert batch.status_code == 429
    assert "3 batch cases a minute" in batch.json()["error"]
    assert "retry-after" in batch.headers
    # A body that is no batch charges no cases; the endpoint refuses it itself.
    assert batch_size(b"[" * 100_000) == batch_size(b"not json") == batch_size(b'{"cases": 3}') == 0


def test_limits_guard_refuses_requests_past_the_worker_limit_at_once(keys, monkeypatch) -> None:
    monkeypatch.setenv("SVRISK_MAX_CONCURRENT", "2")
    release = asyncio.Event()

    async def slow(scope, receive, send) -> None:
        if scope["path"] == "/slow":
            await release.wait()
        await _inner(scope, receive, send)

    guard = ServiceGuard(slow)

    def call(path: str, key: str | None) -> Awaitable[tuple[int, dict[str, str]]]:
        return _guarded_get(guard, path, key)

    async def scenario() -> None:
        key = keys["practitioner"]
        slow_calls = [asyncio.create_task(call("/slow", key)) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert guard.in_flight == 2
        # A third keyed request is refused at once, not queued behind the slow ones ...
        status, headers = await asyncio.wait_for(call("/fast", key), timeout=1)
        assert (status, headers["retry-after"]) == (503, "1")
        # ... while the probes still answer.
        assert (await asyncio.wait_for(call("/readyz", None), timeout=1))[0] == 200
        release.set()
        assert [(await task)[0] for task in slow_calls] == [200, 200]
        assert guard.in_flight == 0
        assert (await call("/fast", key))[0] == 200

    asyncio.run(scenario())


def test_limits_charge_without_waiting_counts_nothing_while_another_worker_holds_the_counter(tmp_path: Path) -> None:
    import sqlite3

    clock = Clock(60 * 1000.0)
    limiter = RateLimiter(tmp_path / "rates.db", 2, 100, clock=clock)
    assert limiter.charge(PAT, requests=1, wait=False) is True
    holder = sqlite3.connect(tmp_path / "rates.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        # The guard's try on its event loop: no wait, nothing counted, try again in a thread.
        assert limiter.charge(PAT, requests=1, wait=False) is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert limiter.charge(PAT, requests=1) is True
    with pytest.raises(RateLimited):
        limiter.charge(PAT, requests=1, wait=False)


def test_limits_guard_waits_for_a_held_counter_off_its_loop(keys, tmp_path: Path) -> None:
    import sqlite3

    guard = ServiceGuard(_inner)

    async def call(path: str, key: str | None) -> int:
        return (await _guarded_get(guard, path, key))[0]

    async def scenario() -> None:
        assert await call("/fast", keys["practitioner"]) == 200  # the counter file exists now
        holder = sqlite3.connect(tmp_path / "rates.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(call("/fast", keys["practitioner"]))
        await asyncio.sleep(0.2)
        # The keyed request waits for the counter in a thread; the loop still answers probes.
        assert not waiting.done()
        assert await asyncio.wait_for(call("/readyz", None), timeout=1) == 200
        holder.execute("COMMIT")
        holder.close()
        assert await asyncio.wait_for(waiting, timeout=5) == 200

    asyncio.run(scenario())
