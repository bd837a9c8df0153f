"""Hash-chain score_audit and reviews (issue 19): chain_seq, prev_hash and row_hash on every row.

Rows already in the trail are chained here, in the order they were written
(created_at, then id): tamper evidence for them starts at this migration. Filling
in the new columns needs UPDATE, so the append-only triggers are dropped and
recreated inside the same transaction.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from serving.audit_chain import GENESIS_HASH, HASH_COLUMN, PREV_COLUMN, SEQ_COLUMN, chained
from serving.audit_trail import METADATA, add_missing_columns, append_only_guards, dropped_guards

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TABLES = {"score_audit": "audit_id", "reviews": "review_id"}
ERR_HALF_CHAINED = "{table}: some rows are chained and some are not: the trail was changed outside svrisk"


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    for statement in dropped_guards(dialect, tuple(_TABLES)):
        conn.exec_driver_sql(statement)
    for name, key in _TABLES.items():
        # A trail created from the current tables without a version (SQLAlchemy's
        # create_all) has the columns already: add only what is missing.
        add_missing_columns(conn, METADATA.tables[name], only=(SEQ_COLUMN, PREV_COLUMN, HASH_COLUMN))
        conn.exec_driver_sql(f"CREATE UNIQUE INDEX IF NOT EXISTS ux_{name}_chain_seq ON {name} ({SEQ_COLUMN})")
        _chain_existing_rows(conn, name, key)
    for statement in append_only_guards(dialect, tuple(_TABLES)):
        conn.exec_driver_sql(statement)


def _chain_existing_rows(conn: sa.Connection, name: str, key: str) -> None:
    # The current definition gives each column's type (so values read back as the service
    # wrote them); only the columns this revision's table has are read.
    present = {c["name"] for c in sa.inspect(conn).get_columns(name)}
    table = METADATA.tables[name]
    columns = [c for c in table.columns if c.name in present and c.name not in (SEQ_COLUMN, PREV_COLUMN, HASH_COLUMN)]
    unchained = sa.select(*columns).where(table.c[SEQ_COLUMN].is_(None)).order_by(table.c.created_at, table.c[key])
    rows = [dict(r) for r in conn.execute(unchained).mappings()]
    if not rows:
        return
    if conn.execute(sa.select(sa.func.count()).where(table.c[SEQ_COLUMN].is_not(None))).scalar_one():
        raise ValueError(ERR_HALF_CHAINED.format(table=name))
    update = (
        sa.update(table)
        .where(table.c[key] == sa.bindparam("_key"))
        .values({c: sa.bindparam(f"_{c}") for c in (SEQ_COLUMN, PREV_COLUMN, HASH_COLUMN)})
    )
    conn.execute(update, [{"_key": r[key], **{f"_{c}": r[c] for c in (SEQ_COLUMN, PREV_COLUMN, HASH_COLUMN)}}
                          for r in chained(rows, 0, GENESIS_HASH)])  # fmt: skip
