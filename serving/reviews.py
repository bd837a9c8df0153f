"""Practitioner reviews: their judgement recorded beside a score, never instead of it.

A review refers to an audit_id the trail already holds (unknown ids are
refused), copies that score's model version so override rates can later be
monitored by model and group, and is appended like every audit row.

Reviews belong to the scoring (issue 21 item 6): only the caller who asked for the
score may review it (an admin may review any), and a scoring has one standing
review. A later review is a new row whose ``supersedes`` names the latest one
(409 without it); nothing is ever edited, and listings show ``superseded_by``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from serving.api_keys import Principal
from serving.audit_trail import AuditTrail, ReviewConflict, utc_now
from serving.errors import NotYourScoring, ReviewAlreadyRecorded, UnknownAuditId
from serving.metrics import count_review
from serving.risk_bands import N_BANDS

Decision = Literal["agree", "disagree", "escalate", "no_action"]
ERR_UNKNOWN_AUDIT_ID = "audit_id: no scoring with this audit_id exists"
ERR_BAND_REQUIRED = "practitioner_band: required when the decision is 'disagree'"
ERR_BAND_ONLY_ON_DISAGREE = "practitioner_band: give it only when the decision is 'disagree'"
ERR_NOT_YOUR_SCORING = "audit_id: only the caller who asked for this score may review it"
# The role that may review any scoring (and the access log's reader).
REVIEW_ANY_ROLE = "admin"
ERR_REASON_REQUIRED = "reason: required when the decision is 'disagree' or 'escalate'"
DECISIONS_NEEDING_REASON = ("disagree", "escalate")
MAX_REVIEW_TEXT = 4000
# Free text from a form keeps its line breaks and tabs; no other control character (NUL
# fails a PostgreSQL insert, and none belongs in a practitioner's words).
REVIEW_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class ReviewRequest(BaseModel):
    """A practitioner's review of one scored case."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    audit_id: uuid.UUID = Field(..., description="The audit_id returned by /score or /score_batch.")
    decision: Decision = Field(
        ..., description="agree, disagree (give practitioner_band), escalate or no_action."
    )
    reason: str = Field(
        "",
        max_length=MAX_REVIEW_TEXT,
        pattern=REVIEW_TEXT_PATTERN,
        description="The practitioner's reasons, in words; required for disagree and escalate.",
    )
    note: str | None = Field(
        None,
        max_length=MAX_REVIEW_TEXT,
        pattern=REVIEW_TEXT_PATTERN,
        description="An optional note for the record.",
    )
    practitioner_band: int | None = Field(
        None,
        ge=1,
        le=N_BANDS,
        description="The band (1-10) the practitioner would give; only with decision 'disagree'.",
    )
    supersedes: uuid.UUID | None = Field(
        None,
        description="The review_id of this scoring's latest review, when this review replaces it.",
    )

    @model_validator(mode="after")
    def _band_with_disagree(self) -> ReviewRequest:
        if self.decision in DECISIONS_NEEDING_REASON and not self.reason.strip():
            raise ValueError(ERR_REASON_REQUIRED)
        if self.decision == "disagree" and self.practitioner_band is None:
            raise ValueError(ERR_BAND_REQUIRED)
        if self.decision != "disagree" and self.practitioner_band is not None:
            raise ValueError(ERR_BAND_ONLY_ON_DISAGREE)
        return self


class ReviewRecord(BaseModel):
    """A stored review."""

    model_config = ConfigDict(protected_namespaces=())

    review_id: str = Field(..., description="Identifier of this review.")
    audit_id: str = Field(..., description="The scoring reviewed.")
    created_at: dt.datetime = Field(..., description="When the review was recorded (UTC).")
    caller: str = Field(..., description="Who recorded it (API key holder).")
    role: str = Field(..., description="The caller's role.")
    decision: Decision = Field(..., description="The practitioner's decision.")
    reason: str = Field(..., description="The practitioner's reasons (may be empty for agree and no_action).")
    note: str | None = Field(None, description="The practitioner's optional note.")
    practitioner_band: int | None = Field(None, description="The practitioner's band, if they disagreed.")
    model_version: str = Field(..., description="Model version of the reviewed score.")
    supersedes: str | None = Field(None, description="The review this one replaces, if any.")
    superseded_by: str | None = Field(
        None, description="The later review that replaces this one; empty while it stands."
    )

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        # SQLite returns naive datetimes; the trail writes UTC only.
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class ReviewList(BaseModel):
    reviews: list[ReviewRecord] = Field(..., description="Matching reviews, oldest first.")


def record_review(trail: AuditTrail, request: ReviewRequest, principal: Principal) -> ReviewRecord:
    """Append a review of an existing scoring.

    Raises :class:`UnknownAuditId` (404) for an unknown scoring, :class:`NotYourScoring`
    (403) for another caller's scoring, and :class:`ReviewAlreadyRecorded` (409) when the
    review does not supersede exactly the scoring's latest review (or is not the first).
    """
    scored = trail.score_row(str(request.audit_id))
    if scored is None:
        raise UnknownAuditId(ERR_UNKNOWN_AUDIT_ID)
    if scored.caller != principal.name and principal.role != REVIEW_ANY_ROLE:
        raise NotYourScoring(ERR_NOT_YOUR_SCORING)
    record = ReviewRecord(
        review_id=str(uuid.uuid4()),
        audit_id=scored.audit_id,
        created_at=utc_now(),
        caller=principal.name,
        role=principal.role,
        decision=request.decision,
        reason=request.reason,
        note=request.note or None,
        practitioner_band=request.practitioner_band,
        model_version=scored.model_version,
        supersedes=None if request.supersedes is None else str(request.supersedes),
    )
    try:
        trail.append_review(record.model_dump(exclude={"superseded_by"}))
    except ReviewConflict as exc:
        raise ReviewAlreadyRecorded(str(exc)) from None
    count_review(record.decision)
    return record
