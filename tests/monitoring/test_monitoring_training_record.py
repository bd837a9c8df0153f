"""What the monitor reads from the training run: a missing artifact is a clear error, the capacity comes from policy."""

from __future__ import annotations

import pandas as pd
import pytest

from monitoring.policy import load_policy
from monitoring.run import (
    IMPORTANCE_ARTIFACT,
    MonitorUsageError,
    TrainingRecord,
    read_training_record,
    team_capacity,
)
from training.reference import REFERENCE_ARTIFACT


def _run_with(artifacts: dict[str, str]) -> str:
    import mlflow

    with mlflow.start_run() as run:
        for path, text in artifacts.items():
            mlflow.log_text(text, path)
    return run.info.run_id


def test_a_run_without_the_reference_asks_for_retraining(isolated_mlflow):
    run_id = _run_with({"notes.txt": "trained long ago"})
    with pytest.raises(MonitorUsageError, match="no training reference") as caught:
        read_training_record(None, "svrisk", "3", run_id)
    assert run_id in str(caught.value) and "svrisk train" in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_run_missing_another_artifact_names_it(isolated_mlflow):
    run_id = _run_with({REFERENCE_ARTIFACT: '{"version": 2}'})
    with pytest.raises(MonitorUsageError) as caught:
        read_training_record(None, "svrisk", "3", run_id)
    message = str(caught.value)
    assert IMPORTANCE_ARTIFACT in message and run_id in message and "version 3" in message
    assert "Traceback" not in message and "\n" not in message


def _record(metrics: dict) -> TrainingRecord:
    return TrainingRecord(reference={}, importance={}, metrics=metrics, predictions=pd.DataFrame())


def test_capacity_is_training_s_else_the_policy_s_and_is_validated():
    policy = load_policy()
    assert team_capacity(_record({"team_capacity": 150}), policy, "svrisk", "1", "r") == 150
    assert team_capacity(_record({}), policy, "svrisk", "1", "r") == policy.performance.top_k_if_unrecorded == 260
    for bad in (0, -3, 2.5, "260", True):
        with pytest.raises(MonitorUsageError, match="team_capacity"):
            team_capacity(_record({"team_capacity": bad}), policy, "svrisk", "1", "r")
