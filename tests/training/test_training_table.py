"""The bring-your-own-table path end to end: fit, log, register, load the pyfunc back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow


def test_training_registers_candidate_with_tags(trained_table, in_table_store: str) -> None:
    import mlflow
    from mlflow import MlflowClient

    from registry.checksum import artifact_sha256

    client = MlflowClient()
    version = client.get_model_version_by_alias("svrisk", "candidate")
    assert str(version.version) == trained_table.logged.version
    assert version.tags["run_id"] == trained_table.logged.run_id
    assert json.loads(version.tags["outcome_definition"])["label_column"] == "outcome"
    local = mlflow.artifacts.download_artifacts(
        f"models:/svrisk/{version.version}", dst_path=str(Path.cwd() / "dl")
    )
    assert artifact_sha256(local) == version.tags["artifact_sha256"]
    run = client.get_run(version.run_id)
    for key in ("table_sha256", "seed", "git_commit", "split_test", "calibration_method"):
        assert key in run.data.params
    assert run.data.params["split_test"] == "2023"
    assert run.data.metrics["test_lightgbm_roc_auc"] > 0.6


def test_training_logs_evaluation_artifacts(trained_table, in_table_store: str) -> None:
    import mlflow

    root = Path(mlflow.artifacts.download_artifacts(
        run_id=trained_table.logged.run_id, dst_path=str(Path.cwd() / "run")
    ))
    predictions = pd.read_parquet(root / "evaluation" / "test_predictions.parquet")
    expected = {"person_id", "as_of", "label", "probability", "baseline_logistic", "baseline_ace4",
                "baseline_prior_violence", "sex", "ethnicity", "age_band", "sen", "imd_decile",
                "local_authority"}
    assert expected <= set(predictions.columns)
    assert len(predictions) == 1500 and set(predictions["as_of"]) == {"2023"}
    assert set(predictions["label"]) == {0, 1}
    metrics = json.loads((root / "evaluation" / "metrics.json").read_text())
    assert metrics["test"]["lightgbm"]["roc_auc"] == pytest.approx(
        trained_table.result.metrics["lightgbm"]["roc_auc"], abs=1e-12)
    for name in ("roc.png", "precision_recall.png", "calibration.png", "capacity.png"):
        assert (root / "plots" / name).read_bytes()[:4] == b"\x89PNG"
    assert (root / "config" / "training.yaml").is_file()
    assert any((root / "explanations").iterdir())


def test_training_protected_columns_are_not_inputs(trained_table) -> None:
    names = trained_table.result.risk_model.feature_names
    assert set(names) == {"adversity", "absence", "area"}


def test_training_pyfunc_round_trip_matches_in_memory_model(
    trained_table, in_table_store: str, feature_table_csv: Path
) -> None:
    import mlflow

    frame = pd.read_csv(feature_table_csv).iloc[:40]
    loaded = mlflow.pyfunc.load_model("models:/svrisk@candidate")
    inputs = frame.drop(columns=["outcome", "sex", "ethnicity"])
    inputs = inputs.astype({"year": "float64"})
    out = loaded.predict(inputs)
    assert list(out.columns) == ["person_id", "as_of", "probability", "base_value", "top_raising",
                                 "top_lowering"]
    expected = trained_table.result.risk_model.predict_features(frame)
    np.testing.assert_allclose(out["probability"].to_numpy(), expected, rtol=0, atol=1e-12)
    same = loaded.unwrap_python_model().risk_model.predict_features(frame)
    np.testing.assert_allclose(same, expected, rtol=0, atol=1e-12)
    factors = json.loads(out["top_raising"].iloc[0])
    assert all({"feature", "contribution", "sentence"} <= set(f) for f in factors)


def test_training_cli_usage_and_data_errors(tmp_path: Path) -> None:
    from svrisk.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["train"]).exit_code == 2
    assert runner.invoke(app, ["train", "x", "--table", "y.csv"]).exit_code == 2
    assert runner.invoke(app, ["train", "--table", "y.csv"]).exit_code == 2
    missing = runner.invoke(app, ["train", "--table", str(tmp_path / "no.csv"), "--id", "a",
                                  "--label", "b"])
    assert missing.exit_code == 1 and "not found" in missing.output
    assert "Traceback" not in missing.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"pid": ["a", "b", "c"], "x": [1, 2, 3], "y": [0, 2, 1]}).to_csv(bad, index=False)
    result = runner.invoke(app, ["train", "--table", str(bad), "--id", "pid", "--label", "y"])
    assert result.exit_code == 1 and "0/1" in result.output
