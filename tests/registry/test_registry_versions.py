"""One resolve, download and verify path for every reader of the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.names import CANDIDATE_ALIAS, CHAMPION_ALIAS, TAG_CHECKSUM
from registry.versions import (
    ArtifactMissing,
    ChecksumMismatch,
    VersionNotFound,
    download_run_artifact,
    download_verified,
    register_candidate,
    resolve_version,
)


@pytest.fixture()
def registered(tmp_path: Path) -> str:
    """A registered model version holding two small files (a minimal pyfunc folder)."""
    import mlflow

    source = tmp_path / "source"
    source.mkdir()
    (source / "MLmodel").write_text("flavors: {}\n")
    (source / "weights.bin").write_bytes(b"\x00\x01weights")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(source), "model")
    version = register_candidate(f"runs:/{run.info.run_id}/model", name="svrisk", run_id=run.info.run_id,
                                 outcome="{}")
    return str(version.version)


def test_resolve_then_download_verified(registered: str, tmp_path: Path) -> None:
    # One test: a fresh MLflow store per test costs more than both halves together.
    from mlflow import MlflowClient

    client = MlflowClient()
    pinned = resolve_version(client, "svrisk", version=registered)
    assert (pinned.version, pinned.alias) == (registered, None) and pinned.run_id
    # Champion first, then candidate: only the candidate exists yet.
    assert resolve_version(client, "svrisk").alias == CANDIDATE_ALIAS
    client.set_registered_model_alias("svrisk", CHAMPION_ALIAS, registered)
    assert resolve_version(client, "svrisk").alias == CHAMPION_ALIAS
    with pytest.raises(VersionNotFound, match="no version 99"):
        resolve_version(client, "svrisk", version=99)
    with pytest.raises(VersionNotFound, match="no version behind alias 'retired'"):
        resolve_version(client, "svrisk", aliases=("retired",))
    with pytest.raises(VersionNotFound, match="no model is registered as 'other' .*alias 'champion' or 'candidate'"):
        resolve_version(client, "other")

    # The download is checked against the version's checksum tag.
    resolved = resolve_version(client, "svrisk", version=registered)
    local = download_verified(resolved, tmp_path / "ok")
    assert (local / "weights.bin").read_bytes() == b"\x00\x01weights"
    # One reader of a version's run artifacts, with a message naming version, run and artifact.
    one = download_run_artifact(resolved.run_id, "model/weights.bin", tmp_path / "run", name="svrisk",
                                version=registered)
    assert one.read_bytes() == b"\x00\x01weights"
    with pytest.raises(ArtifactMissing, match=f"svrisk version {registered}: cannot read evaluation/metrics.json "
                                              f"from run {resolved.run_id}"):
        download_run_artifact(resolved.run_id, "evaluation/metrics.json", tmp_path / "run", name="svrisk",
                              version=registered)

    client.set_model_version_tag("svrisk", registered, TAG_CHECKSUM, "0" * 64)
    with pytest.raises(ChecksumMismatch, match="does not match its artifact_sha256 tag"):
        download_verified(resolve_version(client, "svrisk", version=registered), tmp_path / "bad")
    client.set_model_version_tag("svrisk", registered, TAG_CHECKSUM, "")
    with pytest.raises(ChecksumMismatch, match="has no artifact_sha256 tag"):
        download_verified(resolve_version(client, "svrisk", version=registered), tmp_path / "none")
