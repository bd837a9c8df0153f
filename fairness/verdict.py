"""The gate's verdict: PASS, REVIEW or FAIL, and the one record that states it.

- FAIL: a gated check fails under the policy's decision rule, or a
  performance floor does not hold.
- REVIEW: nothing fails, but at least one borderline check has its *estimate*
  outside the band (e.g. an FPR ratio of 2.40, interval 1.22-4.07, against a
  band of 0.8-1.25: not a confident breach, but the best estimate is a
  2.4-fold disparity). It publishes nothing by itself when the policy's
  ``gate.review_requires_approval`` is true (the default): a named approver
  and a reason are needed, recorded on the version.
- PASS: nothing fails and no estimate lies outside its band.

:class:`VerdictRecord` is the verdict as one well-defined record (model,
version, artifact checksum, verdict, policy version, and how it was cleared),
with a canonical JSON form so it can be signed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from fairness.audit import BORDERLINE, FAIL, PASS, CheckResult, PerformanceCheck
from registry.names import CLEARED_BY_GATE, CLEARED_BY_OVERRIDE, CLEARED_BY_REVIEW_APPROVAL
from registry.signatures import canonical_json

PASS_VERDICT, REVIEW_VERDICT, FAIL_VERDICT = "PASS", "REVIEW", "FAIL"
VERDICTS = (PASS_VERDICT, REVIEW_VERDICT, FAIL_VERDICT)

# How a version came to be cleared for service (``VerdictRecord.cleared_by``): the values live
# in registry.names because the signature check below the fairness layer reads them too.
NOT_CLEARED = ""
RECORD_FORMAT = 1


def outside_band(checks: Sequence[CheckResult]) -> list[CheckResult]:
    """Borderline checks whose estimate lies outside the band, largest distance first."""
    found = [c for c in checks if c.status == BORDERLINE and c.distance > 0]
    return sorted(found, key=lambda c: c.distance, reverse=True)


def gate_verdict(checks: Sequence[CheckResult], performance: Sequence[PerformanceCheck] = ()) -> str:
    """PASS, REVIEW or FAIL for judged checks and performance floors."""
    if any(c.status == FAIL for c in checks) or not all(p.passed for p in performance):
        return FAIL_VERDICT
    return REVIEW_VERDICT if outside_band(checks) else PASS_VERDICT


def every_check_holds(checks: Sequence[CheckResult], performance: Sequence[PerformanceCheck] = ()) -> bool:
    """True only when every gated check was judged and holds (estimate inside its band) and every floor holds."""
    judged_inside = all(c.status in (PASS, BORDERLINE) and c.distance == 0 for c in checks)
    return judged_inside and all(p.passed for p in performance)


def clearance(verdict: str, *, override: bool, approve_review: bool, review_requires_approval: bool) -> str:
    """How the version is cleared for service (one of ``CLEARED_BY_*``), or ``NOT_CLEARED``.

    An override clears any verdict; an approval of a REVIEW clears only a REVIEW
    (it never overrides a FAIL).
    """
    if verdict == PASS_VERDICT:
        return CLEARED_BY_GATE
    if override:
        return CLEARED_BY_OVERRIDE
    if verdict == REVIEW_VERDICT:
        if approve_review:
            return CLEARED_BY_REVIEW_APPROVAL
        if not review_requires_approval:
            return CLEARED_BY_GATE
    return NOT_CLEARED


@dataclass(frozen=True)
class VerdictRecord:
    """The gate's decision on one model version, as one signable record."""

    model_name: str
    model_version: str
    artifact_sha256: str
    verdict: str
    policy_version: str
    cleared_by: str
    approver: str
    reason: str
    checked_at: str
    format: int = RECORD_FORMAT

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @property
    def cleared(self) -> bool:
        return self.cleared_by != NOT_CLEARED

    def canonical_json(self) -> str:
        """Sorted keys, no spaces: the same record always gives the same bytes."""
        return canonical_json(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> VerdictRecord:
        return cls(**json.loads(text))
