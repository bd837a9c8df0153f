"""Training through a real `mlflow server` (SQLite backend, artifacts proxied to a temp folder)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.server]

STARTUP_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    command = [
        str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited: {(tmp_path / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("mlflow server did not start in time")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def test_training_through_mlflow_server(mlflow_server: str, feature_table_csv: Path, fast_config,
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import mlflow
    from mlflow import MlflowClient

    from registry.checksum import artifact_sha256
    from training.pipeline import run_training

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    outcome = run_training(table=feature_table_csv, id_column="pid", label_column="outcome",
                           protected=["sex"], time_column="year", config=fast_config)
    assert outcome.tracking_uri == mlflow_server
    client = MlflowClient()
    version = client.get_model_version_by_alias("svrisk", "candidate")
    assert version.run_id == outcome.logged.run_id
    local = mlflow.artifacts.download_artifacts(f"models:/svrisk/{version.version}",
                                                dst_path=str(tmp_path / "model"))
    assert artifact_sha256(local) == version.tags["artifact_sha256"]
    # Artifacts went through the server to its destination, not to a local mlruns folder.
    assert any((tmp_path / "server-artifacts").rglob("test_predictions.parquet"))
    assert not (Path.cwd() / "mlruns").exists()
