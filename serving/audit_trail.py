"""The append-only audit trail: one row per scored case, and the reviews that refer to them.

SQLAlchemy Core over any URL; SQLite by default (WAL journal and a busy
timeout, so several worker processes append at once without losing a row),
PostgreSQL by giving a ``postgresql+psycopg://`` URL. Append-only is enforced
twice: this class has no update or delete, and database triggers refuse
``UPDATE`` and ``DELETE`` on both tables. Only the fields listed in issue 7
are stored, never the case's records, plus (issue 15) each scored case's
audit attributes (sex, ethnicity, age band, SEN, IMD decile, local
authority) for equality monitoring of scores and reviews
(docs/data-protection.md). A trail created before those columns existed
gains them, empty for its old rows, when the schema is next created.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateIndex, CreateTable

ERR_APPEND_ONLY = "the audit trail is append-only"
SQLITE_BUSY_TIMEOUT_MS = 30_000

METADATA = sa.MetaData()

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
    sa.Index("ix_reviews_created_at", "created_at"),
    sa.Index("ix_reviews_caller", "caller"),
)

_SQLITE_GUARDS = [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{ERR_APPEND_ONLY}'); END"
    for table in ("score_audit", "reviews")
    for verb in ("UPDATE", "DELETE")
]
_POSTGRES_GUARDS = [
    "CREATE OR REPLACE FUNCTION svrisk_append_only() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{ERR_APPEND_ONLY}'; END $$ LANGUAGE plpgsql",
    *[
        f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION svrisk_append_only()"
        for table in ("score_audit", "reviews")
    ],
]


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
    ``audit_columns`` (so the age band is the one the fairness audit uses)."""
    import numpy as np
    import pandas as pd

    from features.families.context import ages, audit_columns

    people = {
        "birth_month": np.array([c.person.birth_month for c in cases], dtype="datetime64[D]").astype("datetime64[ns]"),
        **{name: np.array([getattr(c.person, name) for c in cases], dtype=object)
           for name in AUDIT_ATTRIBUTE_COLUMNS if name not in ("age_band", "imd_decile")},
        "imd_decile": np.array([np.nan if c.person.imd_decile is None else c.person.imd_decile for c in cases],
                               dtype=float),
    }
    as_of = pd.Series(np.array([c.as_of for c in cases], dtype="datetime64[D]").astype("datetime64[ns]"))
    frame = audit_columns(people, ages(as_of, people))
    rows = []
    for record in frame.astype(object).to_dict(orient="records"):
        decile = record["imd_decile"]
        rows.append({**{k: (None if pd.isna(v) else str(v)) for k, v in record.items() if k != "imd_decile"},
                     "imd_decile": None if pd.isna(decile) else int(decile)})
    return rows


def new_audit_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, a busy timeout and foreign keys.

    The service passes a busy timeout below its request timeout (SVRISK_SQLITE_BUSY_TIMEOUT_MS).
    """
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

    return engine


class AuditTrail:
    """Append and read the audit trail.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.
    busy_timeout_ms : int
        How long a SQLite write waits for a lock held by another connection.
    """

    def __init__(self, url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms)

    def create_schema(self) -> None:
        """Create tables, indexes and append-only triggers if missing (safe from several workers)."""
        dialect = self.engine.dialect.name
        with self.engine.begin() as conn:
            for table in METADATA.sorted_tables:
                conn.execute(CreateTable(table, if_not_exists=True))
                _add_missing_columns(conn, table)
                for index in table.indexes:
                    conn.execute(CreateIndex(index, if_not_exists=True))
            guards = {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(dialect, [])
            for statement in guards:
                conn.exec_driver_sql(statement)

    def scorings(self, *, since: dt.datetime | None = None) -> list[dict[str, object]]:
        """Every scoring (no record contents) at or after ``since``, oldest first, for monitoring."""
        query = sa.select(SCORES)
        if since is not None:
            query = query.where(SCORES.c.created_at >= since)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query.order_by(SCORES.c.created_at)).mappings()]

    def append_scores(self, rows: Sequence[ScoreRow]) -> None:
        """Insert all rows in one transaction (all or none)."""
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(SCORES.insert(), [row.__dict__ for row in rows])

    def score_row(self, audit_id: str) -> ScoreRow | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(SCORES).where(SCORES.c.audit_id == audit_id)
            ).mappings().first()
        return None if found is None else ScoreRow(**found)

    def count_scores(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(SCORES)).scalar_one())

    def append_review(self, values: dict[str, object]) -> None:
        with self.engine.begin() as conn:
            conn.execute(REVIEWS.insert(), values)

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
        version and who recorded them."""
        query = sa.select(REVIEWS)
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
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def review(self, review_id: str) -> dict[str, object] | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(REVIEWS).where(REVIEWS.c.review_id == review_id)
            ).mappings().first()
        return None if found is None else dict(found)

    def dispose(self) -> None:
        self.engine.dispose()


ERR_NOT_NULL_COLUMN = (
    "the audit trail's table {table} lacks the required column {column}: a trail this old "
    "must be migrated by hand: a required column cannot be added to a table that has rows"
)


def _add_missing_columns(conn: sa.Connection, table: sa.Table) -> None:
    """Add the nullable columns a trail created by an older version lacks (ADD COLUMN only).

    ADD COLUMN is the same in SQLite and PostgreSQL; a missing NOT NULL column cannot be
    added to a table that already has rows, so it is an error, not a silent failure.
    """
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name in present:
            continue
        if not column.nullable:
            raise ValueError(ERR_NOT_NULL_COLUMN.format(table=table.name, column=column.name))
        kind = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
