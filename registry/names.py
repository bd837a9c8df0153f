"""Every name the model registry and the tracking runs are read and written by, in one place.

Training registers versions of :data:`MODEL_NAME` and points the
:data:`CANDIDATE_ALIAS` at the newest; the fairness gate moves
:data:`CHAMPION_ALIAS` and records its verdict in the ``gate.*`` tags; the
service and ``svrisk score`` read them back. Changing a value here changes it
for every stage at once (and orphans versions tagged under the old value).
"""

from __future__ import annotations

from enum import Enum

# -- registered model and aliases -------------------------------------------------------------
MODEL_NAME = "svrisk"
"""The registered model every stage reads and writes (training's default ``registered_model_name``)."""
CANDIDATE_ALIAS = "candidate"
CHAMPION_ALIAS = "champion"
ALIASES = (CHAMPION_ALIAS, CANDIDATE_ALIAS)
"""Preferred first: scoring falls back from the champion to the candidate."""


class Alias(str, Enum):
    """The aliases a command may be told to use (``--alias``), in :data:`ALIASES` order."""

    champion = CHAMPION_ALIAS
    candidate = CANDIDATE_ALIAS


# -- artifacts of a training run ---------------------------------------------------------------
MODEL_CARD_ARTIFACT = "model_card.md"
"""The filled model card each training run logs (the workspace reads its limits)."""

# -- model-version tags written by training --------------------------------------------------
TAG_CHECKSUM = "artifact_sha256"
TAG_RUN_ID = "run_id"
TAG_OUTCOME = "outcome_definition"

# -- model-version tags written by the fairness gate (fairness.gate documents their order) ---
GATE_TAG_PREFIX = "gate."
TAG_PASSED = "gate.passed"
TAG_POLICY_VERSION = "gate.policy_version"
TAG_REPORT = "gate.report"
TAG_APPROVER = "gate.approver"
TAG_REASON = "gate.reason"
TAG_CHECKED_AT = "gate.checked_at"
TAG_OVERRIDE = "gate.override"
TAG_VERDICT = "gate.verdict"
"""PASS, REVIEW or FAIL (fairness.verdict)."""
TAG_REVIEW_APPROVED = "gate.review_approved"
"""``"true"`` when a REVIEW was approved by ``gate.approver`` for ``gate.reason``."""
TAG_RECORD = "gate.record"
"""The verdict as one signable record, canonical JSON (fairness.verdict.VerdictRecord)."""
TAG_SIGNATURE = "gate.signature"
"""Ed25519 signature (base64) of ``gate.record`` by the publishing key (registry.signatures)."""
TAG_SIGNATURE_KEY_ID = "gate.signature_key_id"
"""Which key signed ``gate.record``: 16 hex digits of the SHA-256 of its public key."""
# How the record says a version was cleared (``cleared_by``; empty when it was not).
CLEARED_BY_GATE = "gate"  # PASS, or REVIEW under a policy that does not require approval
CLEARED_BY_REVIEW_APPROVAL = "review_approval"
CLEARED_BY_OVERRIDE = "override"
TAG_FAILED = "gate.failed_checks"
TAG_ERROR = "gate.error"
TAG_LAST_PASSED = "gate.last_audit_passed"
TAG_LAST_POLICY_VERSION = "gate.last_audit_policy_version"
TAG_LAST_REPORT = "gate.last_audit_report"
TAG_LAST_FAILED = "gate.last_audit_failed_checks"
TAG_LAST_CHECKED_AT = "gate.last_audit_checked_at"
TAG_LAST_VERDICT = "gate.last_audit_verdict"

# -- model-version tags written by the monitor (svrisk monitor; nothing else in the registry) --
MONITOR_TAG_PREFIX = "monitor."
TAG_MONITOR_STATUS = "monitor.last_status"
TAG_MONITOR_REPORT = "monitor.last_report"
TAG_MONITOR_CHECKED_AT = "monitor.last_checked_at"
TAG_MONITOR_PERIODS = "monitor.last_periods"

# -- run tags (training and audit runs) -----------------------------------------------------
RUN_TAG_KIND = "svrisk.kind"
RUN_TAG_OUTCOME = "svrisk.outcome"
RUN_TAG_REGISTERED_VERSION = "svrisk.registered_version"
RUN_TAG_MODEL_NAME = "svrisk.model_name"
RUN_TAG_MODEL_VERSION = "svrisk.model_version"
RUN_TAG_MODEL_RUN_ID = "svrisk.model_run_id"
RUN_TAG_PREVIOUS_CHAMPION = "svrisk.previous_champion"
RUN_TAG_GATE_VERDICT = "svrisk.gate_verdict"

# -- inside a training run -------------------------------------------------------------------
MODEL_ARTIFACT_PATH = "model"
"""The run-relative folder of the logged pyfunc (``runs:/<run_id>/model``); not the registered name."""
