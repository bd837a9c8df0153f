"""Faults, in process: the audit database gone, read-only or locked; the model's files changed.

No score is given without its audit row; the service resumes when the database
returns; a locked database holds up its own request, not the event loop; a model
whose files changed after it was verified is refused at the next load (a worker's
start or restart: the only time a worker loads a model).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

import pytest

from serving.api_keys import Principal
from serving.audit_availability import ERR_AUDIT_UNAVAILABLE, watch_sqlite_file
from serving.audit_trail import AuditTrail
from serving.case_scoring import CaseInput, score_and_audit, score_and_audit_on_loop
from serving.errors import AuditUnavailable, ModelRefused

pytestmark = [pytest.mark.slow]  # loads the session's champion in process (a few seconds)

PAT = Principal(name="pat", role="practitioner")


@pytest.fixture(scope="module")
def model(champion):
    from serving.model_loader import load_served_model
    from serving.settings import ServingSettings

    with pytest.MonkeyPatch.context() as patch:
        for name, value in champion.store_env.items():
            patch.setenv(name, value)
        return load_served_model(ServingSettings.from_env())


@pytest.fixture
def case(cases) -> CaseInput:
    return CaseInput.model_validate(cases[0])


def _trail(path: Path, busy_timeout_ms: int = 5000) -> AuditTrail:
    trail = AuditTrail(f"sqlite:///{path}", busy_timeout_ms)
    for engine in trail.engines:  # as the service does
        watch_sqlite_file(engine)
    trail.create_schema()
    return trail


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM score_audit").fetchone()[0]


def _on_loop(model, trail, cases, principal):
    return asyncio.run(score_and_audit_on_loop(model, trail, cases, principal))


# /score commits on its event loop when it can (score_and_audit_on_loop), /score_batch in a thread.
@pytest.mark.parametrize("score", [score_and_audit, _on_loop], ids=["thread", "loop"])
def test_faults_audit_folder_removed_then_restored(model, case, tmp_path: Path, score) -> None:
    folder = tmp_path / "audit"
    folder.mkdir()
    trail = _trail(folder / "audit.db")
    first = score(model, trail, [case], PAT)
    assert _rows(folder / "audit.db") == 1
    # The folder goes away while the pool still holds an open connection to the file:
    # without the file check the commit would succeed into a file nobody will read.
    away = folder.rename(tmp_path / "away")
    with pytest.raises(AuditUnavailable, match="no score is given") as refused:
        score(model, trail, [case], PAT)
    assert refused.value.error_code == 503 and refused.value.message == ERR_AUDIT_UNAVAILABLE
    assert refused.value.headers["Retry-After"] == "5"
    assert _rows(away / "audit.db") == 1
    # Back in place: the service resumes without a restart.
    away.rename(folder)
    second = score(model, trail, [case], PAT)
    assert _rows(folder / "audit.db") == 2
    assert {first[0].audit_id, second[0].audit_id} == {r["audit_id"] for r in trail.scorings()}


def test_faults_audit_file_replaced_by_an_empty_one(model, case, tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    trail = _trail(path)
    score_and_audit(model, trail, [case], PAT)
    kept = path.rename(tmp_path / "kept.db")
    for suffix in ("-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            Path(f"{path}{suffix}").rename(tmp_path / f"kept.db{suffix}")
    path.touch()
    with pytest.raises(AuditUnavailable):
        score_and_audit(model, trail, [case], PAT)
    assert _rows(kept) == 1


def test_faults_audit_database_read_only(model, case, tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    _trail(path).dispose()
    # Opened read-only, as SQLite does with a file the process may not write (the tests
    # run as root, who may write any file, so the mode is asked for instead).
    read_only = AuditTrail(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(AuditUnavailable):
        score_and_audit(model, read_only, [case], PAT)
    assert _rows(path) == 0
    if os.geteuid() != 0:
        path.chmod(0o444)
        with pytest.raises(AuditUnavailable):
            score_and_audit(model, AuditTrail(f"sqlite:///{path}"), [case], PAT)
        path.chmod(0o644)
    score_and_audit(model, _trail(path), [case], PAT)
    assert _rows(path) == 1


def test_faults_locked_database_answers_503_and_keeps_the_loop_free(model, case, tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    trail = _trail(path, busy_timeout_ms=600)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    async def scenario() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(ticker())
        start = time.monotonic()
        with pytest.raises(AuditUnavailable):
            await score_and_audit_on_loop(model, trail, [case], PAT)
        waited = time.monotonic() - start
        beat.cancel()
        assert 0.5 < waited < 10
        return ticks

    # The loop kept running while the commit waited for the lock (ticks every 10 ms).
    assert asyncio.run(scenario()) >= 20
    holder.execute("ROLLBACK")
    holder.close()
    scored = asyncio.run(score_and_audit_on_loop(model, trail, [case], PAT))
    assert [r["audit_id"] for r in trail.scorings()] == [scored[0].audit_id]


def _stored_model_folder(champion) -> Path:
    """The registry's own copy of the champion's files (what every worker start downloads)."""
    from urllib.parse import unquote, urlparse

    from mlflow import MlflowClient

    with pytest.MonkeyPatch.context() as patch:
        for name, value in champion.store_env.items():
            patch.setenv(name, value)
        client = MlflowClient()
        version = client.get_model_version("svrisk", champion.version)
        source = version.source
        if source.startswith("models:/"):  # a logged model (MLflow 3): its own artifact folder
            source = client.get_logged_model(source.removeprefix("models:/")).artifact_location
    folder = Path(unquote(urlparse(source).path))
    assert (folder / "MLmodel").is_file(), source
    return folder


def test_faults_model_files_changed_on_disk_are_refused_at_the_next_load(champion, model) -> None:
    from serving.model_loader import load_served_model
    from serving.settings import ServingSettings

    folder = _stored_model_folder(champion)
    target = max((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    original = target.read_bytes()
    try:
        target.write_bytes(original + b"\0")
        with pytest.MonkeyPatch.context() as patch:
            for name, value in champion.store_env.items():
                patch.setenv(name, value)
            with pytest.raises(ModelRefused, match="checksum"):
                load_served_model(ServingSettings.from_env())
    finally:
        target.write_bytes(original)
    # The model already loaded in a running worker is the verified copy, in memory.
    assert model.version == champion.version
