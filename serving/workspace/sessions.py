"""Workspace sessions: a signed cookie naming a session whose record lives in the database.

The record (who, role, CSRF token, last request, and the SHA-256 of the key
signed in with) is in the same database as the audit trail, so any worker
process can check it; signing out or idling past the limit deletes it, and with
it the results and caseload kept for it. The cookie holds only the signed random
session id (itsdangerous), HttpOnly and SameSite=Strict, Secure when the request
came over HTTPS. Unlike the audit trail these tables are not append-only: a
session is meant to disappear.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable
from itsdangerous import BadSignature, URLSafeSerializer

from serving.api_keys import Principal
from serving.audit_trail import SQLITE_BUSY_TIMEOUT_MS, make_engine, utc_now

SESSION_COOKIE = "svrisk_session"
SIGN_IN_COOKIE = "svrisk_sign_in"
COOKIE_SALT = "svrisk-workspace-session"
TOUCH_INTERVAL = dt.timedelta(minutes=1)
# Results this worker kept lately, so the redirected GET renders without reading them back.
RECENT_RESULTS = 64

METADATA = sa.MetaData()
# PostgreSQL advisory lock taken while the tables are created (any fixed number of our own).
SCHEMA_LOCK_KEY = 0x5356_5753  # "SVWS"
SESSIONS = sa.Table(
    "workspace_sessions",
    METADATA,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("caller", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
)
# The hash of the key each session was signed in with (serving.api_keys.hash_key), re-checked
# on every page. A table of its own, not a column: the tables are made with CREATE TABLE IF NOT
# EXISTS (no migrations), so a sessions table made before needs no ALTER; a session without a
# row here (signed in before the upgrade) is ended at its next request.
SESSION_KEYS = sa.Table(
    "workspace_session_keys",
    METADATA,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("key_sha256", sa.String(64), nullable=False),
)
# Results the session scored, so the result page can be reloaded (PRG) until sign-out.
RESULTS = sa.Table(
    "workspace_results",
    METADATA,
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("audit_id", sa.String(36), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("session_id", "audit_id"),
)
CASELOADS = sa.Table(
    "workspace_caseloads",
    METADATA,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)
# One random signing secret shared by every worker, made by the first to start.
SECRETS = sa.Table(
    "workspace_secret",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("secret", sa.String(128), nullable=False),
)


@dataclass(frozen=True)
class Session:
    session_id: str
    principal: Principal
    csrf_token: str
    # None for a session signed in before keys were recorded: its key cannot be re-checked.
    key_sha256: str | None


class SessionStore:
    """Create, check, touch and end sessions; sign and read the cookie.

    Parameters
    ----------
    engine : sqlalchemy Engine
        The audit trail's engine.
    idle : datetime.timedelta
        A session unused for longer than this has ended.
    busy_timeout_ms : int
        How long a SQLite write waits for a lock: the service's SVRISK_SQLITE_BUSY_TIMEOUT_MS,
        as ``engine`` was made with, so both engines wait the same bounded time.
    """

    def __init__(
        self, engine: sa.Engine, idle: dt.timedelta, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> None:
        self.engine = engine
        self.idle = idle
        self.copies = copies_engine(engine, busy_timeout_ms)
        self._recent: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._recent_lock = threading.Lock()

    def create_schema(self) -> None:
        # Workers start together: IF NOT EXISTS and ON CONFLICT, not create_all's
        # check-then-create, which lets two workers race to "table already exists"; on
        # PostgreSQL even IF NOT EXISTS races in its catalogue, so the creators queue on a lock.
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[self.engine.dialect.name]
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            for table in METADATA.sorted_tables:
                conn.execute(CreateTable(table, if_not_exists=True))
        with self.engine.begin() as conn:
            conn.execute(
                insert(SECRETS).values(id=1, secret=secrets.token_urlsafe(48)).on_conflict_do_nothing()
            )
        with self.engine.connect() as conn:
            secret = conn.execute(sa.select(SECRETS.c.secret).where(SECRETS.c.id == 1)).scalar_one()
        self.signer_ = URLSafeSerializer(secret, salt=COOKIE_SALT)

    # -- the cookie --------------------------------------------------------------------
    def sign(self, value: str) -> str:
        return self.signer_.dumps(value)

    def unsign(self, cookie: str | None) -> str | None:
        """The signed value, or None for a missing or tampered cookie."""
        if not cookie:
            return None
        try:
            value = self.signer_.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    # -- sessions ----------------------------------------------------------------------
    def start(self, principal: Principal, key_sha256: str) -> Session:
        """A new session for ``principal``, signed in with the key whose hash is ``key_sha256``."""
        now = utc_now()
        session = Session(secrets.token_urlsafe(32), principal, secrets.token_urlsafe(32), key_sha256)
        with self.engine.begin() as conn:
            conn.execute(
                SESSIONS.insert(),
                {
                    "session_id": session.session_id,
                    "caller": principal.name,
                    "role": principal.role,
                    "csrf_token": session.csrf_token,
                    "created_at": now,
                    "last_seen": now,
                },
            )
            conn.execute(SESSION_KEYS.insert(), {"session_id": session.session_id, "key_sha256": key_sha256})
        return session

    def find(self, cookie: str | None) -> Session | None:
        """The live session the cookie names (and its idle clock restarted), else None."""
        session_id = self.unsign(cookie)
        if session_id is None:
            return None
        now = utc_now()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(SESSIONS, SESSION_KEYS.c.key_sha256)
                .select_from(SESSIONS.outerjoin(SESSION_KEYS, SESSION_KEYS.c.session_id == SESSIONS.c.session_id))
                .where(SESSIONS.c.session_id == session_id)
            ).mappings().first()
        if row is None:
            return None
        last_seen = row["last_seen"]
        last_seen = last_seen if last_seen.tzinfo else last_seen.replace(tzinfo=dt.UTC)
        if now - last_seen > self.idle:
            self.end(session_id)
            return None
        # The idle clock restarts at most once a minute: a commit per request costs a disk sync.
        if now - last_seen > TOUCH_INTERVAL:
            with self.engine.begin() as conn:
                conn.execute(
                    SESSIONS.update().where(SESSIONS.c.session_id == session_id).values(last_seen=now)
                )
        principal = Principal(name=row["caller"], role=row["role"])
        return Session(session_id, principal, row["csrf_token"], row["key_sha256"])

    def end(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            _delete(conn, session_id)
        with self._recent_lock:
            for key in [k for k in self._recent if k[0] == session_id]:
                del self._recent[key]

    # -- what a session keeps --------------------------------------------------------------
    def keep_result(self, session_id: str, audit_id: str, body: str) -> None:
        with self.copies.begin() as conn:
            conn.execute(RESULTS.insert(), {"session_id": session_id, "audit_id": audit_id, "body": body})
        with self._recent_lock:
            self._recent[(session_id, audit_id)] = body
            while len(self._recent) > RECENT_RESULTS:
                self._recent.popitem(last=False)

    def result(self, session_id: str, audit_id: str) -> str | None:
        """The result the session kept; callers check the session is live first (:meth:`find`).

        From this worker's recent copies when it scored the case (the usual redirect),
        else from the database (another worker, or a reload later on).
        """
        with self._recent_lock:
            body = self._recent.get((session_id, audit_id))
        if body is not None:
            return body
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(RESULTS.c.body).where(
                    RESULTS.c.session_id == session_id, RESULTS.c.audit_id == audit_id
                )
            ).scalar_one_or_none()

    def keep_caseload(self, session_id: str, payload: bytes) -> None:
        with self.copies.begin() as conn:
            conn.execute(CASELOADS.delete().where(CASELOADS.c.session_id == session_id))
            conn.execute(CASELOADS.insert(), {"session_id": session_id, "payload": payload})

    def caseload(self, session_id: str) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(CASELOADS.c.payload).where(CASELOADS.c.session_id == session_id)
            ).scalar_one_or_none()


def copies_engine(engine: sa.Engine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> sa.Engine:
    """The same database through an engine whose SQLite commits do not wait for the disk.

    For the session's copies of results and caseloads only: they are not the record (the
    audit row is, committed with synchronous=FULL) and a power cut that lost the last ones
    would only make the page say "not found". In WAL mode synchronous=NORMAL skips the
    commit's fsync and keeps the database consistent. Sessions themselves (sign-in and
    sign-out) stay on ``engine``, so a sign-out is never undone. Other databases, and an
    in-memory SQLite (which a second engine cannot open), use ``engine``. ``busy_timeout_ms``
    is the wait for a lock that ``engine`` was made with (SVRISK_SQLITE_BUSY_TIMEOUT_MS).
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return engine
    copies = make_engine(url.render_as_string(hide_password=False), busy_timeout_ms)

    @sa.event.listens_for(copies, "connect")
    def _commit_without_fsync(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects
        # Runs after make_engine's own pragmas (listeners run in order), replacing FULL.
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    return copies


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token; a missing one never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _delete(conn: sa.Connection, session_id: str) -> None:
    for table in (RESULTS, CASELOADS, SESSION_KEYS, SESSIONS):
        conn.execute(table.delete().where(table.c.session_id == session_id))
