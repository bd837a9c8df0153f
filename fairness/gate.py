"""The gate: audit a registered candidate, record the verdict, and promote it to ``champion`` only if it passes.

``publish`` reads the candidate's training run (``evaluation/test_predictions.parquet``,
``evaluation/metrics.json``, ``explanations/by_group.csv`` when present and,
for synthetic extracts, ``_truth/outcomes.csv`` beside the extract named by the
run's ``extract_path`` param), audits it against the policy, writes the report
(HTML + JSON) to a local folder and logs it in a *new* MLflow run (the
training run stays as training left it), then records the verdict.

Promotion is ordered so that a crash at any point leaves the previous
champion serving and never leaves a misleading verdict on the new version:

1. ``gate.passed`` is set to ``"false"`` first, so an earlier verdict can never
   pair with the new tags if the run stops half way;
2. ``gate.policy_version``, ``gate.report``, ``gate.approver``, ``gate.reason``,
   ``gate.override``, ``gate.failed_checks``, ``gate.checked_at``;
3. ``gate.passed`` (last but one): ``"true"`` when every gated check and
   performance floor holds, or when a named approver overrides (then
   ``gate.override`` is ``"true"`` and ``gate.failed_checks`` says how many
   checks were overridden); the service starts only on ``"true"``;
4. the alias ``champion`` moves last. If that call fails, ``gate.passed`` is
   set back to ``"false"`` with ``gate.error`` saying why, and the error is
   raised: the version is not published, so it is not marked as if it were.

Every audit also records its own result in ``gate.last_audit_*`` tags
(``passed``, ``policy_version``, ``report``, ``failed_checks``,
``checked_at``; ``passed`` is ``"incomplete"`` until the others are written).

Re-auditing the version the alias ``champion`` points at (for instance under
a new policy) never touches its ``gate.*`` verdict or the alias: only the
``gate.last_audit_*`` tags change. The service refuses to start on a version
whose ``gate.passed`` is not ``"true"``, so downgrading the champion's own
verdict (or a crash half way through rewriting it) would take the service
down on the very version still behind the alias, with nothing published in
its place. A failed re-audit is reported (exit 1) and recorded; withdrawing
the champion is done by publishing another version, which moves the alias.
An override of the champion's re-audit is refused: it would publish nothing.
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

from fairness.audit import AuditResult, CheckResult, PerformanceCheck, performance_checks, run_audit
from fairness.policy import FairnessPolicy
from fairness.report import ModelCard, Verdict, build_report
from registry.names import (
    CANDIDATE_ALIAS,
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
    TAG_PASSED,
    TAG_POLICY_VERSION,
    TAG_REASON,
    TAG_REPORT,
)
from registry.versions import resolve_version as find_version

LAST_AUDIT_INCOMPLETE = "incomplete"
PREDICTIONS_ARTIFACT = "evaluation/test_predictions.parquet"
METRICS_ARTIFACT = "evaluation/metrics.json"
BY_GROUP_ARTIFACT = "explanations/by_group.csv"
TRUTH_FILE = Path("_truth") / "outcomes.csv"
REPORT_ARTIFACT_DIR = "fairness"
DEFAULT_REPORT_ROOT = Path("reports")
AUDIT_RUN_KIND = "fairness_audit"
SCORE_COL = "probability"
LABEL_COL = "label"
TRUE_LABEL_COL = "true_outcome"
KEY_COLUMNS = ["person_id", "as_of"]

ARTIFACT_MISSING = "the run {run_id} of version {version} has no {artifact} ({error})"
ATTRIBUTE_MISSING = "the test predictions lack the audited attribute(s) {missing}; columns: {columns}"
OVERRIDE_INCOMPLETE = "an override needs both an approver and a reason"
OVERRIDE_CHAMPION = "version {version} is already {alias!r}: an override would publish nothing (re-audit it without --override)"
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

    def failure_lines(self) -> list[str]:
        """One line per failed check or floor, saying by how much."""
        from fairness.report import check_title

        lines = [
            f"{check_title(c)}: {c.value:.3f}, allowed {c.band}, {c.distance:.3f} outside" for c in self.failed
        ]
        lines += [f"{p.name}: {p.detail}" for p in self.performance if not p.passed]
        return lines


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


def _download(run_id: str, artifact: str, dst: Path, version: str) -> Path:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=str(dst)))
    except (MlflowException, OSError) as error:
        raise ValueError(ARTIFACT_MISSING.format(run_id=run_id, version=version, artifact=artifact, error=error)) from None


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


def publish(
    *,
    policy: FairnessPolicy,
    policy_text: str,
    out_dir: Path | None = None,
    version: str | None = None,
    name: str = MODEL_NAME,
    override: bool = False,
    approver: str = "",
    reason: str = "",
    resamples: int | None = None,
    charts: bool = True,
    progress: Callable[[str], None] | None = None,
) -> GateOutcome:
    """Audit a registered version, record the verdict and move ``champion`` if it passes.

    Raises
    ------
    ValueError
        On a missing version, a missing run artifact, predictions without the
        policy's attributes, or an incomplete override.
    PromotionError
        If every tag was written but the alias could not be moved.
    """
    import mlflow

    tell = progress or (lambda _message: None)
    if override and not (approver.strip() and reason.strip()):
        raise ValueError(OVERRIDE_INCOMPLETE)
    client = _client()
    mv = resolve_version(client, name, version)
    version_id = str(mv.version)
    run = client.get_run(mv.run_id)
    previous = current_champion(client, name)
    reaudit = previous == version_id
    if reaudit and override:
        raise ValueError(OVERRIDE_CHAMPION.format(version=version_id, alias=CHAMPION_ALIAS))

    with tempfile.TemporaryDirectory(prefix="svrisk-gate-") as tmp_name:
        tmp = Path(tmp_name)
        predictions = pd.read_parquet(_download(mv.run_id, PREDICTIONS_ARTIFACT, tmp, version_id))
        metrics = json.loads(_download(mv.run_id, METRICS_ARTIFACT, tmp, version_id).read_text())
        by_group = (
            pd.read_csv(_download(mv.run_id, BY_GROUP_ARTIFACT, tmp, version_id))
            if _has_artifact(client, mv.run_id, BY_GROUP_ARTIFACT)
            else None
        )
    tell(f"read the test predictions of version {version_id} ({len(predictions):,} rows)")
    attributes = policy.groups.audited_names
    columns = {c for name_ in attributes for c in name_.split(" x ")}
    missing = sorted(columns - set(predictions.columns))
    if missing:
        raise ValueError(ATTRIBUTE_MISSING.format(missing=missing, columns=list(predictions.columns)))

    extract_path = run.data.params.get("extract_path")
    truth_path = Path(extract_path) / TRUTH_FILE if extract_path else None
    truth_audit: AuditResult | None = None
    if truth_path is not None and truth_path.is_file():
        predictions = attach_truth(predictions, truth_path)
    audit = run_audit(predictions, score_col=SCORE_COL, label_col=LABEL_COL, group_cols=attributes,
                      policy=policy, resamples=resamples)
    tell(f"audited against recorded outcomes ({audit.elapsed_seconds:.1f} s)")
    if TRUE_LABEL_COL in predictions.columns:
        truth_audit = run_audit(predictions, score_col=SCORE_COL, label_col=TRUE_LABEL_COL,
                                group_cols=attributes, policy=policy, resamples=resamples)
        tell("audited against true outcomes")
    floors, performance_table = performance_checks(predictions, score_col=SCORE_COL, label_col=LABEL_COL,
                                                   policy=policy)
    passed = audit.passed and all(p.passed for p in floors)
    cleared = passed or override

    if reaudit:
        note = (f"Re-audit of version {version_id}, which is already the champion: its publication record is "
                "unchanged and it keeps serving" + ("." if passed else "; publish another version to replace it."))
    elif previous:
        note = f"Previous champion: version {previous}" + ("." if cleared else "; it keeps serving.")
    else:
        note = "There was no champion before."
    verdict = Verdict(passed=passed, published=cleared and not reaudit, override=override, approver=approver,
                      reason=reason, performance=floors, note=note)
    card = _model_card(name, mv, run, predictions, metrics, performance_table, truth_audit is not None)
    html, document = build_report(audit, card=card, verdict=verdict, truth=truth_audit,
                                  explanations_by_group=by_group, charts=charts)
    out_dir = out_dir or DEFAULT_REPORT_ROOT / f"fairness-{name}-v{version_id}"
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / "report.html", out_dir / "audit.json"
    html_path.write_text(html, encoding="utf-8")
    json_path.write_text(json.dumps(document, indent=2, allow_nan=False))

    with mlflow.start_run(experiment_id=run.info.experiment_id,
                          run_name=f"fairness-audit-{name}-v{version_id}") as audit_run:
        mlflow.set_tags({"svrisk.kind": AUDIT_RUN_KIND, "svrisk.model_name": name,
                         "svrisk.model_version": version_id, "svrisk.model_run_id": mv.run_id,
                         "svrisk.previous_champion": previous or ""})
        mlflow.log_params({"policy_version": policy.version, "resamples": audit.resamples,
                           "override": str(override).lower()})
        mlflow.log_metrics({"gate_passed": float(passed), "failed_checks": float(len(audit.failed)),
                            "borderline_checks": float(len(audit.borderline))})
        mlflow.log_artifact(str(html_path), REPORT_ARTIFACT_DIR)
        mlflow.log_artifact(str(json_path), REPORT_ARTIFACT_DIR)
        mlflow.log_text(policy_text, f"{REPORT_ARTIFACT_DIR}/policy.yaml")
    report_uri = f"runs:/{audit_run.info.run_id}/{REPORT_ARTIFACT_DIR}/report.html"
    tell(f"report logged in run {audit_run.info.run_id}")

    failed_count = len(audit.failed) + sum(not p.passed for p in floors)
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    last = {
        TAG_LAST_POLICY_VERSION: policy.version,
        TAG_LAST_REPORT: report_uri,
        TAG_LAST_FAILED: str(failed_count),
        TAG_LAST_CHECKED_AT: checked_at,
    }
    record_last_audit(client, name, version_id, last, passed)
    last[TAG_LAST_PASSED] = str(passed).lower()
    if reaudit:
        # The champion's verdict and the alias stay as they are (module docstring).
        tags = last
    else:
        tags = {
            TAG_POLICY_VERSION: policy.version,
            TAG_REPORT: report_uri,
            TAG_APPROVER: approver if override else "",
            TAG_REASON: reason if override else "",
            TAG_OVERRIDE: str(override).lower(),
            TAG_FAILED: str(failed_count),
            TAG_CHECKED_AT: checked_at,
        }
        record_and_promote(client, name, version_id, tags, cleared)
        tags = {**last, **tags, TAG_PASSED: str(cleared).lower()}
    return GateOutcome(
        version=version_id, passed=passed, published=cleared and not reaudit, override=override,
        failed=audit.failed, performance=floors, report_uri=report_uri, audit_run_id=audit_run.info.run_id,
        html_path=html_path, json_path=json_path, previous_champion=previous, borderline=len(audit.borderline),
        too_small=len(audit.too_small), tags=tags, reaudit=reaudit,
    )


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
