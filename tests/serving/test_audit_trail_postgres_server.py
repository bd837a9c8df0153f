"""The real service with 4 workers on PostgreSQL: no audit row lost under 500 concurrent requests (issue 18)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from served_model import ROLES, service_env
from typer.testing import CliRunner

from serving.api_keys import new_key
from serving.audit_trail import AuditTrail
from serving.client import ServerProcess
from svrisk.cli import app

REQUESTS = 500


async def _score_all(url: str, key: str, cases: list[dict]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=180, limits=limits) as client:
        return await asyncio.gather(
            *[client.post("/score", json=cases[i % len(cases)]) for i in range(REQUESTS)], return_exceptions=True
        )


@pytest.mark.slow
@pytest.mark.server
def test_audit_trail_postgres_four_workers_lose_no_row(champion, cases, postgres_url, tmp_path) -> None:
    url = postgres_url
    keys = {role: new_key() for role in ROLES}
    # Every request is let in (the per-worker limit would turn some away with 503, which
    # loses nothing but is not what this test counts).
    env = {**service_env(champion, url, keys, "pg"), "SVRISK_CHAIN_HEAD_SECONDS": "0",
           "SVRISK_MAX_CONCURRENT": str(REQUESTS)}
    with ServerProcess(env, workers=4, log_path=tmp_path / "server.log", ready_timeout=240) as server:
        responses = asyncio.run(_score_all(server.url, keys["practitioner"], cases))
        log = server.log_text()
    ok = [r for r in responses if isinstance(r, httpx.Response) and r.status_code == 200]
    trail = AuditTrail(url)
    audited = {r["audit_id"] for r in trail.scorings()}
    # Every 200 has its row (and, with 4 workers on 2 cores, every request got its 200).
    assert {r.json()["audit_id"] for r in ok} <= audited and len(audited) == trail.count_scores()
    assert len(ok) == REQUESTS, [r if not isinstance(r, httpx.Response) else r.status_code
                                 for r in responses if r not in ok][:5]  # fmt: skip
    assert trail.count_scores() == REQUESTS and trail.heads()[0].rows == REQUESTS
    trail.dispose()
    # One chain across the 4 workers, reaching every head they logged.
    (tmp_path / "heads.log").write_text(log)
    verified = CliRunner().invoke(app, ["audit-trail", "verify", url, "--against", str(tmp_path / "heads.log")])
    assert verified.exit_code == 0, verified.output
    assert "rows=500" in log
