"""Faults and limits on a real server with 2 workers (issue 19, issue 21 item 7).

One server for the module: a key file the test edits, a 3 s busy timeout, 2
requests in progress per worker, and a role-wide limit for the ethics panel.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from serving.api_keys import hash_key, new_key
from serving.audit_availability import ERR_AUDIT_UNAVAILABLE, ERR_TRAIL_UNAVAILABLE
from serving.client import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.server]

ROLES = ("practitioner", "data_scientist", "ethics_panel")
ETHICS_REQUESTS_PER_MINUTE = 6
# Long enough that the probe below is timed well inside the wait on a loaded machine.
BUSY_TIMEOUT_MS = 3000


@dataclass
class FaultServer:
    url: str
    keys: dict[str, str]
    keys_file: Path
    audit_folder: Path
    server: ServerProcess

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}

    def write_keys(self, **extra: dict) -> None:
        entries = [{"name": f"fault-{role}", "role": role, "sha256": hash_key(key), **extra.get(role, {})}
                   for role, key in self.keys.items()]  # fmt: skip
        tmp = self.keys_file.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump({"keys": entries}))
        os.replace(tmp, self.keys_file)


@pytest.fixture(scope="module")
def fault_server(champion, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fault_server")
    audit_folder = root / "audit"
    audit_folder.mkdir()
    keys = {role: new_key() for role in ROLES}
    served = FaultServer("", keys, root / "keys.yaml", audit_folder, None)  # type: ignore[arg-type]
    served.write_keys()
    env = {
        **champion.store_env,
        "SVRISK_AUDIT_DB": f"sqlite:///{audit_folder / 'audit.db'}",
        "SVRISK_API_KEYS_FILE": str(served.keys_file),
        "SVRISK_RATE_LIMIT_DB": str(root / "rates.db"),
        "SVRISK_RATE_LIMIT_ROLES": json.dumps({"ethics_panel": {"requests": ETHICS_REQUESTS_PER_MINUTE}}),
        "SVRISK_SQLITE_BUSY_TIMEOUT_MS": str(BUSY_TIMEOUT_MS),
        "SVRISK_MAX_CONCURRENT": "2",
    }
    with ServerProcess(env, workers=2, log_path=root / "server.log", ready_timeout=240) as server:
        served.url, served.server = server.url, server
        yield served


def _fresh(method: str, url: str, **kwargs) -> httpx.Response:
    # A new connection each time, so the requests spread over both workers.
    with httpx.Client(timeout=60) as client:
        return client.request(method, url, **kwargs)


def _rows(folder: Path) -> int:
    with sqlite3.connect(folder / "audit.db") as conn:
        return conn.execute("SELECT count(*) FROM score_audit").fetchone()[0]


def test_faults_server_revoked_and_expired_keys_get_401_on_every_worker(fault_server, cases) -> None:
    url = fault_server.url + "/score"
    assert _fresh("POST", url, json=cases[0], headers=fault_server.headers("practitioner")).status_code == 200
    try:
        fault_server.write_keys(practitioner={"revoked": True}, data_scientist={"expires": "2020-01-01"})
        # No restart: each of many fresh connections, whichever worker takes it, is refused.
        for _ in range(12):
            revoked = _fresh("POST", url, json=cases[0], headers=fault_server.headers("practitioner"))
            assert revoked.status_code == 401 and revoked.json() == {"error": "API key revoked"}
            expired = _fresh("POST", fault_server.url + "/score_batch", json={"cases": cases[:1]},
                             headers=fault_server.headers("data_scientist"))  # fmt: skip
            assert expired.status_code == 401 and "expired on 2020-01-01" in expired.json()["error"]
    finally:
        fault_server.write_keys()
    assert _fresh("POST", url, json=cases[0], headers=fault_server.headers("practitioner")).status_code == 200


def test_faults_server_role_limit_is_shared_by_the_workers(fault_server) -> None:
    url = fault_server.url + "/reviews"
    statuses = [_fresh("GET", url, headers=fault_server.headers("ethics_panel")) for _ in range(10)]
    codes = [r.status_code for r in statuses]
    # Counted across both workers: the 7th request of the minute is refused whichever
    # worker takes it (a minute boundary mid-test can only delay the first refusal).
    assert 200 in codes and 429 in codes
    assert codes.count(200) <= 2 * ETHICS_REQUESTS_PER_MINUTE
    limited = next(r for r in statuses if r.status_code == 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "role ethics_panel may make 6 requests a minute" in limited.json()["error"]


def test_faults_server_locked_database_503_busy_and_readyz_answers(fault_server, cases) -> None:
    before = _rows(fault_server.audit_folder)
    holder = sqlite3.connect(fault_server.audit_folder / "audit.db", isolation_level=None, timeout=10)
    holder.execute("BEGIN EXCLUSIVE")
    headers = fault_server.headers("practitioner")
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            slow = [pool.submit(_fresh, "POST", fault_server.url + "/score", json=cases[i], headers=headers)
                    for i in range(8)]  # fmt: skip
            time.sleep(0.5)
            # While the scores wait on the lock, the probe answers, well inside the 3 s wait
            # (a worker whose loop waited on the lock would answer only after it).
            probes = []
            for _ in range(3):
                start = time.monotonic()
                probes.append((_fresh("GET", fault_server.url + "/readyz").status_code,
                               time.monotonic() - start, sum(f.done() for f in slow)))  # fmt: skip
            answers = [f.result() for f in slow]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    log = fault_server.server.log_text()[-4000:]
    assert all(code == 200 for code, _, _ in probes), (probes, log)
    assert min(seconds for _, seconds, _ in probes) < BUSY_TIMEOUT_MS / 2000, (probes, log)
    codes = sorted(r.status_code for r in answers)
    # 2 workers x 2 in progress wait out the busy timeout (503: no score without its audit
    # row); the others were refused at once as busy (503 too). None is given a score.
    assert codes == [503] * 8
    assert not any("probability" in r.text for r in answers)
    # Refused by the guard as busy: at once, with its own body and Retry-After.
    busy = [r for r in answers if "busy" in r.text]
    assert 4 <= len(busy) <= 6
    assert all(r.headers["retry-after"] == "1" for r in busy)
    assert _rows(fault_server.audit_folder) == before
    assert _fresh("POST", fault_server.url + "/score", json=cases[0], headers=headers).status_code == 200


def test_faults_server_audit_folder_removed_then_restored(fault_server, cases) -> None:
    headers = fault_server.headers("practitioner")
    url = fault_server.url + "/score"
    assert _fresh("POST", url, json=cases[1], headers=headers).status_code == 200
    before = _rows(fault_server.audit_folder)
    away = fault_server.audit_folder.rename(fault_server.audit_folder.with_name("audit-away"))
    try:
        for _ in range(4):
            refused = _fresh("POST", url, json=cases[1], headers=headers)
            assert refused.status_code == 503
            assert "probability" not in refused.text
            # The service's own words and Retry-After, not BentoML's generic 5xx body.
            assert refused.json() == {"error": ERR_AUDIT_UNAVAILABLE}
            assert int(refused.headers["Retry-After"]) >= 1
        review = {"audit_id": str(uuid.uuid4()), "decision": "agree", "reason": "fault test"}
        reviewed = _fresh("POST", fault_server.url + "/reviews", json=review, headers=headers)
        assert reviewed.status_code == 503 and reviewed.json() == {"error": ERR_TRAIL_UNAVAILABLE}
    finally:
        away.rename(fault_server.audit_folder)
    assert _rows(fault_server.audit_folder) == before
    # The service resumes by itself once the database is back.
    for _ in range(4):
        assert _fresh("POST", url, json=cases[1], headers=headers).status_code == 200
    assert _rows(fault_server.audit_folder) == before + 4


def test_faults_server_sigterm_under_load_finishes_what_is_in_flight(champion, cases, tmp_path: Path) -> None:
    keys = {"data_scientist": new_key()}
    audit = tmp_path / "audit.db"
    env = {
        **champion.store_env,
        "SVRISK_AUDIT_DB": f"sqlite:///{audit}",
        "SVRISK_API_KEYS": json.dumps([{"name": "term", "role": "data_scientist",
                                        "sha256": hash_key(keys["data_scientist"])}]),  # fmt: skip
        "SVRISK_RATE_LIMIT_DB": str(tmp_path / "rates.db"),
    }
    server = ServerProcess(env, workers=2, log_path=tmp_path / "server.log", ready_timeout=240).start()
    stop = threading.Event()
    results: list[tuple[float, float, object]] = []
    batch = {"cases": cases[:40]}

    def client() -> None:
        with httpx.Client(timeout=60, headers={"X-API-Key": keys["data_scientist"]}) as http:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    answer: object = http.post(server.url + "/score_batch", json=batch)
                except httpx.TransportError as exc:
                    answer = exc
                results.append((sent, time.monotonic(), answer))

    try:
        threads = [threading.Thread(target=client) for _ in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(4)
        stop.set()  # no client sends after this ...
        time.sleep(0.05)
        sigterm_at = time.monotonic()
        os.kill(server.process_.pid, 15)  # ... and SIGTERM goes to the server, as an orchestrator sends it
        for thread in threads:
            thread.join(timeout=90)
        code = server.process_.wait(timeout=90)
    finally:
        server.stop()
    in_flight = [r for r in results if r[0] < sigterm_at < r[1]]
    assert in_flight, "no request was in flight at SIGTERM"
    failed = [r for r in results if not isinstance(r[2], httpx.Response) or r[2].status_code != 200]
    assert not failed, [(r[2] if not isinstance(r[2], httpx.Response) else r[2].status_code) for r in failed]
    assert code == 0, server.log_text()[-3000:]
    answered = {item["audit_id"] for _, _, r in results for item in r.json()["results"]}
    with sqlite3.connect(audit) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT audit_id FROM score_audit")}
    # Every answered score has its row, and no row was written for a request that was cut off.
    assert stored == answered
