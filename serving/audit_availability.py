"""When the audit trail cannot take a row, no score is given (issue 19).

A score is returned only after its audit row is committed. When the database is
unavailable, read-only, or locked for longer than the busy timeout, the commit
fails and the caller gets 503 with ``Retry-After`` (:class:`AuditUnavailable`);
the next request tries again, so the service resumes when the database returns.

A SQLite file has one more way to fail quietly: a pooled connection keeps the file
open, so after the file or its folder is moved or deleted it would go on committing
rows into a file nobody will read. :func:`watch_sqlite_file` checks, at every
checkout from the pool, that the path still names the file the connection opened.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import sqlalchemy as sa

from serving.audit_trail import AuditStoreUnavailable, AuditTrail, ScoreRow
from serving.errors import AuditUnavailable

logger = logging.getLogger(__name__)

# Connection lost, database locked past the busy timeout, read-only, file missing: the
# trail names these AuditStoreUnavailable; a pool checkout can still raise the driver's own.
STORE_ERRORS = (AuditStoreUnavailable, sa.exc.OperationalError)
AUDIT_RETRY_S = 5
ERR_AUDIT_UNAVAILABLE = (
    "the audit trail cannot record this scoring, so no score is given "
    "(a score is only returned with its audit row); try again later"
)
ERR_TRAIL_UNAVAILABLE = "the audit trail is unavailable, so nothing was recorded or read; try again later"
ERR_FILE_REPLACED = "the audit database file was moved, deleted or replaced since it was opened"
# Logged for the operator: the driver's error class and code only, never its message,
# which can quote the statement's parameters (record values).
LOG_UNAVAILABLE = "audit trail unavailable: %s %s"


def record_scores(audit: AuditTrail, rows: Sequence[ScoreRow], *, wait: bool = True) -> bool:
    """Append ``rows`` (all or none); :class:`AuditUnavailable` (503) when the store cannot.

    With ``wait=False``, False (nothing written) when the append would have to wait for a
    lock (:meth:`AuditTrail.append_scores`).
    """
    try:
        return audit.append_scores(rows, wait=wait)
    except STORE_ERRORS as exc:
        raise trail_unavailable(exc, ERR_AUDIT_UNAVAILABLE) from None


def trail_unavailable(exc: Exception, message: str = ERR_TRAIL_UNAVAILABLE) -> AuditUnavailable:
    """The 503 for a store error ``exc`` (one of :data:`STORE_ERRORS`), logged without its message."""
    original = getattr(exc, "orig", None) or exc
    logger.error(LOG_UNAVAILABLE, type(original).__name__, getattr(original, "sqlite_errorname", ""))
    return AuditUnavailable(message, AUDIT_RETRY_S)


def watch_sqlite_file(engine: sa.Engine) -> None:
    """Make ``engine``'s pool drop a connection whose SQLite file is no longer at its path.

    The pool then connects again: to the file back in its place, or it fails with
    ``OperationalError`` (the folder is gone, or a new empty file has no tables).
    """
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return

    @sa.event.listens_for(engine, "connect")
    def _remember_file(_dbapi_conn, record) -> None:  # noqa: ANN001 - pool objects
        record.info["sqlite_file"] = _file_identity(path)

    @sa.event.listens_for(engine, "checkout")
    def _same_file(_dbapi_conn, record, _proxy) -> None:  # noqa: ANN001 - pool objects
        if _file_identity(path) != record.info.get("sqlite_file"):
            raise sa.exc.DisconnectionError(ERR_FILE_REPLACED)


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)
