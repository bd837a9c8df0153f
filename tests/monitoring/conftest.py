"""A trained model once per session, and the newer extracts the monitor watches it on.

``svrisk generate`` writes a training extract (outcomes observed until
2023-04-01) and ``svrisk train`` trains a small model on it in a temporary
MLflow store; the monitoring tests point MLflow at that store. Session
fixtures run before the per-test MLflow isolation of tests/conftest.py, so
every command gets the store in an explicit env.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

SVRISK = str(Path(sys.executable).with_name("svrisk"))
COMMAND_TIMEOUT = 600
TRAINING = {
    "version": 1,
    "search": {"max_estimators": 80, "early_stopping_rounds": 15,
               "grid": [{"num_leaves": 7, "min_child_samples": 20, "reg_lambda": 1.0}]},
    "calibration": "platt",
    "explanation_rows": 200,
    "explainer_reference_rows": 100,
}
# A newer extract, two years on; shifts start right after the training outcomes end.
MONITOR_END = "2025-03-31"
SHIFT_DATE = "2023-04-01"


@dataclass(frozen=True)
class Trained:
    store_env: dict[str, str]
    root: Path
    extract: Path

    def run(self, args: list[str]) -> subprocess.CompletedProcess:
        """``svrisk ARGS`` against this model's MLflow store."""
        return run_svrisk(args, self.store_env, self.root)


def run_svrisk(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SVRISK, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT, check=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("monitoring_model")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri, "SVRISK_HOME": str(root),
           "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    extract = root / "train_extract"
    done = run_svrisk(["generate", "--people", "4000", "--seed", "21", "--start", "2018-04-01",
                       "--end", "2023-03-31", "--out", str(extract)], env, root)
    assert done.returncode == 0, done.stderr
    (root / "training.yaml").write_text(yaml.safe_dump(TRAINING))
    done = run_svrisk(["train", str(extract), "--config", str(root / "training.yaml")], env, root)
    assert done.returncode == 0, done.stdout + done.stderr
    return Trained(store_env=env, root=root, extract=extract)


@pytest.fixture(scope="session")
def newer_extract(trained: Trained):
    """Factory: a newer extract (2018-04 to 2025-03) with the given shifts, generated once per argument set."""
    made: dict[tuple, Path] = {}

    def make(*shifts: str, seed: int = 22, people: int = 4000) -> Path:
        key = (shifts, seed, people)
        if key not in made:
            out = trained.root / f"extract_{seed}_{people}_{'_'.join(s.split(':')[0] for s in shifts) or 'none'}"
            args = ["generate", "--people", str(people), "--seed", str(seed), "--start", "2018-04-01",
                    "--end", MONITOR_END, "--out", str(out)]
            for shift in shifts:
                args += ["--shift", shift]
            done = run_svrisk(args, trained.store_env, trained.root)
            assert done.returncode == 0, done.stderr
            made[key] = out
        return made[key]

    return make
