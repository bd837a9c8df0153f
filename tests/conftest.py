"""Shared fixtures: every test runs with its own MLflow store and working folder."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_mlflow(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point MLflow at a fresh SQLite store in a temporary folder and work from there.

    No test ever touches the project's own local store or a shared server.
    """
    workdir = tmp_path_factory.mktemp("workdir")
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    monkeypatch.chdir(workdir)
    return uri


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
