"""The gate on a real MLflow registry: small pyfunc versions whose runs carry the evaluation artifacts."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from fairness.gate import (
    CHAMPION_ALIAS,
    TAG_APPROVER,
    TAG_ERROR,
    TAG_LAST_PASSED,
    TAG_LAST_REPORT,
    TAG_OVERRIDE,
    TAG_PASSED,
    TAG_POLICY_VERSION,
    TAG_REASON,
    TAG_RECORD,
    TAG_REPORT,
    TAG_REVIEW_APPROVED,
    TAG_VERDICT,
    PromotionError,
)
from fairness.gate import publish as gate_publish
from fairness.policy import DEFAULT_POLICY_PATH, load_policy
from svrisk.cli import app

pytestmark = pytest.mark.slow

runner = CliRunner()
NAME = "svrisk"


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    """One migrated, empty SQLite store; each test gets its own copy (creating one costs seconds)."""
    from mlflow import MlflowClient

    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments()
    return folder / "mlflow.db"


@pytest.fixture(autouse=True)
def own_store(empty_store, tmp_path, monkeypatch):
    """A private copy of the empty store for this test, at the same env variables conftest sets."""
    db = tmp_path / "store.db"
    shutil.copyfile(empty_store, db)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{db}")
    return db


def _predictions(n: int, seed: int, bias: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test predictions of a calibrated model (bias=1) or one inflating one group's scores, and true outcomes."""
    rng = np.random.default_rng(seed)
    ethnicity = rng.choice(["white", "black", "asian"], n, p=[0.6, 0.2, 0.2])
    sex = rng.choice(["female", "male"], n)
    risk = rng.beta(1.5, 10, n)
    true_outcome = (rng.random(n) < risk).astype(int)
    probability = np.clip(risk * np.where(ethnicity == "black", bias, 1.0), 0, 1)
    frame = pd.DataFrame({
        "person_id": [f"p{i}" for i in range(n)],
        "as_of": pd.Timestamp("2024-04-01"),
        "label": true_outcome,
        "probability": probability,
        "baseline_logistic": np.clip(risk + rng.normal(0, 0.08, n), 0, 1),
        "sex": sex,
        "ethnicity": ethnicity,
    })
    truth = frame[["person_id", "as_of"]].assign(kind="snapshot", true_outcome=true_outcome)
    return frame, truth


def _register(tmp_path: Path, *, bias: float, seed: int) -> str:
    """Log a run with the two evaluation artifacts and a pyfunc, register it as the candidate.

    The gate never calls the model, only reads its run, so the pyfunc is a stand-in.
    """
    import mlflow
    from mlflow import MlflowClient

    class Model(mlflow.pyfunc.PythonModel):
        def predict(self, model_input: list[str], params=None) -> list[float]:
            return [0.0] * len(model_input)

    predictions, truth = _predictions(6000, seed, bias)
    extract = tmp_path / f"extract-{seed}"
    (extract / "_truth").mkdir(parents=True)
    truth.to_csv(extract / "_truth" / "outcomes.csv", index=False)
    with mlflow.start_run() as run:
        mlflow.log_param("extract_path", str(extract))
        folder = tmp_path / f"evaluation-{seed}"
        folder.mkdir()
        predictions.to_parquet(folder / "test_predictions.parquet", index=False)
        (folder / "metrics.json").write_text(json.dumps({"test": {}, "team_capacity": 50}))
        mlflow.log_artifacts(str(folder), "evaluation")
        info = mlflow.pyfunc.log_model(name="model", python_model=Model(), pip_requirements=["mlflow"])
    version = mlflow.register_model(info.model_uri, NAME)
    client = MlflowClient()
    client.set_model_version_tag(NAME, version.version, "run_id", run.info.run_id)
    client.set_registered_model_alias(NAME, "candidate", version.version)
    return str(version.version)


@pytest.fixture
def policy_file(tmp_path):
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    data["groups"].update(attributes=["sex", "ethnicity"], intersections=[])
    data["gate"]["checks"][0]["attributes"] = ["ethnicity"]
    data["gate"]["checks"][1]["attributes"] = ["ethnicity"]
    data["thresholds"] = [0.15, 0.25]
    data["bootstrap"]["resamples"] = 60
    data["performance"]["max_ece"] = 0.05
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _tags(version: str) -> dict[str, str]:
    from mlflow import MlflowClient

    return MlflowClient().get_model_version(NAME, version).tags


def _champion() -> str | None:
    from mlflow import MlflowClient

    from fairness.gate import current_champion

    return current_champion(MlflowClient(), NAME)


def test_fairness_gate_publishes_fair_refuses_biased_and_records_overrides(tmp_path, policy_file):
    fair = _register(tmp_path, bias=1.0, seed=11)
    result = runner.invoke(app, ["publish", "--policy", str(policy_file), "--out", str(tmp_path / "r1")])
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    assert _champion() == fair
    tags = _tags(fair)
    assert tags[TAG_PASSED] == "true" and tags[TAG_OVERRIDE] == "false"
    assert tags[TAG_POLICY_VERSION] == "1.2" and tags[TAG_APPROVER] == ""
    assert tags[TAG_REPORT].startswith("runs:/") and tags[TAG_REPORT].endswith("/fairness/report.html")
    document = json.loads((tmp_path / "r1" / "audit.json").read_text())
    assert document["label_bias"], "the synthetic extract's true outcomes are audited too"
    assert document["verdict"]["passed"] is True
    # The verdict is signed with the session's signing key and verifies with its public key.
    from registry.signatures import load_verify_keys, verify_gate_record

    keys = load_verify_keys(os.environ["SVRISK_VERIFY_KEY_FILE"])
    assert tags["gate.signature_key_id"] in keys
    assert verify_gate_record(tags, NAME, fair, keys)["cleared_by"] == "gate"

    # A candidate inflating one group's scores is refused; the fair champion keeps serving.
    biased = _register(tmp_path, bias=1.7, seed=12)
    result = runner.invoke(app, ["publish", "--policy", str(policy_file), "--out", str(tmp_path / "r2")])
    assert result.exit_code == 1
    assert "refused" in result.output and "false positive rate ratio, ethnicity = black vs white" in result.output
    assert "outside" in result.output
    assert _champion() == fair
    assert _tags(biased)[TAG_PASSED] == "false" and _tags(biased)[TAG_LAST_PASSED] == "false"

    # An override publishes it anyway, on the record.
    result = runner.invoke(app, ["publish", "--version", biased, "--policy", str(policy_file), "--out",
                                 str(tmp_path / "r3"), "--override", "--approver", "Panel chair",
                                 "--reason", "minute 12: pilot only"])
    assert result.exit_code == 0, result.output
    assert _champion() == biased
    tags = _tags(biased)
    assert (tags[TAG_PASSED], tags[TAG_OVERRIDE], tags[TAG_APPROVER], tags[TAG_REASON]) == (
        "true", "true", "Panel chair", "minute 12: pilot only")
    assert int(tags["gate.failed_checks"]) > 0
    assert verify_gate_record(tags, NAME, biased, keys)["approver"] == "Panel chair"
    html = (tmp_path / "r3" / "report.html").read_text()
    assert "PUBLISHED BY OVERRIDE" in html and "Panel chair" in html

    # Re-auditing the champion fails again: reported (exit 1) and recorded in gate.last_audit_*, but its
    # publication record and the alias stay, so the service keeps starting on the version behind the alias.
    published = {k: v for k, v in _tags(biased).items() if not k.startswith("gate.last_audit_")}
    result = runner.invoke(app, ["publish", "--version", biased, "--policy", str(policy_file), "--out",
                                 str(tmp_path / "r4"), "--resamples", "20"])
    assert result.exit_code == 1, result.output
    assert "already 'champion'" in result.output and "keeps serving" in result.output
    assert "false positive rate ratio, ethnicity = black vs white" in result.output
    tags = _tags(biased)
    assert _champion() == biased
    assert {k: tags[k] for k in published} == published  # gate.passed, gate.report, approver... untouched
    assert tags[TAG_LAST_PASSED] == "false" and tags[TAG_LAST_REPORT] != published[TAG_REPORT]
    document = json.loads((tmp_path / "r4" / "audit.json").read_text())
    assert document["verdict"]["published"] is False and "already the champion" in document["verdict"]["note"]
    # Overriding the champion's re-audit would publish nothing: refused before any audit.
    result = runner.invoke(app, ["publish", "--version", biased, "--policy", str(policy_file), "--override",
                                 "--approver", "a", "--reason", "b"])
    assert result.exit_code == 1 and "already 'champion'" in result.output


def _crash_on_tag(patch: pytest.MonkeyPatch, crash_key: str) -> None:
    """Make the registry fail when the tag ``crash_key`` is written (every other tag is written)."""
    from mlflow import MlflowClient

    original = MlflowClient.set_model_version_tag

    def tag_crash(self, name, version, key, value):
        if key == crash_key:
            raise ConnectionError("registry went away")
        return original(self, name, version, key, value)

    patch.setattr(MlflowClient, "set_model_version_tag", tag_crash)


def test_fairness_gate_crash_leaves_the_old_champion(tmp_path, policy_file, monkeypatch):
    from mlflow import MlflowClient

    old = _register(tmp_path, bias=1.0, seed=21)
    policy = load_policy(policy_file)
    gate_publish(policy=policy, policy_text=policy_file.read_text(), out_dir=tmp_path / "r1", charts=False)
    assert _champion() == old
    new = _register(tmp_path, bias=1.0, seed=22)

    # Crash while the alias moves: the verdict is withdrawn and the old champion stays.
    def alias_crash(self, name, alias, version):
        raise ConnectionError("registry went away")

    with monkeypatch.context() as patch:
        patch.setattr(MlflowClient, "set_registered_model_alias", alias_crash)
        with pytest.raises(PromotionError, match="previous champion keeps serving"):
            gate_publish(policy=policy, policy_text="", out_dir=tmp_path / "r2", charts=False)
    assert _champion() == old
    tags = _tags(new)
    assert tags[TAG_PASSED] == "false" and "registry went away" in tags[TAG_ERROR]

    # Crash half way through the tags: gate.passed was reset first, so no stale verdict survives.
    with monkeypatch.context() as patch:
        _crash_on_tag(patch, TAG_REPORT)
        with pytest.raises(ConnectionError):
            gate_publish(policy=policy, policy_text="", version=new, out_dir=tmp_path / "r3", charts=False)
    assert _champion() == old
    assert _tags(new)[TAG_PASSED] == "false"
    assert _tags(old)[TAG_PASSED] == "true"  # the champion's own verdict is untouched

    # A clean re-run completes the promotion of the new version.
    outcome = gate_publish(policy=policy, policy_text="", version=new, out_dir=tmp_path / "r4", charts=False)
    assert outcome.published and _champion() == new
    assert _tags(new)[TAG_PASSED] == "true" and _tags(new)[TAG_ERROR] == ""
    assert _tags(new)[TAG_LAST_PASSED] == "true"

    # A crash half way through re-auditing the champion leaves its verdict alone: only
    # gate.last_audit_passed says the re-audit did not complete.
    with monkeypatch.context() as patch:
        _crash_on_tag(patch, TAG_LAST_REPORT)
        with pytest.raises(ConnectionError):
            gate_publish(policy=policy, policy_text="", version=new, out_dir=tmp_path / "r5", charts=False)
    tags = _tags(new)
    assert tags[TAG_PASSED] == "true" and tags[TAG_LAST_PASSED] == "incomplete"
    assert _champion() == new


def test_fairness_gate_review_needs_a_named_approver_and_keeps_the_old_champion(tmp_path, policy_file):
    from mlflow import MlflowClient

    from fairness.verdict import VerdictRecord
    from registry.versions import resolve_version
    from serving.model_loader import describe_version

    old = _register(tmp_path, bias=1.0, seed=21)
    assert runner.invoke(app, ["publish", "--policy", str(policy_file), "--out", str(tmp_path / "r1")]).exit_code == 0
    assert _tags(old)[TAG_VERDICT] == "PASS"
    # Scores 1.15x for one group: no confident breach, but an FPR ratio estimate outside 0.8-1.25 (seeded).
    review = _register(tmp_path, bias=1.15, seed=22)
    result = runner.invoke(app, ["publish", "--policy", str(policy_file), "--out", str(tmp_path / "r2")])
    assert result.exit_code == 1, result.output
    assert "needs review" in result.output and "--approve-review" in result.output
    assert "false positive rate ratio, ethnicity = black vs white" in result.output
    assert _champion() == old  # REVIEW publishes nothing by itself
    tags = _tags(review)
    assert (tags[TAG_PASSED], tags[TAG_VERDICT], tags[TAG_REVIEW_APPROVED]) == ("false", "REVIEW", "false")
    record = VerdictRecord.from_json(tags[TAG_RECORD])
    assert (record.verdict, record.cleared_by, record.model_version) == ("REVIEW", "", review)
    html = (tmp_path / "r2" / "report.html").read_text()
    first_page = html[html.index('<section id="verdict"'):html.index('<section id="scope"')]
    assert "Gate verdict: REVIEW" in first_page and "NOT PUBLISHED" in first_page
    assert "Checks whose estimate lies outside the allowed band" in first_page

    # Approval needs a name and a reason, and is not an override.
    assert runner.invoke(app, ["publish", "--approve-review", "--approver", "x"]).exit_code == 2
    assert runner.invoke(app, ["publish", "--approve-review", "--override", "--approver", "x",
                               "--reason", "y"]).exit_code == 2
    result = runner.invoke(app, ["publish", "--version", review, "--policy", str(policy_file), "--out",
                                 str(tmp_path / "r3"), "--approve-review", "--approver", "Panel chair",
                                 "--reason", "minute 14: monitor the FPR ratio monthly"])
    assert result.exit_code == 0, result.output
    assert "REVIEW approved by Panel chair" in result.output
    assert _champion() == review
    tags = _tags(review)
    assert (tags[TAG_PASSED], tags[TAG_REVIEW_APPROVED], tags[TAG_OVERRIDE], tags[TAG_APPROVER], tags[TAG_REASON]) == (
        "true", "true", "false", "Panel chair", "minute 14: monitor the FPR ratio monthly")
    assert VerdictRecord.from_json(tags[TAG_RECORD]).cleared_by == "review_approval"
    html = (tmp_path / "r3" / "report.html").read_text()
    first_page = html[html.index('<section id="verdict"'):html.index('<section id="scope"')]
    assert "APPROVED by Panel chair" in first_page and "minute 14" in first_page
    # The served model's details show the approval.
    client = MlflowClient()
    details = describe_version(client, resolve_version(client, NAME, aliases=(CHAMPION_ALIAS,)))
    assert details["gate"]["review_approved"] == "true" and details["gate"]["approver"] == "Panel chair"
    assert details["gate_record"]["verdict"] == "REVIEW" and details["gate_record"]["reason"].startswith("minute 14")


def test_fairness_publish_usage_and_missing_candidate(tmp_path, policy_file, monkeypatch):
    result = runner.invoke(app, ["publish", "--override", "--approver", "x"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["publish", "--reason", "x"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["publish", "--policy", str(policy_file)])
    assert result.exit_code == 1
    assert "alias 'candidate'" in result.output and "Traceback" not in result.output
    # No signing key, or an unreadable one: a usage error before anything is audited.
    result = runner.invoke(app, ["publish", "--policy", str(policy_file)], env={"SVRISK_SIGNING_KEY_FILE": ""})
    assert result.exit_code == 2 and "no signing key" in result.output
    result = runner.invoke(app, ["publish", "--signing-key", str(tmp_path / "absent.key")])
    assert result.exit_code == 2 and "cannot read the key file" in " ".join(result.output.split())
    monkeypatch.delenv("SVRISK_SIGNING_KEY_FILE")
    with pytest.raises(ValueError, match="no signing key"):
        gate_publish(policy=load_policy(policy_file), policy_text="")


def test_fairness_outcome_description_reads_training_tag():
    from fairness.gate import outcome_description

    assert outcome_description('{"description": "Serious violence in 365 days.", "horizon_days": 365}') == (
        "Serious violence in 365 days.")
    assert outcome_description("suspects only") == "suspects only"
    assert outcome_description("") == ""
