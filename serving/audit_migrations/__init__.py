"""Alembic migrations of the audit trail's schema (run by ``AuditTrail.create_schema``)."""
