"""The audit trail on SQLite and PostgreSQL (issue 18) and its hash chains (issue 19).

Every test taking ``trail_url`` runs on both back ends (tests/postgres_server.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from serving.audit_chain import GENESIS_HASH, HASH_COLUMN, PREV_COLUMN, SEQ_COLUMN, chained, row_hash
from serving.audit_trail import (
    ERR_APPEND_ONLY,
    REVIEWS,
    SCORES,
    AuditStoreUnavailable,
    AuditTrail,
    ScoreRow,
    WriteLockBusy,
    new_audit_id,
    store_errors,
    utc_now,
)
from serving.client import free_port
from svrisk.cli import app

runner = CliRunner()


def _row(**changes: object) -> ScoreRow:
    values = {"audit_id": new_audit_id(), "created_at": utc_now(), "caller": "pat", "role": "practitioner",
              "person_id": "P1", "as_of": dt.date(2024, 4, 1), "model_version": "3", "probability": 0.1234567891,
              "band": 7, "sex": "female", "imd_decile": 2}  # fmt: skip
    return ScoreRow(**{**values, **changes})


def _trail(url: str, rows: int = 0) -> AuditTrail:
    trail = AuditTrail(url)
    trail.create_schema()
    for _ in range(rows):
        trail.append_scores([_row()])
    return trail


def test_audit_trail_refuses_update_and_delete_in_the_database(trail_url: str) -> None:
    trail = _trail(trail_url, rows=3)
    trail.create_schema()  # idempotent: every worker runs it at start
    assert trail.schema_revision() == trail.head_revision()
    audit_id = list(trail.chain_rows(SCORES))[0]["audit_id"]
    trail.append_review({"review_id": new_audit_id(), "audit_id": audit_id, "created_at": utc_now(), "caller": "pat",
                         "role": "practitioner", "decision": "agree", "reason": "", "model_version": "3"})  # fmt: skip
    for table in (SCORES, REVIEWS):
        for statement in (table.delete(), table.update().values(created_at=utc_now())):
            # The database refuses, not this class: raw SQL through the service's own connection.
            with pytest.raises(sa.exc.DBAPIError, match=ERR_APPEND_ONLY), trail.engine.begin() as conn:
                conn.execute(statement)
    assert trail.count_scores() == 3 and trail.verify() == []
    trail.dispose()


def test_audit_trail_chains_rows_and_keeps_values(trail_url: str) -> None:
    trail = _trail(trail_url)
    first, second = _row(), _row(person_id="P2")
    trail.append_scores([first, second])
    rows = list(trail.chain_rows(SCORES))
    assert [r[SEQ_COLUMN] for r in rows] == [1, 2]
    assert rows[0][PREV_COLUMN] == GENESIS_HASH and rows[1][PREV_COLUMN] == rows[0][HASH_COLUMN]
    assert all(row_hash(r) == r[HASH_COLUMN] for r in rows)  # read back, the hash still matches
    stored = trail.score_row(second.audit_id)
    assert {**stored.__dict__, "created_at": None} == {**second.__dict__, "created_at": None}
    assert [h.rows for h in trail.heads()] == [2, 0, 0]
    trail.dispose()


def test_audit_trail_concurrent_writers_keep_one_chain(trail_url: str) -> None:
    _trail(trail_url).dispose()
    trails = [AuditTrail(trail_url) for _ in range(4)]  # separate engines, as separate workers have

    def write(trail: AuditTrail) -> None:
        for _ in range(20):
            trail.append_scores([_row(), _row()])

    threads = [threading.Thread(target=write, args=(t,)) for t in trails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert trails[0].count_scores() == 4 * 20 * 2
    assert trails[0].verify() == []
    assert trails[0].heads()[0].rows == 160
    for trail in trails:
        trail.dispose()


def test_audit_trail_append_without_waiting_writes_nothing_while_the_lock_is_held(trail_url: str) -> None:
    trail = _trail(trail_url, rows=1)
    if not trail_url.startswith("sqlite"):
        # Only SQLite is tried on the event loop: a network round trip there would stall it.
        assert trail.append_scores([_row()], wait=False) is False
        assert trail.count_scores() == 1
        return
    assert trail.append_scores([_row()], wait=False) is True
    path = sa.make_url(trail_url).database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert trail.append_scores([_row(), _row()], wait=False) is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert trail.count_scores() == 2
    # Tried without waiting, then with: one chain whichever engine appended.
    mixed = [AuditTrail(trail_url) for _ in range(3)]

    def write(worker: AuditTrail) -> None:
        for _ in range(15):
            rows = [_row()]
            if not worker.append_scores(rows, wait=False):
                worker.append_scores(rows)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in mixed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert trail.count_scores() == 2 + 3 * 15
    assert trail.verify() == []
    for worker in (trail, *mixed):
        worker.dispose()


def test_audit_trail_waiting_writer_gets_the_lock_soon_after_its_release_or_gives_up_at_its_timeout(
    tmp_path: Path,
) -> None:
    import time

    path = tmp_path / "audit.db"
    trail = AuditTrail(f"sqlite:///{path}", busy_timeout_ms=400)
    trail.create_schema()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    start = time.monotonic()
    with pytest.raises(WriteLockBusy):
        trail.append_scores([_row()])
    assert 0.35 < time.monotonic() - start < 5
    # Released 0.34 s into a wait: SQLite's own busy handler sleeps 100 ms at a time by
    # then (in again ~90 ms after the release); the trail polls every few ms.
    trail.busy_timeout_ms = 5000
    released: list[float] = []

    def release() -> None:
        released.append(time.monotonic())
        holder.execute("ROLLBACK")

    timer = threading.Timer(0.34, release)
    timer.start()
    trail.append_scores([_row()])
    assert time.monotonic() - released[0] < 0.05
    timer.join()
    holder.close()
    assert trail.count_scores() == 1


def test_audit_trail_workers_starting_together_wait_for_a_file_not_yet_in_wal_mode(tmp_path: Path) -> None:
    # A new file is in rollback-journal mode until the first connection turns on WAL, which
    # needs the lock: a worker whose connection meets another's lock then must wait, not fail.
    path = tmp_path / "audit.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other_startup (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.3, lambda: holder.execute("ROLLBACK"))
    timer.start()
    trail = AuditTrail(f"sqlite:///{path}", busy_timeout_ms=5000)
    trail.create_schema()
    timer.join()
    holder.close()
    assert trail.schema_revision() == trail.head_revision()
    trail.append_scores([_row()])
    assert trail.count_scores() == 1


def test_audit_trail_unavailable_store_is_one_clear_error(tmp_path: Path, trail_url: str) -> None:
    trail = _trail(trail_url, rows=1)
    if trail_url.startswith("sqlite"):
        read_only = AuditTrail(f"sqlite:///file:{tmp_path / 'audit.db'}?mode=ro&uri=true")
    else:
        # A database turned read-only (as a hot standby is): new sessions may not write.
        name = trail_url.rsplit("/", 1)[1]
        with trail.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        read_only = AuditTrail(trail_url)
    gone = AuditTrail(f"postgresql+psycopg://svrisk@127.0.0.1:{free_port()}/gone")  # nothing listens there
    for store in (read_only, gone):
        with pytest.raises(AuditStoreUnavailable, match="unavailable or read-only") as refused:
            store.append_scores([_row(person_id="zqx-not-in-the-message")])
        assert "zqx" not in str(refused.value) and refused.value.__cause__ is None
        store.dispose()
    assert trail.count_scores() == 1
    # A bad statement is a bug to see, not an outage to wait out (SQLite calls both OperationalError).
    with pytest.raises(sa.exc.ProgrammingError if "postgresql" in trail_url else sa.exc.OperationalError):
        with store_errors(), trail.engine.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
    trail.dispose()


# -- tamper evidence, by editing the SQLite file as an attacker would -----------------------


def _attacked(path: Path, *statements: str, params: tuple = ()) -> None:
    """Run SQL on the file directly, after dropping the append-only triggers."""
    with sqlite3.connect(path) as db:
        for name, in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            db.execute(statement, params)


def _verify(url: str, *options: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit-trail", "verify", url, *options])
    return result.exit_code, result.output


@pytest.fixture
def five_rows(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "audit.db"
    url = f"sqlite:///{path}"
    _trail(url, rows=5).dispose()
    assert _verify(url) == (0, _verify(url)[1]) and "score_audit: 5 rows" in _verify(url)[1]
    return path, url


def test_audit_trail_verify_names_a_changed_row(five_rows: tuple[Path, str]) -> None:
    path, url = five_rows
    _attacked(path, "UPDATE score_audit SET band = 1 WHERE chain_seq = 3")
    code, output = _verify(url)
    assert code == 1 and "score_audit: row 3" in output and "changed" in output


def test_audit_trail_verify_names_a_deleted_row(five_rows: tuple[Path, str]) -> None:
    path, url = five_rows
    _attacked(path, "DELETE FROM score_audit WHERE chain_seq = 2")
    code, output = _verify(url)
    assert code == 1 and "score_audit: row 3" in output and "deleted" in output


def test_audit_trail_verify_names_an_inserted_row(five_rows: tuple[Path, str]) -> None:
    path, url = five_rows
    trail = AuditTrail(url)
    second = next(r for r in trail.chain_rows(SCORES) if r[SEQ_COLUMN] == 2)
    trail.dispose()
    # The strongest attacker: knows the hash, links the row to row 2 and slips it in before row 3.
    forged = chained([{**{k: v for k, v in second.items() if k not in (SEQ_COLUMN, PREV_COLUMN, HASH_COLUMN)},
                       "audit_id": new_audit_id(), "band": 10}], 2, second[HASH_COLUMN])[0]  # fmt: skip
    forged[SEQ_COLUMN] = 2.5  # SQLite keeps whatever number it is given
    columns = ", ".join(forged)
    _attacked(path, f"INSERT INTO score_audit ({columns}) VALUES ({', '.join('?' * len(forged))})",
              params=tuple(str(v) if isinstance(v, dt.datetime | dt.date) else v for v in forged.values()))
    code, output = _verify(url)
    assert code == 1 and "score_audit: row 2.5" in output and "inserted" in output


def test_audit_trail_logged_heads_catch_a_rewritten_trail(
    five_rows: tuple[Path, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, url = five_rows
    trail = AuditTrail(url, head_log_seconds=0)
    with caplog.at_level(logging.INFO, logger="svrisk.audit_chain"):
        trail.append_scores([_row()])
    trail.dispose()
    log = tmp_path / "service.log"
    log.write_text(caplog.text)
    assert "audit chain head: table=score_audit rows=6 sha256=" in caplog.text
    assert _verify(url, "--against", str(log))[0] == 0
    # Rewrite rows 4 to 6 with a changed band and every hash recomputed: the chain is whole
    # again, so only the logged head shows it.
    trail = AuditTrail(url)
    rows = list(trail.chain_rows(SCORES))
    trail.dispose()
    tail = chained([{**{k: v for k, v in r.items() if k not in (SEQ_COLUMN, PREV_COLUMN, HASH_COLUMN)}, "band": 1}
                    for r in rows[3:]], 3, rows[2][HASH_COLUMN])  # fmt: skip
    _attacked(path, *[f"UPDATE score_audit SET band = 1, prev_hash = '{r[PREV_COLUMN]}', row_hash = '{r[HASH_COLUMN]}' "
                      f"WHERE chain_seq = {r[SEQ_COLUMN]}" for r in tail])  # fmt: skip
    assert _verify(url)[0] == 0
    code, output = _verify(url, "--against", str(log))
    assert code == 1 and "row 6 is not the row whose hash was logged" in output
    _attacked(path, "DELETE FROM score_audit WHERE chain_seq = 6")  # and a truncated trail
    code, output = _verify(url, "--against", str(log))
    assert code == 1 and "no longer reached: the table ends at row 5" in output
    assert _verify(url, "--against", str(tmp_path / "missing.log"))[0] == 2


# -- migrations and the copy to PostgreSQL ----------------------------------------------------


def _pre_alembic_trail(path: Path) -> None:
    """A trail as an early version wrote it: no audit attributes, no note, no chain, two rows."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE score_audit (audit_id VARCHAR(36) PRIMARY KEY, created_at DATETIME NOT NULL, "
                   "caller VARCHAR(200) NOT NULL, role VARCHAR(40) NOT NULL, person_id VARCHAR(200) NOT NULL, "
                   "as_of DATE NOT NULL, model_version VARCHAR(40) NOT NULL, probability FLOAT NOT NULL, "
                   "band INTEGER NOT NULL)")  # fmt: skip
        db.execute("CREATE TABLE reviews (review_id VARCHAR(36) PRIMARY KEY, audit_id VARCHAR(36) NOT NULL "
                   "REFERENCES score_audit (audit_id), created_at DATETIME NOT NULL, caller VARCHAR(200) NOT NULL, "
                   "role VARCHAR(40) NOT NULL, decision VARCHAR(20) NOT NULL, reason TEXT NOT NULL, "
                   "practitioner_band INTEGER, model_version VARCHAR(40) NOT NULL)")  # fmt: skip
        for i in range(2):
            db.execute("INSERT INTO score_audit VALUES (?, ?, 'pat', 'practitioner', ?, '2024-04-01', '1', 0.25, 3)",
                       (f"a{i}", f"2025-01-0{i + 1} 10:00:00.000000", f"P{i}"))  # fmt: skip
        db.execute("INSERT INTO reviews VALUES ('r0', 'a0', '2025-01-03 09:00:00.000000', 'pat', 'practitioner', "
                   "'agree', '', NULL, '1')")  # fmt: skip


def test_audit_trail_old_sqlite_trail_upgrades_and_chains(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _pre_alembic_trail(path)
    url = f"sqlite:///{path}"
    result = runner.invoke(app, ["audit-trail", "upgrade", url])
    assert result.exit_code == 0 and "schema revision none -> 0003" in result.output
    trail = AuditTrail(url)
    columns = {c["name"] for c in sa.inspect(trail.engine).get_columns("score_audit")}
    assert {"sex", "local_authority", SEQ_COLUMN, HASH_COLUMN} <= columns
    assert [r["audit_id"] for r in trail.chain_rows(SCORES)] == ["a0", "a1"]  # chained in the order written
    assert trail.verify() == [] and [h.rows for h in trail.heads()] == [2, 1, 0]
    trail.append_scores([_row()])
    assert trail.verify() == [] and trail.count_scores() == 3
    trail.dispose()


def test_audit_trail_copies_sqlite_to_postgresql(tmp_path: Path, postgres_url) -> None:
    path = tmp_path / "old.db"
    _pre_alembic_trail(path)
    source = f"sqlite:///{path}"
    target = postgres_url
    refused = runner.invoke(app, ["audit-trail", "copy", source, target])
    assert refused.exit_code == 2 and "svrisk audit-trail upgrade" in refused.output
    trail = AuditTrail(source)
    trail.create_schema()
    trail.append_scores([_row() for _ in range(3)])
    trail.record_access("pat", "practitioner", "GET /reviews", 1)
    trail.dispose()
    done = runner.invoke(app, ["audit-trail", "copy", source, target])
    assert done.exit_code == 0, done.output
    assert "copied score_audit: 5 rows" in done.output and "copied reviews: 1 rows" in done.output
    copy = AuditTrail(target)
    assert copy.count_rows() == {"score_audit": 5, "reviews": 1, "access_log": 1}
    original = AuditTrail(source)
    assert copy.verify() == [] and copy.heads() == original.heads()
    original.dispose()
    copy.append_scores([_row()])  # the service carries on the same chain on PostgreSQL
    assert copy.verify() == []
    copy.dispose()
    again = runner.invoke(app, ["audit-trail", "copy", source, target])
    assert again.exit_code == 1 and "not empty" in again.output
