"""Reviews name the review they supersede; reads of reviews and model details are logged (issue 21 item 6).

``reviews.supersedes`` (nullable: older reviews supersede nothing, and a NULL leaves
their hashes valid), an index on ``reviews.audit_id`` for the one-review-per-scoring
check, and the hash-chained, append-only ``access_log`` (written out as it is at this
revision, not imported from serving/audit_trail.py, so later changes there do not
rewrite what this revision created).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import CreateIndex, CreateTable

from serving.audit_chain import HASH_COLUMN, PREV_COLUMN, SEQ_COLUMN
from serving.audit_trail import append_only_guards

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACCESS_LOG = sa.Table(
    "access_log",
    sa.MetaData(),
    sa.Column("access_id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("caller", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("resource", sa.String(80), nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column(SEQ_COLUMN, sa.Integer, nullable=True),
    sa.Column(PREV_COLUMN, sa.String(64), nullable=True),
    sa.Column(HASH_COLUMN, sa.String(64), nullable=True),
    sa.Index("ix_access_log_created_at", "created_at"),
    sa.Index("ux_access_log_chain_seq", SEQ_COLUMN, unique=True),
)


def upgrade() -> None:
    conn = op.get_bind()
    # ADD COLUMN ... REFERENCES is the same in SQLite and PostgreSQL; no UPDATE is needed.
    # (Only when missing: a trail made by create_all from the current tables has it.)
    if "supersedes" not in {c["name"] for c in sa.inspect(conn).get_columns("reviews")}:
        conn.exec_driver_sql("ALTER TABLE reviews ADD COLUMN supersedes VARCHAR(36) REFERENCES reviews (review_id)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_reviews_audit_id ON reviews (audit_id)")
    conn.execute(CreateTable(_ACCESS_LOG, if_not_exists=True))
    for index in _ACCESS_LOG.indexes:
        conn.execute(CreateIndex(index, if_not_exists=True))
    for statement in append_only_guards(conn.dialect.name, ("access_log",)):
        conn.exec_driver_sql(statement)
