"""PASS, REVIEW and FAIL on hand-built audits, how each may be cleared, and the signable record."""

from __future__ import annotations

import json

import pytest

from fairness.audit import BORDERLINE, FAIL, PASS, TOO_SMALL, CheckResult, PerformanceCheck
from fairness.policy import load_policy
from fairness.report import ModelCard, Verdict, build_document
from fairness.verdict import (
    CLEARED_BY_GATE,
    CLEARED_BY_OVERRIDE,
    CLEARED_BY_REVIEW_APPROVAL,
    FAIL_VERDICT,
    NOT_CLEARED,
    PASS_VERDICT,
    REVIEW_VERDICT,
    VerdictRecord,
    clearance,
    every_check_holds,
    gate_verdict,
    outside_band,
)


def _check(value: float, low: float, high: float, status: str, group: str = "black") -> CheckResult:
    distance = max(0.8 - value, value - 1.25, 0.0)
    return CheckResult(metric="fpr_ratio", attribute="ethnicity", group=group, reference="white", threshold=0.02,
                       value=value, ci_low=low, ci_high=high, band="[0.8, 1.25]", lower=0.8, upper=1.25,
                       status=status, distance=distance)


def test_fairness_verdict_borderline_inside_band_passes():
    checks = [_check(1.0, 0.9, 1.1, PASS), _check(1.2, 0.9, 1.6, BORDERLINE, "asian")]
    assert gate_verdict(checks) == PASS_VERDICT
    assert outside_band(checks) == [] and every_check_holds(checks)


def test_fairness_verdict_borderline_outside_band_is_review_largest_distance_first():
    # The example: an FPR ratio of 2.40 (1.22 to 4.07) against 0.8-1.25 is not a confident breach.
    example = _check(2.40, 1.22, 4.07, BORDERLINE)
    milder = _check(0.7, 0.4, 1.0, BORDERLINE, "mixed")
    checks = [_check(1.0, 0.9, 1.1, PASS), milder, example]
    assert gate_verdict(checks) == REVIEW_VERDICT
    assert outside_band(checks) == [example, milder]
    assert not every_check_holds(checks)


def test_fairness_verdict_confident_breach_or_failed_floor_fails():
    assert gate_verdict([_check(2.6, 2.4, 3.0, FAIL), _check(2.4, 1.2, 4.0, BORDERLINE)]) == FAIL_VERDICT
    floor = PerformanceCheck("calibration error under ceiling", 0.05, 0.02, False, "too high")
    assert gate_verdict([_check(1.0, 0.9, 1.1, PASS)], [floor]) == FAIL_VERDICT


def test_fairness_verdict_every_check_holds_only_when_all_are_judged():
    checks = [_check(1.0, 0.9, 1.1, PASS), _check(0.0, 0.0, 0.0, TOO_SMALL, "other")]
    assert gate_verdict(checks) == PASS_VERDICT and not every_check_holds(checks)


@pytest.mark.parametrize(
    ("verdict", "override", "approve", "requires", "expected"),
    [
        (PASS_VERDICT, False, False, True, CLEARED_BY_GATE),
        (REVIEW_VERDICT, False, False, True, NOT_CLEARED),  # REVIEW publishes nothing by itself
        (REVIEW_VERDICT, False, True, True, CLEARED_BY_REVIEW_APPROVAL),
        (REVIEW_VERDICT, False, False, False, CLEARED_BY_GATE),  # review_requires_approval: false
        (REVIEW_VERDICT, True, False, True, CLEARED_BY_OVERRIDE),
        (FAIL_VERDICT, False, True, True, NOT_CLEARED),  # an approval of a REVIEW never clears a FAIL
        (FAIL_VERDICT, False, False, False, NOT_CLEARED),
        (FAIL_VERDICT, True, False, True, CLEARED_BY_OVERRIDE),
    ],
)
def test_fairness_verdict_clearance(verdict, override, approve, requires, expected):
    assert clearance(verdict, override=override, approve_review=approve, review_requires_approval=requires) == expected


def test_fairness_verdict_record_is_canonical_json():
    record = VerdictRecord(model_name="svrisk", model_version="3", artifact_sha256="ab" * 32, verdict="REVIEW",
                           policy_version="1.2", cleared_by=CLEARED_BY_REVIEW_APPROVAL, approver="Panel chair",
                           reason="minute 12", checked_at="2026-12-02T05:00:00+00:00")
    text = record.canonical_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert VerdictRecord.from_json(text) == record and record.cleared
    with pytest.raises(ValueError, match="verdict must be one of"):
        VerdictRecord(model_name="m", model_version="1", artifact_sha256="", verdict="MAYBE", policy_version="1.2",
                      cleared_by="", approver="", reason="", checked_at="")


def test_fairness_policy_review_requires_approval_defaults_true_and_is_strict():
    policy = load_policy()
    assert policy.gate.review_requires_approval is True
    data = policy.model_dump()
    data["gate"]["review_requires_approval"] = "perhaps"
    with pytest.raises(ValueError):
        type(policy).model_validate(data)


def _audit_with(checks):
    """A minimal audit around hand-built checks (the report's headline reads only checks and floors)."""
    import pandas as pd

    from fairness.audit import AuditResult

    return AuditResult(rows=pd.DataFrame(), checks=checks, references={"ethnicity": "white"}, thresholds=[0.02],
                       n_rows=1000, resamples=100, confidence=0.95, seed=1, decision_rule="confident_breach",
                       policy_version="1.2", minimum_group_size=100, minimum_positives=10,
                       minimum_expected_events=5, elapsed_seconds=0.1)


@pytest.mark.parametrize(
    ("checks", "action", "starts", "contains"),
    [
        ([_check(1.0, 0.9, 1.1, PASS)], Verdict(published=True), "PASS: every gated check holds", ""),
        ([_check(1.0, 0.9, 1.1, PASS), _check(0.0, 0.0, 0.0, TOO_SMALL, "other")], Verdict(published=True),
         "PASS: no judged check fails", "1 check(s) could not be judged"),
        ([_check(2.40, 1.22, 4.07, BORDERLINE)], Verdict(published=False), "REVIEW: no check fails",
         "NOT PUBLISHED: the policy requires a named approver"),
        ([_check(2.40, 1.22, 4.07, BORDERLINE)],
         Verdict(published=True, review_approved=True, approver="Panel chair", reason="r"), "REVIEW",
         "APPROVED by Panel chair"),
        ([_check(2.40, 1.22, 4.07, BORDERLINE)], Verdict(published=True, review_requires_approval=False), "REVIEW",
         "Published without approval: the policy does not require it"),
        ([_check(2.6, 2.4, 3.0, FAIL)], Verdict(published=False), "FAIL", "REFUSED"),
        ([_check(2.6, 2.4, 3.0, FAIL)], Verdict(published=True, override=True, approver="A", reason="r"), "FAIL",
         "PUBLISHED BY OVERRIDE of A"),
    ],
)
def test_fairness_verdict_headline_matches(checks, action, starts, contains):
    document = build_document(_audit_with(checks), card=ModelCard(title="t", subject="s"), verdict=action)
    headline = document["verdict"]["headline"]
    assert headline.startswith(starts) and contains in headline
    assert ("every gated check holds" in headline) == document["verdict"]["every_check_holds"]
