"""Alembic's entry point for the audit trail: always given a connection by ``AuditTrail``.

``AuditTrail.create_schema`` opens the connection, takes the schema lock (SQLite
``BEGIN IMMEDIATE``; a PostgreSQL advisory lock) and commits after the upgrade, so
several workers starting at once run each migration once.
"""

from alembic import context

from serving.audit_trail import SCHEMA_VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=SCHEMA_VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
