"""The gate: audit a registered candidate, record the verdict, and promote it to ``champion`` only if it passes.

``publish`` reads the candidate's training run (``evaluation/test_predictions.parquet``,
``evaluation/metrics.json``, ``explanations/by_group.csv`` when present and,
for synthetic extracts, ``_truth/outcomes.csv`` beside the extract named by the
run's ``extract_path`` param), audits it against the policy, writes the report
(HTML + JSON) to a local folder and logs it in a *new* MLflow run (the
training run stays as training left it), then records the verdict.

The verdict (:mod:`fairness.verdict`) is PASS, REVIEW or FAIL. PASS clears
the version; REVIEW (nothing fails, but a borderline check's estimate lies
outside its band) clears it only with an approval (``approve_review``, a named
approver and a reason) unless the policy's ``gate.review_requires_approval``
is false; FAIL only with an override.

Promotion is ordered so that a crash at any point leaves the previous
champion serving and never leaves a misleading verdict on the new version:

1. ``gate.passed`` is set to ``"false"`` first, so an earlier verdict can never
   pair with the new tags if the run stops half way;
2. ``gate.policy_version``, ``gate.report``, ``gate.verdict``,
   ``gate.approver``, ``gate.reason``, ``gate.override``,
   ``gate.review_approved``, ``gate.failed_checks``, ``gate.checked_at``,
   ``gate.record`` (the :class:`~fairness.verdict.VerdictRecord` as canonical
   JSON) and its Ed25519 signature ``gate.signature`` with ``gate.signature_key_id``
   (:mod:`registry.signatures`; the private key is a file outside the registry,
   so tags set by hand carry no valid signature and nothing serves them);
3. ``gate.passed`` (last but one): ``"true"`` when the version is cleared
   (PASS, an approved REVIEW, or an override: then ``gate.override`` is
   ``"true"`` and ``gate.failed_checks`` says how many checks were
   overridden); the service starts only on ``"true"``;
4. the alias ``champion`` moves last. If that call fails, ``gate.passed`` is
   set back to ``"false"`` with ``gate.error`` saying why, and the error is
   raised: the version is not published, so it is not marked as if it were.

Every audit also records its own result in ``gate.last_audit_*`` tags
(``passed``, ``verdict``, ``policy_version``, ``report``, ``failed_checks``,
``checked_at``; ``passed`` is ``"incomplete"`` until the others are written,
then ``"true"`` unless the verdict is FAIL).

Re-auditing the version the alias ``champion`` points at (for instance under
a new policy) never touches its ``gate.*`` verdict or the alias: only the
``gate.last_audit_*`` tags change. The service refuses to start on a version
whose ``gate.passed`` is not ``"true"``, so downgrading the champion's own
verdict (or a crash half way through rewriting it) would take the service
down on the very version still behind the alias, with nothing published in
its place. A failed re-audit is reported (exit 1) and recorded; withdrawing
the champion is done by publishing another version, which moves the alias.
An override or approval of the champion's re-audit is refused: it would publish nothing.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from extract.synthetic.truth_files import outcomes_path
from fairness.audit import PROBABILITY, AuditResult, CheckResult, PerformanceCheck, performance_checks, run_audit
from fairness.policy import FairnessPolicy
from fairness.report import ModelCard, Verdict, build_report, write_report_files
from fairness.verdict import (
    CLEARED_BY_OVERRIDE,
    CLEARED_BY_REVIEW_APPROVAL,
    FAIL_VERDICT,
    NOT_CLEARED,
    PASS_VERDICT,
    VerdictRecord,
    clearance,
    gate_verdict,
    outside_band,
)
from registry.names import (
    CANDIDATE_ALIAS,
    RUN_TAG_GATE_VERDICT,
    RUN_TAG_KIND,
    RUN_TAG_MODEL_NAME,
    RUN_TAG_MODEL_RUN_ID,
    RUN_TAG_MODEL_VERSION,
    RUN_TAG_PREVIOUS_CHAMPION,
    CHAMPION_ALIAS,
    MODEL_NAME,
    TAG_APPROVER,
    TAG_CHECKED_AT,
    TAG_CHECKSUM,
    TAG_ERROR,
    TAG_FAILED,
    TAG_LAST_CHECKED_AT,
    TAG_LAST_FAILED,
    TAG_LAST_PASSED,
    TAG_LAST_POLICY_VERSION,
    TAG_LAST_REPORT,
    TAG_OUTCOME,
    TAG_OVERRIDE,
    TAG_LAST_VERDICT,
    TAG_PASSED,
    TAG_POLICY_VERSION,
    TAG_REASON,
    TAG_RECORD,
    TAG_REPORT,
    TAG_REVIEW_APPROVED,
    TAG_VERDICT,
)
from registry.signatures import sign_record, signing_key_from
from registry.versions import download_run_artifact
from registry.versions import resolve_version as find_version

LAST_AUDIT_INCOMPLETE = "incomplete"
PREDICTIONS_ARTIFACT = "evaluation/test_predictions.parquet"
METRICS_ARTIFACT = "evaluation/metrics.json"
BY_GROUP_ARTIFACT = "explanations/by_group.csv"
REPORT_ARTIFACT_DIR = "fairness"
DEFAULT_REPORT_ROOT = Path("reports")
AUDIT_RUN_KIND = "fairness_audit"
SCORE_COL = "probability"
LABEL_COL = "label"
TRUE_LABEL_COL = "true_outcome"
KEY_COLUMNS = ["person_id", "as_of"]

ATTRIBUTE_MISSING = "the test predictions lack the audited attribute(s) {missing}; columns: {columns}"
OVERRIDE_INCOMPLETE = "an override or an approval of a REVIEW needs both an approver and a reason"
OVERRIDE_AND_APPROVAL = "give either an override (of a FAIL) or an approval (of a REVIEW), not both"
OVERRIDE_CHAMPION = ("version {version} is already {alias!r}: an override or approval would publish nothing "
                     "(re-audit it without --override or --approve-review)")
TRUTH_UNMATCHED = "{missing} of {total} test rows have no true outcome in {path}"
PROMOTION_FAILED = "version {version} passed the gate but the alias {alias!r} could not be moved ({error}); the previous champion keeps serving"


class PromotionError(RuntimeError):
    """The verdict was recorded but the champion alias could not be moved."""


@dataclass
class GateOutcome:
    """What ``publish`` decided and where it wrote the report."""

    version: str
    passed: bool
    published: bool
    override: bool
    failed: list[CheckResult]
    performance: list[PerformanceCheck]
    report_uri: str
    audit_run_id: str
    html_path: Path
    json_path: Path
    previous_champion: str | None
    borderline: int = 0
    too_small: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    reaudit: bool = False  # the version was already champion: its verdict tags and the alias were left alone
    verdict: str = FAIL_VERDICT
    outside: list[CheckResult] = field(default_factory=list)  # estimates outside the band, largest first
    review_approved: bool = False
    not_judged: list[CheckResult] = field(default_factory=list)
    record: VerdictRecord | None = None

    def failure_lines(self) -> list[str]:
        """One line per failed check or floor, saying by how much."""
        from fairness.report import check_title

        lines = [
            f"{check_title(c)}: {c.value:.3f}, allowed {c.band}, {c.distance:.3f} outside" for c in self.failed
        ]
        lines += [f"{p.name}: {p.detail}" for p in self.performance if not p.passed]
        return lines

    def outside_lines(self) -> list[str]:
        """One line per borderline check whose estimate lies outside the band, largest distance first."""
        from fairness.report import check_title

        return [f"{check_title(c)}: {c.value:.3f} (interval {c.ci_low:.2f} to {c.ci_high:.2f}), allowed {c.band}, "
                f"{c.distance:.3f} outside" for c in self.outside]


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def resolve_version(client: Any, name: str, version: str | None) -> Any:
    """The model version to gate: ``version`` when given, else the ``candidate`` alias (ValueError if missing)."""
    return find_version(client, name, version=version, aliases=(CANDIDATE_ALIAS,))


def current_champion(client: Any, name: str) -> str | None:
    """The version the ``champion`` alias points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except MlflowException:
        # No champion yet is a normal state before the first publication.
        return None


def _has_artifact(client: Any, run_id: str, artifact: str) -> bool:
    folder, _, name = artifact.rpartition("/")
    return any(item.path == artifact for item in client.list_artifacts(run_id, folder or None))


def attach_truth(predictions: pd.DataFrame, truth_path: Path) -> pd.DataFrame:
    """Predictions with the synthetic extract's true outcome per (person_id, as_of).

    Raises
    ------
    ValueError
        If a test row has no true outcome (the extract and the run disagree).
    """
    truth = pd.read_csv(truth_path, usecols=[*KEY_COLUMNS, TRUE_LABEL_COL], dtype={"person_id": str})
    truth["as_of"] = pd.to_datetime(truth["as_of"])
    # A person can be both a snapshot and a referral row on one date: same window, same outcome.
    truth = truth.drop_duplicates(KEY_COLUMNS)
    left = predictions.assign(person_id=predictions["person_id"].astype(str),
                              as_of=pd.to_datetime(predictions["as_of"]))
    merged = left.merge(truth, on=KEY_COLUMNS, how="left", validate="many_to_one")
    missing = int(merged[TRUE_LABEL_COL].isna().sum())
    if missing:
        raise ValueError(TRUTH_UNMATCHED.format(missing=missing, total=len(merged), path=truth_path))
    merged[TRUE_LABEL_COL] = merged[TRUE_LABEL_COL].astype("int64")
    return merged


def outcome_description(tag: str) -> str:
    """The plain-English outcome definition recorded by training (JSON with a ``description``)."""
    try:
        recorded = json.loads(tag) if tag else {}
    except json.JSONDecodeError:
        return tag  # recorded as plain text
    return str(recorded.get("description", tag)) if isinstance(recorded, dict) else tag


def _model_card(name: str, mv: Any, run: Any, predictions: pd.DataFrame, metrics: dict[str, Any],
                performance_table: list[dict[str, Any]], truth_used: bool) -> ModelCard:
    params = run.data.params
    outcome_text = outcome_description(mv.tags.get(TAG_OUTCOME, ""))
    data = [
        ("model", f"{name} version {mv.version} (run {mv.run_id})"),
        ("source", params.get("extract_path") or params.get("table_path") or "not recorded"),
        ("test rows", f"{len(predictions):,}"),
        ("recorded outcome rate (test)", f"{predictions[LABEL_COL].mean():.3%}"),
        ("true outcomes", "available (synthetic extract): see the label-bias section" if truth_used else "not available"),
        ("artifact checksum", mv.tags.get(TAG_CHECKSUM, "not recorded")),
    ]
    if "as_of" in predictions.columns:
        as_of = pd.to_datetime(predictions["as_of"])
        data.insert(3, ("test period", f"{as_of.min():%Y-%m-%d} to {as_of.max():%Y-%m-%d}"))
    if "team_capacity" in metrics:
        data.append(("team capacity", str(metrics["team_capacity"])))
    return ModelCard(
        title=f"Fairness audit and gate: {name} version {mv.version}",
        subject=f"run {mv.run_id}; audited {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        outcome=outcome_text,
        data=data,
        performance=performance_table,
    )


@dataclass
class Candidate:
    """What the gate reads from a version's training run."""

    predictions: pd.DataFrame
    metrics: dict[str, Any]
    by_group: pd.DataFrame | None


@dataclass
class CandidateAudit:
    """The audits of a candidate: recorded outcomes, true outcomes (synthetic only) and the performance floors."""

    recorded: AuditResult
    truth: AuditResult | None
    floors: list[PerformanceCheck]
    performance_table: list[dict[str, Any]]


def check_approval(*, override: bool, approve_review: bool, approver: str, reason: str) -> None:
    """An override or an approval of a REVIEW needs a named approver and a reason; not both at once."""
    if override and approve_review:
        raise ValueError(OVERRIDE_AND_APPROVAL)
    if (override or approve_review) and not (approver.strip() and reason.strip()):
        raise ValueError(OVERRIDE_INCOMPLETE)


def read_candidate(client: Any, mv: Any, run: Any, policy: FairnessPolicy) -> Candidate:
    """The version's test predictions (with true outcomes when the extract has them), metrics and explanations."""
    version_id = str(mv.version)
    with tempfile.TemporaryDirectory(prefix="svrisk-gate-") as tmp_name:
        tmp = Path(tmp_name)
        name = str(mv.name)
        predictions = pd.read_parquet(download_run_artifact(mv.run_id, PREDICTIONS_ARTIFACT, tmp, name=name,
                                                            version=version_id))
        metrics = json.loads(download_run_artifact(mv.run_id, METRICS_ARTIFACT, tmp, name=name,
                                                   version=version_id).read_text())
        by_group = (
            pd.read_csv(download_run_artifact(mv.run_id, BY_GROUP_ARTIFACT, tmp, name=name, version=version_id))
            if _has_artifact(client, mv.run_id, BY_GROUP_ARTIFACT)
            else None
        )
    columns = {c for name_ in policy.groups.audited_names for c in name_.split(" x ")}
    missing = sorted(columns - set(predictions.columns))
    if missing:
        raise ValueError(ATTRIBUTE_MISSING.format(missing=missing, columns=list(predictions.columns)))
    extract_path = run.data.params.get("extract_path")
    truth_path = outcomes_path(extract_path) if extract_path else None
    if truth_path is not None and truth_path.is_file():
        predictions = attach_truth(predictions, truth_path)
    return Candidate(predictions, metrics, by_group)


def audit_candidate(predictions: pd.DataFrame, policy: FairnessPolicy, resamples: int | None,
                    tell: Callable[[str], None]) -> CandidateAudit:
    """Audit against recorded outcomes, against true outcomes when present, and check the performance floors."""
    attributes = policy.groups.audited_names
    recorded = run_audit(predictions, score_col=SCORE_COL, label_col=LABEL_COL, group_cols=attributes,
                         policy=policy, resamples=resamples, score_kind=PROBABILITY)
    tell(f"audited against recorded outcomes ({recorded.elapsed_seconds:.1f} s)")
    truth = None
    if TRUE_LABEL_COL in predictions.columns:
        truth = run_audit(predictions, score_col=SCORE_COL, label_col=TRUE_LABEL_COL, group_cols=attributes,
                          policy=policy, resamples=resamples, score_kind=PROBABILITY)
        tell("audited against true outcomes")
    floors, table = performance_checks(predictions, score_col=SCORE_COL, label_col=LABEL_COL, policy=policy)
    return CandidateAudit(recorded, truth, floors, table)


def verdict_note(version_id: str, previous: str | None, reaudit: bool, verdict: str, cleared: bool,
                 approve_review: bool) -> str:
    """The sentence under the headline: what happened to the previous champion."""
    if reaudit:
        return (f"Re-audit of version {version_id}, which is already the champion: its publication record is "
                "unchanged and it keeps serving"
                + ("." if verdict == PASS_VERDICT else "; publish another version to replace it."))
    extra = ""
    if approve_review and verdict == PASS_VERDICT:
        extra = " The verdict is PASS, so no approval was needed and none is recorded."
    elif approve_review and verdict == FAIL_VERDICT:
        extra = " An approval of a REVIEW never overrides a FAIL (that needs --override)."
    if previous:
        return f"Previous champion: version {previous}" + ("." if cleared else "; it keeps serving.") + extra
    return "There was no champion before." + extra


def log_audit_run(run: Any, name: str, mv: Any, previous: str | None, policy: FairnessPolicy, policy_text: str,
                  audit: AuditResult, verdict: str, cleared_by: str, paths: tuple[Path, Path]) -> tuple[str, str]:
    """Log the report in a new MLflow run beside the training run; return its id and the report's URI."""
    import mlflow

    version_id = str(mv.version)
    with mlflow.start_run(experiment_id=run.info.experiment_id,
                          run_name=f"fairness-audit-{name}-v{version_id}") as audit_run:
        mlflow.set_tags({RUN_TAG_KIND: AUDIT_RUN_KIND, RUN_TAG_MODEL_NAME: name,
                         RUN_TAG_MODEL_VERSION: version_id, RUN_TAG_MODEL_RUN_ID: mv.run_id,
                         RUN_TAG_PREVIOUS_CHAMPION: previous or "", RUN_TAG_GATE_VERDICT: verdict})
        mlflow.log_params({"policy_version": policy.version, "resamples": audit.resamples,
                           "override": str(cleared_by == CLEARED_BY_OVERRIDE).lower(),
                           "review_approved": str(cleared_by == CLEARED_BY_REVIEW_APPROVAL).lower()})
        mlflow.log_metrics({"gate_passed": float(verdict != FAIL_VERDICT), "failed_checks": float(len(audit.failed)),
                            "borderline_checks": float(len(audit.borderline)),
                            "outside_band_checks": float(len(outside_band(audit.checks)))})
        for path in paths:
            mlflow.log_artifact(str(path), REPORT_ARTIFACT_DIR)
        mlflow.log_text(policy_text, f"{REPORT_ARTIFACT_DIR}/policy.yaml")
    return audit_run.info.run_id, f"runs:/{audit_run.info.run_id}/{REPORT_ARTIFACT_DIR}/report.html"


def publish(
    *,
    policy: FairnessPolicy,
    policy_text: str,
    out_dir: Path | None = None,
    version: str | None = None,
    name: str = MODEL_NAME,
    override: bool = False,
    approve_review: bool = False,
    approver: str = "",
    reason: str = "",
    resamples: int | None = None,
    charts: bool = True,
    progress: Callable[[str], None] | None = None,
    signing_key: Any | None = None,
) -> GateOutcome:
    """Audit a registered version, record the verdict and move ``champion`` if it is cleared.

    PASS clears the version; REVIEW clears it only with ``approve_review`` (a
    named approver and a reason) unless the policy's
    ``gate.review_requires_approval`` is false; FAIL only with ``override``.
    The verdict record is signed with ``signing_key`` (an Ed25519 private key;
    default: the file named by ``SVRISK_SIGNING_KEY_FILE``, read before anything is audited).

    Raises
    ------
    ValueError
        On a missing version, a missing run artifact, predictions without the
        policy's attributes, an incomplete override or approval, or a missing
        or unreadable signing key.
    PromotionError
        If every tag was written but the alias could not be moved.
    """
    tell = progress or (lambda _message: None)
    check_approval(override=override, approve_review=approve_review, approver=approver, reason=reason)
    # Read the key first: a long audit must not end in a verdict that cannot be signed.
    signing_key = signing_key or signing_key_from(None)
    client = _client()
    mv = resolve_version(client, name, version)
    version_id = str(mv.version)
    run = client.get_run(mv.run_id)
    previous = current_champion(client, name)
    reaudit = previous == version_id
    if reaudit and (override or approve_review):
        raise ValueError(OVERRIDE_CHAMPION.format(version=version_id, alias=CHAMPION_ALIAS))

    candidate = read_candidate(client, mv, run, policy)
    tell(f"read the test predictions of version {version_id} ({len(candidate.predictions):,} rows)")
    audits = audit_candidate(candidate.predictions, policy, resamples, tell)
    audit = audits.recorded
    verdict = gate_verdict(audit.checks, audits.floors)
    cleared_by = clearance(verdict, override=override, approve_review=approve_review,
                           review_requires_approval=policy.gate.review_requires_approval)
    cleared = cleared_by != NOT_CLEARED
    approved = cleared_by in (CLEARED_BY_OVERRIDE, CLEARED_BY_REVIEW_APPROVAL)
    action = Verdict(
        published=cleared and not reaudit, override=cleared_by == CLEARED_BY_OVERRIDE,
        review_approved=cleared_by == CLEARED_BY_REVIEW_APPROVAL,
        approver=approver if approved else "", reason=reason if approved else "",
        performance=audits.floors, review_requires_approval=policy.gate.review_requires_approval,
        note=verdict_note(version_id, previous, reaudit, verdict, cleared, approve_review),
    )
    card = _model_card(name, mv, run, candidate.predictions, candidate.metrics, audits.performance_table,
                       audits.truth is not None)
    html, document = build_report(audit, card=card, verdict=action, truth=audits.truth,
                                  explanations_by_group=candidate.by_group, charts=charts)
    paths = write_report_files(out_dir or DEFAULT_REPORT_ROOT / f"fairness-{name}-v{version_id}", html, document)
    audit_run_id, report_uri = log_audit_run(run, name, mv, previous, policy, policy_text, audit, verdict,
                                             cleared_by, paths)
    tell(f"report logged in run {audit_run_id}")

    failed_count = len(audit.failed) + sum(not p.passed for p in audits.floors)
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    record = VerdictRecord(
        model_name=name, model_version=version_id, artifact_sha256=mv.tags.get(TAG_CHECKSUM, ""),
        verdict=verdict, policy_version=policy.version, cleared_by=cleared_by,
        approver=action.approver, reason=action.reason, checked_at=checked_at,
    )
    tags = record_verdict(client, record, report_uri=report_uri, failed_count=failed_count, reaudit=reaudit,
                          signing_key=signing_key)
    return GateOutcome(
        version=version_id, passed=verdict != FAIL_VERDICT, published=cleared and not reaudit,
        override=action.override, failed=audit.failed, performance=audits.floors, report_uri=report_uri,
        audit_run_id=audit_run_id, html_path=paths[0], json_path=paths[1], previous_champion=previous,
        borderline=len(audit.borderline), too_small=len(audit.too_small), tags=tags, reaudit=reaudit,
        verdict=verdict, outside=outside_band(audit.checks), review_approved=action.review_approved,
        not_judged=audit.not_judged, record=record,
    )


def record_verdict(client: Any, record: VerdictRecord, *, report_uri: str, failed_count: int,
                   reaudit: bool, signing_key: Any) -> dict[str, str]:
    """Write the verdict as tags: always this audit's ``gate.last_audit_*``; the publication tags (and the
    alias) only when the version is not already the champion (module docstring). The record is signed
    with ``signing_key`` (an Ed25519 private key). Returns the tags written."""
    name, version_id = record.model_name, record.model_version
    last = {
        TAG_LAST_POLICY_VERSION: record.policy_version,
        TAG_LAST_REPORT: report_uri,
        TAG_LAST_FAILED: str(failed_count),
        TAG_LAST_CHECKED_AT: record.checked_at,
        TAG_LAST_VERDICT: record.verdict,
    }
    passed = record.verdict != FAIL_VERDICT
    record_last_audit(client, name, version_id, last, passed)
    last[TAG_LAST_PASSED] = str(passed).lower()
    if reaudit:
        return last
    tags = {
        TAG_POLICY_VERSION: record.policy_version,
        TAG_REPORT: report_uri,
        TAG_VERDICT: record.verdict,
        TAG_APPROVER: record.approver,
        TAG_REASON: record.reason,
        TAG_OVERRIDE: str(record.cleared_by == CLEARED_BY_OVERRIDE).lower(),
        TAG_REVIEW_APPROVED: str(record.cleared_by == CLEARED_BY_REVIEW_APPROVAL).lower(),
        TAG_FAILED: str(failed_count),
        TAG_CHECKED_AT: record.checked_at,
        TAG_RECORD: record.canonical_json(),
        **sign_record(record.canonical_json(), signing_key).tags(),
    }
    record_and_promote(client, name, version_id, tags, record.cleared)
    return {**last, **tags, TAG_PASSED: str(record.cleared).lower()}


def record_last_audit(client: Any, name: str, version: str, tags: dict[str, str], passed: bool) -> None:
    """Write this audit's own result: ``incomplete`` first, so a crash never pairs old and new tags."""
    client.set_model_version_tag(name, version, TAG_LAST_PASSED, LAST_AUDIT_INCOMPLETE)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_model_version_tag(name, version, TAG_LAST_PASSED, str(passed).lower())


def record_and_promote(client: Any, name: str, version: str, tags: dict[str, str], cleared: bool) -> None:
    """Write the verdict tags in crash-safe order, then move ``champion`` if ``cleared``."""
    client.set_model_version_tag(name, version, TAG_PASSED, "false")
    client.set_model_version_tag(name, version, TAG_ERROR, "")
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_model_version_tag(name, version, TAG_PASSED, str(cleared).lower())
    if not cleared:
        return
    try:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    except Exception as error:
        # Not published: do not leave the version marked as cleared for service.
        client.set_model_version_tag(name, version, TAG_PASSED, "false")
        client.set_model_version_tag(name, version, TAG_ERROR, f"champion alias not moved: {error}")
        raise PromotionError(PROMOTION_FAILED.format(version=version, alias=CHAMPION_ALIAS, error=error)) from error
