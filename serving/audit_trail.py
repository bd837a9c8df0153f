"""The append-only, hash-chained audit trail: one row per scored case, the reviews that refer
to them, and who read reviews or model details.

SQLAlchemy Core over any URL; SQLite by default (WAL journal and a busy
timeout, so several worker processes append at once without losing a row),
PostgreSQL by giving a ``postgresql+psycopg://`` URL. Append-only is enforced
twice: this class has no update or delete, and database triggers refuse
``UPDATE`` and ``DELETE`` on every table. Only the fields listed in issue 7
are stored, never the case's records, plus (issue 15) each scored case's
audit attributes (sex, ethnicity, age band, SEN, IMD decile, local
authority) for equality monitoring of scores and reviews
(docs/data-protection.md).

Each table is a hash chain (:mod:`serving.audit_chain`): an append takes the
chain's lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a transaction-level
advisory lock), reads the head, and inserts its rows linked to it, so appends
from several workers stay one chain. The schema is versioned by Alembic
(serving/audit_migrations); :meth:`AuditTrail.create_schema` upgrades a trail
of any earlier version, including one made before Alembic was used.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from serving.audit_chain import (
    GENESIS_HASH,
    HASH_COLUMN,
    PREV_COLUMN,
    SEQ_COLUMN,
    ChainHead,
    chained,
    first_break,
    heads_not_reached,
)

ERR_APPEND_ONLY = "the audit trail is append-only"
ERR_STORE_UNAVAILABLE = "the audit trail's database is unavailable or read-only ({cause})"
ERR_REVIEW_EXISTS = (
    "supersedes: this scoring has a review already; a new review must give supersedes, "
    "the review_id of the latest review of this scoring"
)
ERR_SUPERSEDES_NOT_LATEST = (
    "supersedes: not the latest review of this scoring (it is superseded already, or reviews another scoring)"
)
ERR_NOTHING_TO_SUPERSEDE = "supersedes: this scoring has no review to supersede"
SQLITE_BUSY_TIMEOUT_MS = 30_000
ERR_WRITE_LOCK_BUSY = "the audit trail's database stayed locked by other writers for the whole busy timeout"
# How often a waiting writer tries SQLite's write lock again (see AuditTrail._locked).
WRITE_LOCK_POLL_S = 0.002
# The Alembic version table of the trail (the MLflow store has its own alembic_version).
SCHEMA_VERSION_TABLE = "audit_schema_version"
MIGRATIONS = Path(__file__).with_name("audit_migrations")
# PostgreSQL advisory-lock keys: one per chain, one for migrations.
_LOCK_KEYS = {"score_audit": 7_301_001, "reviews": 7_301_002, "access_log": 7_301_003, "schema": 7_301_000}
_IMMEDIATE = "svrisk_begin_immediate"
chain_log = logging.getLogger("svrisk.audit_chain")

METADATA = sa.MetaData()


def _chain_columns(table: str) -> list[sa.SchemaItem]:
    # Nullable in the database: rows of a trail migrated from before the chain get theirs
    # in the same migration, and SQLite cannot ADD a NOT NULL column without a default.
    return [
        sa.Column(SEQ_COLUMN, sa.Integer, nullable=True),
        sa.Column(PREV_COLUMN, sa.String(64), nullable=True),
        sa.Column(HASH_COLUMN, sa.String(64), nullable=True),
        sa.Index(f"ux_{table}_chain_seq", SEQ_COLUMN, unique=True),
    ]


SCORES = sa.Table(
    "score_audit",
    METADATA,
    sa.Column("audit_id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("caller", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("person_id", sa.String(200), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("model_version", sa.String(40), nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("band", sa.Integer, nullable=False),
    # Audit attributes (issue 15): nullable, as rows written before them have none.
    sa.Column("sex", sa.String(20), nullable=True),
    sa.Column("ethnicity", sa.String(20), nullable=True),
    sa.Column("age_band", sa.String(20), nullable=True),
    sa.Column("sen", sa.String(20), nullable=True),
    sa.Column("imd_decile", sa.Integer, nullable=True),
    sa.Column("local_authority", sa.String(100), nullable=True),
    sa.Index("ix_score_audit_created_at", "created_at"),
    *_chain_columns("score_audit"),
)
AUDIT_ATTRIBUTE_COLUMNS = ("sex", "ethnicity", "age_band", "sen", "imd_decile", "local_authority")

REVIEWS = sa.Table(
    "reviews",
    METADATA,
    sa.Column("review_id", sa.String(36), primary_key=True),
    sa.Column(
        "audit_id", sa.String(36), sa.ForeignKey("score_audit.audit_id"), nullable=False
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("caller", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("practitioner_band", sa.Integer, nullable=True),
    sa.Column("model_version", sa.String(40), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    # Issue 21 item 6: a later review of the same scoring names the one it replaces.
    sa.Column("supersedes", sa.String(36), sa.ForeignKey("reviews.review_id"), nullable=True),
    sa.Index("ix_reviews_created_at", "created_at"),
    sa.Index("ix_reviews_caller", "caller"),
    sa.Index("ix_reviews_audit_id", "audit_id"),
    *_chain_columns("reviews"),
)

# Who read reviews or model details, when, and how many rows: never what they read.
ACCESS_LOG = sa.Table(
    "access_log",
    METADATA,
    sa.Column("access_id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("caller", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("resource", sa.String(80), nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Index("ix_access_log_created_at", "created_at"),
    *_chain_columns("access_log"),
)
CHAINED_TABLES = (SCORES, REVIEWS, ACCESS_LOG)
CHAIN_KEYS = {"score_audit": "audit_id", "reviews": "review_id", "access_log": "access_id"}


def append_only_guards(dialect: str, tables: Sequence[str]) -> list[str]:
    """Statements creating the triggers that refuse UPDATE and DELETE on ``tables``."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{ERR_APPEND_ONLY}'); END"
            for table in tables
            for verb in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION svrisk_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{ERR_APPEND_ONLY}'; END $$ LANGUAGE plpgsql",
            *[
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION svrisk_append_only()"
                for table in tables
            ],
        ]
    return []


def dropped_guards(dialect: str, tables: Sequence[str]) -> list[str]:
    """Statements dropping those triggers (a migration that must fill in new columns)."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_{verb}" for table in tables for verb in ("update", "delete")]
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in tables]
    return []


class AuditStoreUnavailable(RuntimeError):
    """The trail's database cannot be reached or written (locked past the busy timeout,
    read-only, down): nothing was recorded, so no score may be given."""


class WriteLockBusy(AuditStoreUnavailable):
    """Other writers held the trail's write lock for the whole busy timeout (nothing written)."""


class ReviewConflict(ValueError):
    """A review that would not extend its scoring's line of reviews (see ``supersedes``)."""


@dataclass(frozen=True)
class ScoreRow:
    """One audited scoring of one case (no record contents)."""

    audit_id: str
    created_at: dt.datetime
    caller: str
    role: str
    person_id: str
    as_of: dt.date
    model_version: str
    probability: float
    band: int
    sex: str | None = None
    ethnicity: str | None = None
    age_band: str | None = None
    sen: str | None = None
    imd_decile: int | None = None
    local_authority: str | None = None


def case_audit_attributes(cases: Sequence[object]) -> list[dict[str, object]]:
    """Each validated ``SingleCase``'s audit attributes, from the feature builder's own
    ``audit_values`` (so the age band is the one the fairness audit uses)."""
    import numpy as np
    import pandas as pd

    from features.families.context import ages, audit_values

    people = {
        "birth_month": np.array([c.person.birth_month for c in cases], dtype="datetime64[D]").astype("datetime64[ns]"),
        **{name: np.array([getattr(c.person, name) for c in cases], dtype=object)
           for name in AUDIT_ATTRIBUTE_COLUMNS if name not in ("age_band", "imd_decile")},
        "imd_decile": np.array([np.nan if c.person.imd_decile is None else c.person.imd_decile for c in cases],
                               dtype=float),
    }
    as_of = pd.Series(np.array([c.as_of for c in cases], dtype="datetime64[D]").astype("datetime64[ns]"))
    # Column by column, not through a frame: for the one case of /score a DataFrame and
    # its to_dict cost about 1 ms, most of the service's own time per call.
    columns = {name: np.asarray(values, dtype=object) for name, values in audit_values(people, ages(as_of, people)).items()}
    return [
        {name: None if pd.isna(values[i]) else (int(values[i]) if name == "imd_decile" else str(values[i]))
         for name, values in columns.items()}
        for i in range(len(cases))
    ]


def new_audit_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, a busy timeout and foreign keys.

    The service passes a busy timeout below its request timeout (SVRISK_SQLITE_BUSY_TIMEOUT_MS).
    SQLite transactions begin as pysqlite would (deferred) unless the connection has the
    ``svrisk_begin_immediate`` execution option: then ``BEGIN IMMEDIATE`` takes the write
    lock before the chain's head is read, so two workers never link to the same head.
    """
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects
            # SQLAlchemy emits BEGIN itself (below), not pysqlite.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            immediate = conn.get_execution_options().get(_IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# PostgreSQL SQLSTATEs that mean "cannot reach or write the database", not "bad statement":
# connection exceptions (08), insufficient resources (53), operator intervention such as a
# shutdown (57), and a read-only transaction (25006, e.g. a hot standby).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57", "25006")
# SQLite reports these and schema errors alike as OperationalError: told apart by message.
_UNAVAILABLE_SQLITE = ("locked", "busy", "readonly", "unable to open", "disk i/o", "disk is full")


def _unavailable(exc: sa.exc.DBAPIError) -> bool:
    if isinstance(exc.orig, sqlite3.Error):
        return any(text in str(exc.orig).lower() for text in _UNAVAILABLE_SQLITE)
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
    return isinstance(exc, sa.exc.OperationalError) or sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


@cache
def _head_query(table: sa.Table) -> sa.Select:
    # Built once per table: building the statement cost more than running it on SQLite.
    return sa.select(table.c[SEQ_COLUMN], table.c[HASH_COLUMN]).order_by(table.c[SEQ_COLUMN].desc()).limit(1)


def sqlite_lock_taken(error: BaseException | None) -> bool:
    """Whether the driver's ``error`` says another connection holds the SQLite database's
    lock (SQLITE_BUSY); the rate limiter's counter file asks the same."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn the driver's "cannot reach or write the database" into :class:`AuditStoreUnavailable`."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        if not _unavailable(exc):
            raise
        # `from None`: the driver's message may quote the statement's parameters (record values).
        raise AuditStoreUnavailable(ERR_STORE_UNAVAILABLE.format(cause=type(exc.orig).__name__)) from None


class AuditTrail:
    """Append and read the audit trail.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.
    busy_timeout_ms : int
        How long a SQLite write waits for a lock held by another connection.
    head_log_seconds : float, optional
        Write each chain's head to the log (logger ``svrisk.audit_chain``) after an append
        when this many seconds have passed since it was last written; 0 after every append;
        None (the default) never.
    """

    def __init__(
        self,
        url: str,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        head_log_seconds: float | None = None,
    ) -> None:
        self.url = url
        self.busy_timeout_ms = busy_timeout_ms
        self.head_log_seconds = head_log_seconds
        self.engine = make_engine(url, busy_timeout_ms)
        # SQLite: the same file through connections that never wait for the write lock, for
        # an append tried on the service's event loop first (append_scores(wait=False)).
        self.no_wait_engine = make_engine(url, 0) if self.engine.dialect.name == "sqlite" else None
        self._writers = threading.Lock()
        self._head_logged_at: dict[str, float] = {}

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine of the trail (the service watches each one's SQLite file)."""
        return (self.engine,) if self.no_wait_engine is None else (self.engine, self.no_wait_engine)

    # -- schema -------------------------------------------------------------------------

    def create_schema(self) -> None:
        """Create the trail or upgrade it to the newest schema (safe from several workers at once)."""
        from alembic import command

        with store_errors(), self._locked("schema") as conn:
            command.upgrade(self._alembic_config(conn), "head")

    def schema_revision(self) -> str | None:
        """The trail's Alembic revision (None for a trail made before Alembic or an empty database)."""
        from alembic.migration import MigrationContext

        with store_errors(), self.engine.connect() as conn:
            return MigrationContext.configure(conn, opts={"version_table": SCHEMA_VERSION_TABLE}).get_current_revision()

    def head_revision(self) -> str:
        """The newest revision this code knows."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config(None)).get_current_head()

    def _alembic_config(self, conn: sa.Connection | None):  # noqa: ANN202 - alembic.config.Config
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        return config

    @contextmanager
    def _locked(self, *chains: str, wait: bool = True) -> Iterator[sa.Connection]:
        """A transaction holding the chains' locks until it commits (or rolls back).

        Raises :class:`WriteLockBusy` when the locks are not free within the busy timeout
        (at once with ``wait=False``; nothing is written then).
        """
        if self.no_wait_engine is None:
            # PostgreSQL queues the advisory locks' waiters itself, first come first served.
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{_IMMEDIATE: True})
                with conn.begin():
                    for chain in sorted(chains):  # one order everywhere: no deadlock
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEYS[chain]})
                    yield conn
            return
        deadline = time.monotonic() + (self.busy_timeout_ms / 1000 if wait else 0)
        # One writer per process waits for the file's lock, so the workers, not their
        # threads, take turns; the rest wait here, on a lock that wakes them at once.
        taken = self._writers.acquire(timeout=self.busy_timeout_ms / 1000) if wait else self._writers.acquire(False)
        if not taken:
            raise WriteLockBusy(ERR_WRITE_LOCK_BUSY)
        try:
            yield from self._sqlite_write_transaction(deadline)
        finally:
            self._writers.release()

    def _sqlite_write_transaction(self, deadline: float) -> Iterator[sa.Connection]:
        # BEGIN IMMEDIATE without SQLite's busy handler, polled here every few ms until the
        # deadline: that handler backs off to 100 ms sleeps, and under load a writer that has
        # waited long loses the lock to newcomers again and again, past its timeout.
        while (conn := self._try_begin_immediate(deadline)) is None:
            time.sleep(WRITE_LOCK_POLL_S)
        with conn, conn.get_transaction():
            yield conn

    def _try_begin_immediate(self, deadline: float) -> sa.Connection | None:
        """A connection holding SQLite's write lock in a new transaction; None while another
        connection holds it and the deadline is not past (:class:`WriteLockBusy` after)."""
        conn = None
        try:
            # Connecting can meet the lock too: a new connection's PRAGMA journal_mode = WAL
            # waits for it while the file is not yet in WAL mode (workers starting together).
            conn = self.no_wait_engine.connect().execution_options(**{_IMMEDIATE: True})
            conn.begin()
            return conn
        except sa.exc.OperationalError as exc:
            if conn is not None:
                conn.close()
            if not sqlite_lock_taken(exc.orig):
                raise
            if time.monotonic() >= deadline:
                raise WriteLockBusy(ERR_WRITE_LOCK_BUSY) from None
            return None

    # -- appends ------------------------------------------------------------------------

    def _append(self, conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, object]]) -> ChainHead:
        """Insert ``rows`` at the end of ``table``'s chain (the caller holds its lock)."""
        head = conn.execute(_head_query(table)).first()
        last_seq, last_hash = (0, GENESIS_HASH) if head is None else (int(head[0]), str(head[1]))
        linked = chained(rows, last_seq, last_hash)
        conn.execute(table.insert(), linked)
        return ChainHead(table.name, linked[-1][SEQ_COLUMN], linked[-1][HASH_COLUMN])

    def _after_append(self, head: ChainHead) -> None:
        if self.head_log_seconds is None:
            return
        now = time.monotonic()
        last = self._head_logged_at.get(head.table)
        if last is None or now - last >= self.head_log_seconds:
            self._head_logged_at[head.table] = now
            chain_log.warning(head.log_line())

    def append_scores(self, rows: Sequence[ScoreRow], *, wait: bool = True) -> bool:
        """Insert all rows in one transaction (all or none), at the end of the chain.

        With ``wait=False`` nothing waits for a lock: when another connection holds the
        SQLite write lock, or the store is not SQLite, nothing is written and the answer
        is False (append again with ``wait=True``, off an event loop).

        Returns
        -------
        bool
            True when the rows were appended.
        """
        if not rows:
            return True
        if not wait and self.no_wait_engine is None:
            return False
        try:
            with store_errors(), self._locked(SCORES.name, wait=wait) as conn:
                head = self._append(conn, SCORES, [row.__dict__ for row in rows])
        except WriteLockBusy:
            if wait:
                raise
            return False
        self._after_append(head)
        return True

    def append_review(self, values: dict[str, object]) -> None:
        """Append a review; :class:`ReviewConflict` unless it supersedes exactly the latest
        review of its scoring (or is the first). Checked under the chain's lock, so two
        workers cannot both add a "first" review."""
        with store_errors(), self._locked(REVIEWS.name) as conn:
            latest = conn.execute(
                sa.select(REVIEWS.c.review_id)
                .where(REVIEWS.c.audit_id == values["audit_id"])
                .order_by(REVIEWS.c[SEQ_COLUMN].desc())
                .limit(1)
            ).scalar_one_or_none()
            supersedes = values.get("supersedes")
            if latest is None and supersedes is not None:
                raise ReviewConflict(ERR_NOTHING_TO_SUPERSEDE)
            if latest is not None and supersedes is None:
                raise ReviewConflict(ERR_REVIEW_EXISTS)
            if latest != supersedes:
                raise ReviewConflict(ERR_SUPERSEDES_NOT_LATEST)
            head = self._append(conn, REVIEWS, [values])
        self._after_append(head)

    def record_access(self, caller: str, role: str, resource: str, row_count: int) -> None:
        """Note that ``caller`` read ``row_count`` rows of ``resource`` (never the rows)."""
        values = {"access_id": new_audit_id(), "created_at": utc_now(), "caller": caller, "role": role,
                  "resource": resource, "row_count": int(row_count)}  # fmt: skip
        with store_errors(), self._locked(ACCESS_LOG.name) as conn:
            head = self._append(conn, ACCESS_LOG, [values])
        self._after_append(head)

    # -- reads --------------------------------------------------------------------------

    def scorings(self, *, since: dt.datetime | None = None) -> list[dict[str, object]]:
        """Every scoring (no record contents) at or after ``since``, oldest first, for monitoring."""
        query = sa.select(SCORES)
        if since is not None:
            query = query.where(SCORES.c.created_at >= since)
        with store_errors(), self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query.order_by(SCORES.c.created_at)).mappings()]

    def score_row(self, audit_id: str) -> ScoreRow | None:
        fields = [SCORES.c[name] for name in ScoreRow.__dataclass_fields__]
        with store_errors(), self.engine.connect() as conn:
            found = conn.execute(sa.select(*fields).where(SCORES.c.audit_id == audit_id)).mappings().first()
        return None if found is None else ScoreRow(**found)

    def count_scores(self) -> int:
        with store_errors(), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(SCORES)).scalar_one())

    def count_rows(self) -> dict[str, int]:
        """Rows in each table of the trail."""
        with store_errors(), self.engine.connect() as conn:
            return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                    for t in CHAINED_TABLES}  # fmt: skip

    def reviews(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        decision: str | None = None,
        model_version: str | None = None,
        caller: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, object]]:
        """Reviews oldest first, filtered by time range (``since <= t < until``), decision,
        version and who recorded them; each with ``superseded_by`` (None while it stands)."""
        later = REVIEWS.alias("later")
        query = sa.select(
            *[c for c in REVIEWS.c if c.name not in (PREV_COLUMN, HASH_COLUMN)],
            later.c.review_id.label("superseded_by"),
        ).outerjoin(later, later.c.supersedes == REVIEWS.c.review_id)
        if caller is not None:
            query = query.where(REVIEWS.c.caller == caller)
        if since is not None:
            query = query.where(REVIEWS.c.created_at >= since)
        if until is not None:
            query = query.where(REVIEWS.c.created_at < until)
        if decision is not None:
            query = query.where(REVIEWS.c.decision == decision)
        if model_version is not None:
            query = query.where(REVIEWS.c.model_version == model_version)
        query = query.order_by(REVIEWS.c.created_at, REVIEWS.c.review_id).limit(limit)
        with store_errors(), self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def review(self, review_id: str) -> dict[str, object] | None:
        with store_errors(), self.engine.connect() as conn:
            found = conn.execute(
                sa.select(REVIEWS).where(REVIEWS.c.review_id == review_id)
            ).mappings().first()
        return None if found is None else dict(found)

    def accesses(self) -> list[dict[str, object]]:
        """The access log, oldest first."""
        with store_errors(), self.engine.connect() as conn:
            query = sa.select(ACCESS_LOG).order_by(ACCESS_LOG.c[SEQ_COLUMN])
            return [dict(row) for row in conn.execute(query).mappings()]

    # -- the chain ----------------------------------------------------------------------

    def chain_rows(self, table: sa.Table) -> Iterator[dict[str, object]]:
        """``table``'s rows in chain order, streamed."""
        with store_errors(), self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(
                sa.select(table).order_by(table.c[SEQ_COLUMN])
            )
            try:
                for row in result.mappings():
                    yield dict(row)
            finally:  # a reader that stops early (the first broken row) closes the server-side cursor
                result.close()

    def heads(self) -> list[ChainHead]:
        """Each table's chain head (a table with no rows has head 0 and the genesis hash)."""
        heads = []
        with store_errors(), self.engine.connect() as conn:
            for table in CHAINED_TABLES:
                found = conn.execute(
                    sa.select(table.c[SEQ_COLUMN], table.c[HASH_COLUMN]).order_by(table.c[SEQ_COLUMN].desc()).limit(1)
                ).first()
                heads.append(ChainHead(table.name, 0, GENESIS_HASH) if found is None
                             else ChainHead(table.name, int(found[0]), str(found[1])))  # fmt: skip
        return heads

    def log_heads(self) -> None:
        """Write every chain's head to the log now (the service does at start-up)."""
        for head in self.heads():
            self._head_logged_at[head.table] = time.monotonic()
            chain_log.warning(head.log_line())

    def verify(self, logged: Sequence[ChainHead] = ()) -> list[str]:
        """Problems found: the first broken row of each table, then each logged head the
        database no longer reaches. Empty when the trail is whole."""
        problems = []
        for table in CHAINED_TABLES:
            with closing(self.chain_rows(table)) as rows:
                broken = first_break(table.name, CHAIN_KEYS[table.name], rows)
            if broken is not None:
                problems.append(broken)
        if logged:
            hash_at: dict[str, dict[int, str]] = {}
            last_rows: dict[str, int] = {}
            with store_errors(), self.engine.connect() as conn:
                for table in CHAINED_TABLES:
                    seqs = sorted({h.rows for h in logged if h.table == table.name})
                    last_rows[table.name] = int(conn.execute(sa.select(sa.func.max(table.c[SEQ_COLUMN]))).scalar_one() or 0)
                    found = conn.execute(
                        sa.select(table.c[SEQ_COLUMN], table.c[HASH_COLUMN]).where(table.c[SEQ_COLUMN].in_(seqs))
                    ).all() if seqs else []
                    hash_at[table.name] = {int(s): str(h) for s, h in found}
            problems.extend(heads_not_reached(logged, hash_at, last_rows))
        return problems

    def copy_from(self, source: AuditTrail, batch_rows: int = 5000) -> dict[str, int]:
        """Copy every row of ``source`` into this empty trail as it is (chain columns included,
        so the hashes still verify), in one transaction; rows copied per table."""
        copied = {}
        with store_errors(), self._locked(*(t.name for t in CHAINED_TABLES)) as conn:
            for table in CHAINED_TABLES:  # parents first: reviews refer to scorings
                copied[table.name] = 0
                batch: list[dict[str, object]] = []
                for row in source.chain_rows(table):
                    batch.append({k: _utc(v) for k, v in row.items()})
                    if len(batch) == batch_rows:
                        conn.execute(table.insert(), batch)
                        copied[table.name] += len(batch)
                        batch = []
                if batch:
                    conn.execute(table.insert(), batch)
                    copied[table.name] += len(batch)
        return copied

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


def _utc(value: object) -> object:
    # SQLite hands back naive UTC times; PostgreSQL would read them in its session's zone.
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


ERR_NOT_NULL_COLUMN = (
    "the audit trail's table {table} lacks the required column {column}: a trail this old "
    "must be migrated by hand: a required column cannot be added to a table that has rows"
)


def add_missing_columns(conn: sa.Connection, table: sa.Table, only: Sequence[str] | None = None) -> None:
    """Add the nullable columns (of ``only``, if given) a trail created by an older version
    lacks (ADD COLUMN only).

    ADD COLUMN is the same in SQLite and PostgreSQL; a missing NOT NULL column cannot be
    added to a table that already has rows, so it is an error, not a silent failure.
    """
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name in present or (only is not None and column.name not in only):
            continue
        if not column.nullable:
            raise ValueError(ERR_NOT_NULL_COLUMN.format(table=table.name, column=column.name))
        kind = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
