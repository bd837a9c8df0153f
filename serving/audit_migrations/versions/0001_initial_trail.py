"""The trail as it was before Alembic: score_audit (with the issue 15 audit attributes) and reviews.

A trail made by an earlier version of svrisk (no version table) may lack the nullable
columns added since (the audit attributes, a review's note): they are added, empty for
the old rows. The tables are written out as they were at this revision, not imported,
so later changes to the current schema do not rewrite history.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import CreateIndex, CreateTable

from serving.audit_trail import add_missing_columns, append_only_guards

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_METADATA = sa.MetaData()
_SCORES = sa.Table(
    "score_audit",
    _METADATA,
    sa.Column("audit_id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("caller", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("person_id", sa.String(200), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("model_version", sa.String(40), nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("band", sa.Integer, nullable=False),
    sa.Column("sex", sa.String(20), nullable=True),
    sa.Column("ethnicity", sa.String(20), nullable=True),
    sa.Column("age_band", sa.String(20), nullable=True),
    sa.Column("sen", sa.String(20), nullable=True),
    sa.Column("imd_decile", sa.Integer, nullable=True),
    sa.Column("local_authority", sa.String(100), nullable=True),
    sa.Index("ix_score_audit_created_at", "created_at"),
)
_REVIEWS = sa.Table(
    "reviews",
    _METADATA,
    sa.Column("review_id", sa.String(36), primary_key=True),
    sa.Column("audit_id", sa.String(36), sa.ForeignKey("score_audit.audit_id"), nullable=False),
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


def upgrade() -> None:
    conn = op.get_bind()
    for table in (_SCORES, _REVIEWS):
        conn.execute(CreateTable(table, if_not_exists=True))
        add_missing_columns(conn, table)
        for index in table.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))
    for statement in append_only_guards(conn.dialect.name, ("score_audit", "reviews")):
        conn.exec_driver_sql(statement)
