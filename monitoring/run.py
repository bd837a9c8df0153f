"""`svrisk monitor`: watch the published model on a newer extract.

Steps: resolve the champion (explanations.scoring, as batch scoring does);
read the training reference, the mean |SHAP| importance and the training
metrics from its run; score the population snapshot on the first of every
month between ``--from`` and ``--to``; compare each with the reference
(monitoring.drift); for periods whose outcome window has closed, measure
performance, calibration and fairness (monitoring.outcomes); read the
service's audit trail (monitoring.service_usage); write the report (HTML and
JSON), an MLflow run linked to the version, and the version's
``monitor.last_*`` tags. Nothing else in the registry is changed.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from extract.synthetic.truth_files import outcomes_path
from monitoring.drift import ALERT, NOT_JUDGED, OK, WARN
from registry.names import (
    RUN_TAG_KIND,
    RUN_TAG_MODEL_NAME,
    RUN_TAG_MODEL_RUN_ID,
    RUN_TAG_MODEL_VERSION,
    TAG_MONITOR_CHECKED_AT,
    TAG_MONITOR_PERIODS,
    TAG_MONITOR_REPORT,
    TAG_MONITOR_STATUS,
)

RUN_KIND = "monitoring"
RUN_TAG_MONITOR_STATUS = "svrisk.monitor_status"
REPORT_DIR = "monitoring"
IMPORTANCE_ARTIFACT = "explanations/mean_abs_by_feature.csv"
METRICS_ARTIFACT = "evaluation/metrics.json"
PREDICTIONS_ARTIFACT = "evaluation/test_predictions.parquet"
MODEL_KEY = "lightgbm"

NO_REFERENCE = (
    "{name} version {version} has no training reference ({artifact}) in run {run_id}: it was trained "
    "before references were logged; retrain it with `svrisk train` to monitor it ({reason})"
)
EXTRACT_TOO_OLD = (
    "the extract (extracted on {extracted_on}) is older than the model's training data, whose outcomes "
    "were observed until {labels_until}: monitor a newer extract"
)
BAD_DATE = "{option} is not an ISO date: {value!r}"
NO_PERIODS = "no first-of-month as-of date lies between {start} and {end}"
AFTER_EXTRACT = "--to {end} is after the extract date {extracted_on}"
NO_MATURED = (
    "no period has matured yet: the first as-of date {first} needs outcomes until {needed}, but the extract "
    "was taken on {extracted_on}; drift is reported, performance and fairness cannot be"
)
MISSING_ARTIFACT = (
    "{name} version {version}'s training run {run_id} has no artifact {artifact} ({reason}): the run is "
    "incomplete or its artifact store is unreachable; retrain the model with `svrisk train` or restore the artifact"
)
BAD_CAPACITY = (
    "{name} version {version}'s training run {run_id} recorded team_capacity {value!r} in {artifact}: "
    "expected a whole number of at least 1"
)
STATUS_ORDER = {OK: 0, NOT_JUDGED: 0, WARN: 1, ALERT: 2}


class MonitorUsageError(ValueError):
    """Bad input (exit 2): a policy, a date range or an extract the monitor cannot use."""


@dataclass
class MonitorResult:
    document: dict[str, Any]
    status: str
    html_path: Path
    json_path: Path
    run_id: str
    version: str
    no_matured: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.no_matured:
            return 2
        return 1 if self.status == ALERT else 0


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: STATUS_ORDER[s], default=OK)


def monthly_dates(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """The first of every month in [start, end]."""
    first = start.normalize()
    if first.day != 1:
        first = (first + pd.offsets.MonthBegin(1)).normalize()
    return list(pd.date_range(first, end.normalize(), freq="MS"))


def parse_date(value: str | None, option: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except ValueError:
        raise MonitorUsageError(BAD_DATE.format(option=option, value=value)) from None


@dataclass
class TrainingRecord:
    """What the version's training run logged that monitoring compares with."""

    reference: dict[str, Any]
    importance: dict[str, float]
    metrics: dict[str, Any]
    predictions: pd.DataFrame


def read_training_record(client: Any, name: str, version: str, run_id: str) -> TrainingRecord:
    from registry.versions import ArtifactMissing, download_run_artifact
    from training.reference import REFERENCE_ARTIFACT

    with tempfile.TemporaryDirectory(prefix="svrisk-monitor-") as tmp:

        def fetch(artifact: str, missing: str = MISSING_ARTIFACT) -> Path:
            try:
                return download_run_artifact(run_id, artifact, tmp, name=name, version=version)
            except ArtifactMissing as error:
                raise MonitorUsageError(missing.format(name=name, version=version, run_id=run_id,
                                                       artifact=artifact, reason=error.reason)) from None

        reference = json.loads(fetch(REFERENCE_ARTIFACT, NO_REFERENCE).read_text())
        table = pd.read_csv(fetch(IMPORTANCE_ARTIFACT))
        importance = dict(zip(table["feature"], table["mean_abs_contribution"].astype(float), strict=True))
        metrics = json.loads(fetch(METRICS_ARTIFACT).read_text())
        predictions = pd.read_parquet(fetch(PREDICTIONS_ARTIFACT))
    return TrainingRecord(reference, importance, metrics, predictions)


def team_capacity(record: TrainingRecord, policy: Any, name: str, version: str, run_id: str) -> int:
    """k for precision in the top k: the capacity training recorded, else the policy's ``top_k_if_unrecorded``."""
    value = record.metrics.get("team_capacity")
    if value is None:
        return int(policy.performance.top_k_if_unrecorded)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MonitorUsageError(BAD_CAPACITY.format(name=name, version=version, run_id=run_id, value=value,
                                                    artifact=METRICS_ARTIFACT))
    return value


def _truth_for(extract_dir: Path, dates: list[pd.Timestamp]) -> pd.DataFrame | None:
    """The synthetic extract's true outcomes of snapshot rows on ``dates`` (None for a real extract)."""
    path = outcomes_path(extract_dir)
    if not path.is_file():
        return None
    truth = pd.read_csv(path, usecols=["person_id", "as_of", "kind", "true_outcome"], dtype={"person_id": str})
    truth["as_of"] = pd.to_datetime(truth["as_of"])
    truth = truth[(truth["kind"] == "snapshot") & truth["as_of"].isin(dates)]
    return truth.drop(columns="kind").drop_duplicates(["person_id", "as_of"])


def monitor(
    extract_dir: str | Path,
    *,
    start: str | None = None,
    end: str | None = None,
    out_dir: str | Path | None = None,
    policy_path: str | Path | None = None,
    audit_db: str | None = None,
    version: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> MonitorResult:
    """Monitor the champion (or ``version``) on the extract in ``extract_dir``; see the module docstring.

    Raises
    ------
    MonitorUsageError
        On an invalid policy, a bad date range, an extract older than the
        training data, or a model without a training reference.
    ValueError
        On an extract that does not validate or a model that cannot be resolved.
    """
    from mlflow import MlflowClient

    from explanations.scoring import load_risk_model, resolve_model
    from extract.loader import load_extract
    from fairness.policy import load_policy as load_fairness_policy
    from monitoring.policy import load_policy
    from registry.tracking import tracking_store

    tell = progress or (lambda _message: None)
    try:
        policy = load_policy(policy_path)
        fairness_policy = load_fairness_policy(policy.fairness_policy_path(policy_path))
    except ValueError as error:
        raise MonitorUsageError(str(error)) from None
    start_ts, end_ts = parse_date(start, "--from"), parse_date(end, "--to")
    extract_dir = Path(extract_dir)

    with tracking_store():
        client = MlflowClient()
        resolved = resolve_model(client, version=version)
        notices = [resolved.notice] if resolved.notice else []
        mv = client.get_model_version(resolved.name, resolved.version)
        record = read_training_record(client, resolved.name, resolved.version, mv.run_id)
        capacity = team_capacity(record, policy, resolved.name, resolved.version, mv.run_id)
        tell(f"monitoring {resolved.name} version {resolved.version}")
        labels_until = pd.Timestamp(record.reference["labels_observed_until"])
        extract = load_extract(extract_dir)
        tell(f"extract loaded (extracted on {extract.extracted_on.date()})")
        if extract.extracted_on < labels_until:
            raise MonitorUsageError(EXTRACT_TOO_OLD.format(extracted_on=extract.extracted_on.date(),
                                                           labels_until=labels_until.date()))
        first, last = start_ts or labels_until, end_ts or extract.extracted_on
        if last > extract.extracted_on:
            raise MonitorUsageError(AFTER_EXTRACT.format(end=last.date(), extracted_on=extract.extracted_on.date()))
        dates = monthly_dates(first, last)
        if not dates:
            raise MonitorUsageError(NO_PERIODS.format(start=first.date(), end=last.date()))
        risk_model = load_risk_model(resolved)
        analyses = analyse_periods(extract, extract_dir, dates, risk_model, record, capacity, policy,
                                   fairness_policy, tell)
        usage = None
        if audit_db:
            from monitoring.service_usage import service_usage

            usage = service_usage(audit_db, policy)
            tell("audit trail read")
        horizon = int(risk_model.feature_config.outcome.horizon_days)
        no_matured = None
        if not analyses["performance"]:
            no_matured = NO_MATURED.format(first=dates[0].date(),
                                           needed=(dates[0] + pd.Timedelta(days=horizon)).date(),
                                           extracted_on=extract.extracted_on.date())
        document = build_document(resolved, mv, extract, dates, analyses, usage, policy, fairness_policy,
                                  record, notices, no_matured)
        return write_outputs(client, resolved, mv, document, out_dir, policy_path, no_matured, notices, tell)


def analyse_periods(extract: Any, extract_dir: Path, dates: list[pd.Timestamp], risk_model: Any,
                    record: TrainingRecord, capacity: int, policy: Any, fairness_policy: Any,
                    tell: Callable[[str], None]) -> dict[str, Any]:
    """Drift for every period; performance, fairness and label bias for the matured ones.

    ``capacity`` is k for precision in the top k (``team_capacity``).
    """
    from features.cohort import snapshot_cohort
    from features.labels import build_labels
    from monitoring.drift import input_drift, prepare_reference, score_drift
    from monitoring.outcomes import audit_period, outcome_counts, performance
    from serving.risk_bands import N_BANDS, RiskBands

    outcome = risk_model.feature_config.outcome
    bands = RiskBands(risk_model.reference_probabilities_)
    matured = [d for d in dates if d + pd.Timedelta(days=outcome.horizon_days) <= extract.extracted_on]
    truth = _truth_for(extract_dir, matured)
    training_metrics = record.metrics["test"][MODEL_KEY]
    # Training's test period banded as the periods are: its calibration and AUC intervals.
    training_counts = outcome_counts(record.predictions["label"].to_numpy(dtype=float),
                                     record.predictions["probability"].to_numpy(dtype=float),
                                     bands.band(record.predictions["probability"].to_numpy(dtype=float)), N_BANDS)
    # The months the gate's audit runs on (monitoring/policy.yaml, fairness.every_months).
    audited = set(matured[:: policy.fairness.every_months] + matured[-1:])
    publication = None
    if matured:
        publication = audit_period(record.predictions, "label", fairness_policy, policy.fairness.resamples)
    prepared = prepare_reference(record.reference)
    out: dict[str, Any] = {"inputs": [], "score": [], "performance": [], "fairness": [], "label_bias": []}
    seconds = {"scoring": 0.0, "drift": 0.0, "outcomes": 0.0}
    for as_of in dates:
        period = str(as_of.date())
        clock = time.perf_counter()
        cohort = snapshot_cohort(extract, [as_of])
        table = risk_model.build_features(extract, cohort)
        probability = risk_model.predict_features(table.X)
        band = bands.band(probability)
        seconds["scoring"] += time.perf_counter() - clock
        clock = time.perf_counter()
        out["inputs"].extend(d.to_dict() for d in input_drift(table.X, prepared, record.importance,
                                                              period, policy.drift))
        out["score"].append(score_drift(probability, record.reference, band, N_BANDS, period, policy.drift))
        seconds["drift"] += time.perf_counter() - clock
        clock = time.perf_counter()
        if as_of in matured:
            y = build_labels(extract, cohort, outcome).to_numpy(dtype=float)
            out["performance"].append(performance(period, y, probability, band, N_BANDS, training_metrics,
                                                  training_counts, capacity, policy.performance))
            if as_of in audited:
                fairness, bias = _audit_month(table, probability, y, truth, period, publication, policy,
                                              fairness_policy)
                out["fairness"].append(fairness)
                if bias is not None:
                    out["label_bias"].append(bias)
        seconds["outcomes"] += time.perf_counter() - clock
        tell(f"{period}: {len(cohort):,} people scored")
    # Not reproducible (machine load): reported for the benchmark, never compared.
    out["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    return out


def _audit_month(table: Any, probability: np.ndarray, y: np.ndarray, truth: pd.DataFrame | None, period: str,
                 publication: Any, policy: Any, fairness_policy: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The gate's audit of one matured month against publication, and label bias where truth exists."""
    from monitoring.outcomes import audit_period, fairness_over_time, label_bias

    frame = table.audit.reset_index(drop=True).assign(
        probability=probability, label=y.astype(np.int64),
        person_id=table.keys["person_id"].to_numpy(), as_of=table.keys["as_of"].to_numpy())
    if policy.fairness.max_rows and len(frame) > policy.fairness.max_rows:
        frame = frame.sample(n=policy.fairness.max_rows, random_state=policy.fairness.seed)
        frame = frame.sort_index().reset_index(drop=True)
    audit = audit_period(frame, "label", fairness_policy, policy.fairness.resamples)
    bias = None
    if truth is not None:
        joined = frame.merge(truth, on=["person_id", "as_of"], how="inner")
        # Truth exists for the generator's 1 April snapshots only; other months have none.
        if len(joined) == len(frame):
            truth_audit = audit_period(joined, "true_outcome", fairness_policy, policy.fairness.resamples)
            bias = label_bias(period, audit, truth_audit, policy.fairness.max_label_bias_ratio,
                              policy.fairness.label_bias_min_true_outcomes)
    return fairness_over_time(period, audit, publication), bias


def _finding(analysis: str, subject: str, status: str, message: str, action: str, periods: list[str]) -> dict[str, Any]:
    return {"analysis": analysis, "subject": subject, "status": status, "message": message,
            "action": action, "periods": periods}


def findings(analyses: dict[str, Any], usage: dict[str, Any] | None, policy: Any) -> list[dict[str, Any]]:
    """One finding per input, check or group that warned or alerted, worst first, with its action."""
    from monitoring.report import fmt

    actions = policy.actions
    found = []
    by_input: dict[str, list[dict[str, Any]]] = {}
    for row in analyses["inputs"]:
        by_input.setdefault(row["input"], []).append(row)
    for name, rows in by_input.items():
        flagged = [r for r in rows if r["status"] in (WARN, ALERT)]
        if not flagged:
            continue
        status = worst([r["status"] for r in flagged])
        top = max(flagged, key=lambda r: r["psi"] or 0.0)
        first = next(r["period"] for r in rows if r["status"] == status)
        new = sorted({c for r in rows for c in r["new_categories"]})
        message = (f"{name} (importance rank {top['rank']}): PSI {top['psi']:.2f} in {top['period']}, "
                   f"{status} from {first}; missing {top['missing_reference']:.1%} at training, "
                   f"{top['missing_current']:.1%} now" + (f"; new values {', '.join(new)}" if new else ""))
        found.append(_finding("input_drift", name, status, message, actions.input_drift,
                              [r["period"] for r in flagged]))
    flagged = [r for r in analyses["score"] if r["status"] in (WARN, ALERT)]
    if flagged:
        top = max(flagged, key=lambda r: r["psi"])
        found.append(_finding("score_drift", "score", worst([r["status"] for r in flagged]),
                              f"the score's PSI reached {top['psi']:.2f} in {top['period']} "
                              f"(mean probability {top['mean_probability']:.4f})", actions.score_drift,
                              [r["period"] for r in flagged]))
    flagged = [r for r in analyses["performance"] if r.get("auc_status") == ALERT]
    if flagged:
        r = flagged[-1]
        found.append(_finding(
            "performance", "roc_auc", ALERT,
            f"realised AUC {r['roc_auc']:.3f} (95% CI {r['roc_auc_ci'][0]:.3f}-{r['roc_auc_ci'][1]:.3f}) against "
            f"{r['training']['roc_auc']:.3f} at training (95% CI {fmt(r['training']['roc_auc_ci'][0])}-"
            f"{fmt(r['training']['roc_auc_ci'][1])}): a drop of {r['auc_drop_ci'][0]:.3f} to "
            f"{r['auc_drop_ci'][1]:.3f}, all of it above {policy.performance.max_auc_drop:g}, in {r['period']}",
            actions.performance, [x["period"] for x in flagged]))
    # One finding per calibration check that fired (overall or a band), so the report names it.
    by_check: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for r in analyses["performance"]:
        rows = {"overall": r.get("calibration"), **{f"band {b['band']}": b for b in r.get("calibration_by_band", [])}}
        for name in r.get("calibration_failing", []):
            by_check.setdefault(name, []).append((r["period"], rows[name]))
    for name, items in by_check.items():
        period, row = items[-1]
        found.append(_finding(
            "calibration", name, ALERT,
            f"{name}: observed-to-expected outcome ratio {fmt(row['observed_to_expected'], 2)} against "
            f"{fmt(row['training_observed_to_expected'], 2)} at training ({row['training_outcomes']} outcomes), a "
            f"change of {fmt(row['ratio_change'], 2)} (95% CI {fmt(row['ratio_change_ci'][0], 2)}-"
            f"{fmt(row['ratio_change_ci'][1], 2)}), wholly outside the tolerance of "
            f"{policy.performance.calibration_ratio:g}, in {period}",
            actions.calibration, [p for p, _ in items]))
    checks: dict[tuple, list[tuple[str, dict[str, Any]]]] = {}
    for period in analyses["fairness"]:
        for check in period["failed"]:
            key = (check["metric"], check["attribute"], check["group"], check["threshold"])
            checks.setdefault(key, []).append((period["period"], check))
    for (metric, attribute, group, threshold), items in checks.items():
        status = worst([c["finding"] for _, c in items])
        last_period, last = items[-1]
        at = f" at threshold {threshold:g}" if threshold is not None else ""
        found.append(_finding(
            "fairness", f"{metric} {attribute}={group}" + (f" at {threshold:g}" if threshold is not None else ""), status,
            f"{metric} for {attribute} {group}{at}: {fmt(last['value'])} (95% CI {fmt(last['ci_low'])}-"
            f"{fmt(last['ci_high'])}), allowed {last['band']}; {last['status_at_publication']} at publication",
            policy.actions.fairness, [p for p, _ in items]))
    biased: dict[str, dict[str, tuple[float, list[str]]]] = {}
    for period in analyses["label_bias"]:
        for row in period["rows"]:
            if row["status"] == WARN:
                ratio, periods = biased.setdefault(row["attribute"], {}).get(row["group"], (0.0, []))
                biased[row["attribute"]][row["group"]] = (max(ratio, row["relative_to_reference"]),
                                                          [*periods, period["period"]])
    for attribute, groups in biased.items():
        listed = ", ".join(f"{g} ({r:.2f})" for g, (r, _) in sorted(groups.items(), key=lambda x: -x[1][0]))
        found.append(_finding("label_bias", attribute, WARN,
                              f"recorded outcomes run further above true outcomes than for the reference group "
                              f"(synthetic truth; recorded-to-true relative to the reference): {listed}",
                              actions.label_bias, sorted({p for _, ps in groups.values() for p in ps})))
    if usage is not None:
        for item in usage.get("findings", []):
            found.append(_finding("reviews", item["subject"], item["status"], item["message"], actions.reviews, []))
    return sorted(found, key=lambda f: -STATUS_ORDER[f["status"]])


def build_document(resolved: Any, mv: Any, extract: Any, dates: list[pd.Timestamp], analyses: dict[str, Any],
                   usage: dict[str, Any] | None, policy: Any, fairness_policy: Any, record: TrainingRecord,
                   notices: list[str], no_matured: str | None) -> dict[str, Any]:
    found = findings(analyses, usage, policy)
    status = worst([f["status"] for f in found])
    return {
        "model": {"name": resolved.name, "version": resolved.version, "alias": resolved.alias,
                  "run_id": mv.run_id, "reference_as_of": record.reference["as_of"],
                  "labels_observed_until": record.reference["labels_observed_until"]},
        "extract": {"source": str(extract.source), "extracted_on": str(extract.extracted_on.date())},
        "periods": [str(d.date()) for d in dates],
        "matured_periods": [p["period"] for p in analyses["performance"]],
        "policy_version": policy.version, "fairness_policy_version": fairness_policy.version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": status, "notices": notices, "no_matured_period": no_matured,
        "findings": found,
        "actions": sorted({f["action"] for f in found if f["status"] == ALERT}),
        "input_drift": analyses["inputs"], "score_drift": analyses["score"],
        "performance": analyses["performance"], "fairness": analyses["fairness"],
        "label_bias": analyses["label_bias"], "service": usage, "seconds": analyses["seconds"],
    }


def write_outputs(client: Any, resolved: Any, mv: Any, document: dict[str, Any], out_dir: str | Path | None,
                  policy_path: str | Path | None, no_matured: str | None, notices: list[str],
                  tell: Callable[[str], None]) -> MonitorResult:
    import mlflow

    from monitoring.policy import DEFAULT_POLICY_PATH
    from monitoring.report import render_html

    out = Path(out_dir) if out_dir is not None else Path("reports") / f"monitor-{resolved.name}-v{resolved.version}"
    out.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out / "report.html", out / "report.json"
    json_path.write_text(json.dumps(document, indent=2, allow_nan=False), encoding="utf-8")
    html_path.write_text(render_html(document), encoding="utf-8")
    tell(f"wrote {html_path} and {json_path}")
    run = client.get_run(mv.run_id)
    with mlflow.start_run(experiment_id=run.info.experiment_id,
                          run_name=f"monitor-{resolved.name}-v{resolved.version}") as monitor_run:
        mlflow.set_tags({RUN_TAG_KIND: RUN_KIND, RUN_TAG_MODEL_NAME: resolved.name,
                         RUN_TAG_MODEL_VERSION: resolved.version, RUN_TAG_MODEL_RUN_ID: mv.run_id,
                         RUN_TAG_MONITOR_STATUS: document["status"]})
        mlflow.log_params({"policy_version": document["policy_version"], "extracted_on":
                           document["extract"]["extracted_on"], "first_period": document["periods"][0],
                           "last_period": document["periods"][-1], "periods": len(document["periods"])})
        for step, metrics in enumerate(period_metrics(document)):
            mlflow.log_metrics(metrics, step=step)
        mlflow.log_artifact(str(html_path), REPORT_DIR)
        mlflow.log_artifact(str(json_path), REPORT_DIR)
        mlflow.log_text(Path(policy_path or DEFAULT_POLICY_PATH).read_text(), f"{REPORT_DIR}/policy.yaml")
    report_uri = f"runs:/{monitor_run.info.run_id}/{REPORT_DIR}/report.html"
    # The monitor's own tags, and nothing else, on the version (never the gate's or an alias).
    for key, value in ((TAG_MONITOR_STATUS, document["status"]), (TAG_MONITOR_REPORT, report_uri),
                       (TAG_MONITOR_CHECKED_AT, document["created_at"]),
                       (TAG_MONITOR_PERIODS, f"{document['periods'][0]}..{document['periods'][-1]}")):
        client.set_model_version_tag(resolved.name, resolved.version, key, value)
    return MonitorResult(document=document, status=document["status"], html_path=html_path, json_path=json_path,
                         run_id=monitor_run.info.run_id, version=resolved.version, no_matured=no_matured,
                         notices=notices)


def period_metrics(document: dict[str, Any]) -> list[dict[str, float]]:
    """MLflow metrics for each period (step = period index), finite values only."""
    by_period: dict[str, dict[str, float]] = {p: {} for p in document["periods"]}
    for row in document["score_drift"]:
        by_period[row["period"]].update({"score_psi": row["psi"], "mean_probability": row["mean_probability"]})
    for row in document["input_drift"]:
        metrics = by_period[row["period"]]
        metrics["inputs_alerting"] = metrics.get("inputs_alerting", 0.0) + (row["status"] == ALERT)
        metrics["inputs_warning"] = metrics.get("inputs_warning", 0.0) + (row["status"] == WARN)
    for row in document["performance"]:
        by_period[row["period"]].update({k: row[k] for k in ("roc_auc", "pr_auc", "brier", "precision_top_k",
                                                             "observed_rate") if row.get(k) is not None})
    for row in document["fairness"]:
        by_period[row["period"]]["fairness_failed_checks"] = float(len(row["failed"]))
    return [{k: float(v) for k, v in by_period[p].items() if v is not None and np.isfinite(v)}
            for p in document["periods"]]
