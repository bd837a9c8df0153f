"""The practitioners' workspace: server-rendered pages mounted in the service under ``/app``.

Sign in with an API key once; a server-side session (in the audit trail's
database, so every worker sees it) carries the person's name and role. Cases
are scored through :func:`serving.case_scoring.score_and_audit`, the same step
as ``POST /score``; reviews through :func:`serving.reviews.record_review`.
"""
