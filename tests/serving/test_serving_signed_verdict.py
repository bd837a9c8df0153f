"""Signed gate verdicts in the service and `svrisk score` (issue 21, item 4).

Tags are edited by hand through MlflowClient, as anyone with write access to
the registry could: a version marked as passed with a matching checksum, a
copied record or signature, a record for another version, a stranger's key.
Each is refused, saying why. `svrisk serve` resolves the alias once and pins
its workers to the version and checksum it verified.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry.names import TAG_APPROVER, TAG_CHECKSUM, TAG_PASSED, TAG_RECORD, TAG_SIGNATURE, TAG_SIGNATURE_KEY_ID
from registry.signatures import SIGNING_KEY_ENV, VERIFY_KEY_ENV, load_signing_key, sign_record, write_key_pair
from serving.errors import ModelRefused
from serving.model_loader import load_served_model
from serving.settings import ServingSettings

pytestmark = [pytest.mark.slow]
NAME = "svrisk"


@pytest.fixture
def client(store):
    from mlflow import MlflowClient

    client = MlflowClient()
    yield client
    # The store is the session's: whatever a test did to the alias, the champion is version 1 again.
    client.set_registered_model_alias(NAME, "champion", "1")


@pytest.fixture
def copy_version(client, tmp_path: Path) -> tuple[str, str]:
    """A second version of the champion's model, registered without any gate tags, and its real checksum."""
    import mlflow.artifacts

    from registry.checksum import artifact_sha256

    first = client.get_model_version(NAME, "1")
    version = str(client.create_model_version(NAME, source=first.source, run_id=first.run_id).version)
    local = mlflow.artifacts.download_artifacts(f"models:/{NAME}/{version}", dst_path=str(tmp_path / "copy"))
    return version, artifact_sha256(local)


def _load(version: str | None = None, **env: str):
    values = {**os.environ, **env}
    if version is not None:
        values["SVRISK_MODEL_VERSION"] = version
    return load_served_model(ServingSettings.from_env(values))


def _tag(client, version: str, **tags: str) -> None:
    for key, value in tags.items():
        client.set_model_version_tag(NAME, version, key, value)


def _record_for(client, version: str, sha: str) -> str:
    """The champion's signed record, rewritten by hand to name ``version`` and its checksum."""
    record = json.loads(client.get_model_version(NAME, "1").tags[TAG_RECORD])
    return json.dumps({**record, "model_version": version, "artifact_sha256": sha}, sort_keys=True,
                      separators=(",", ":"))


def test_service_refuses_hand_made_verdicts_saying_why(client, copy_version, tmp_path: Path) -> None:
    (v2, sha), champion_tags = copy_version, client.get_model_version(NAME, "1").tags
    # Marked as passed by hand, with a checksum that matches its artifact.
    _tag(client, v2, **{TAG_PASSED: "true", TAG_CHECKSUM: sha})
    with pytest.raises(ModelRefused, match=f"version {v2} has no signed gate record"):
        _load(v2)
    _tag(client, v2, **{TAG_RECORD: champion_tags[TAG_RECORD]})
    with pytest.raises(ModelRefused, match="no signature .*unsigned"):
        _load(v2)
    # The champion's genuine signature, copied across.
    _tag(client, v2, **{TAG_SIGNATURE: champion_tags[TAG_SIGNATURE],
                        TAG_SIGNATURE_KEY_ID: champion_tags[TAG_SIGNATURE_KEY_ID]})
    with pytest.raises(ModelRefused, match="record is for svrisk version 1, not this version"):
        _load(v2)
    # The record rewritten for this version under the copied signature.
    _tag(client, v2, **{TAG_RECORD: _record_for(client, v2, sha)})
    with pytest.raises(ModelRefused, match="signature does not match its gate record"):
        _load(v2)
    # Signed, but by a key the service does not trust.
    stranger = load_signing_key(write_key_pair(tmp_path / "stranger")[0])
    _tag(client, v2, **sign_record(_record_for(client, v2, sha), stranger).tags())
    with pytest.raises(ModelRefused, match="is not among the verification keys"):
        _load(v2)
    # Signed with the publishing key, the same record serves (the refusals above were the edits).
    publisher = load_signing_key(os.environ[SIGNING_KEY_ENV])
    _tag(client, v2, **sign_record(_record_for(client, v2, sha), publisher).tags())
    assert _load(v2).version == v2
    _tag(client, v2, **{TAG_APPROVER: "somebody else"})
    with pytest.raises(ModelRefused, match="tag gate.approver is 'somebody else' but the signed gate record"):
        _load(v2)
    # The champion itself: without a verification key nothing is served.
    with pytest.raises(ModelRefused, match="no verification key: set SVRISK_VERIFY_KEY_FILE"):
        _load(**{VERIFY_KEY_ENV: ""})
    with pytest.raises(ModelRefused, match="not among the verification keys"):
        _load(**{VERIFY_KEY_ENV: str(write_key_pair(tmp_path / "other")[1])})


def test_serve_and_score_commands_refuse_a_hand_tagged_version(client, copy_version, champion,
                                                               tmp_path: Path) -> None:
    from svrisk.cli import app

    v2, sha = copy_version
    _tag(client, v2, **{TAG_PASSED: "true", TAG_CHECKSUM: sha})
    keys = json.dumps([{"name": "a", "role": "admin", "sha256": "a" * 64}])
    served = CliRunner().invoke(app, ["serve", "--version", v2], env={"SVRISK_API_KEYS": keys})
    assert served.exit_code == 1, served.output
    said = " ".join(served.output.split())
    assert f"refusing to serve: svrisk version {v2} has no signed gate record" in said and "Traceback" not in said

    out = tmp_path / "scores.csv"
    base = ["score", str(champion.extract), "--as-of", "2023-04-01", "--out", str(out)]
    pinned = CliRunner().invoke(app, [*base, "--version", v2])
    assert pinned.exit_code == 1 and "no signed gate record" in " ".join(pinned.output.split())
    # The champion alias moved by hand onto the unsigned version: `svrisk score` refuses it too.
    client.set_registered_model_alias(NAME, "champion", v2)
    moved = CliRunner().invoke(app, base)
    assert moved.exit_code == 1 and f"svrisk version {v2} has no signed gate record" in " ".join(moved.output.split())
    assert not out.exists()


@pytest.mark.server
def test_serve_pins_its_workers_to_the_version_it_verified(client, copy_version, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from serving.api_keys import API_KEY_HEADER, hash_key, new_key
    from serving.client import ServerProcess
    from svrisk.cli import app

    started: list[dict[str, str]] = []
    real_run = subprocess.run

    def fake_run(command, *args, **kwargs):  # what `svrisk serve` would start, and with which environment
        if not str(command[0]).endswith("bentoml"):
            return real_run(command, *args, **kwargs)
        started.append(kwargs["env"])
        return subprocess.CompletedProcess(command, 0)

    key = new_key()
    keys = json.dumps([{"name": "pin", "role": "admin", "sha256": hash_key(key)}])
    with monkeypatch.context() as patch:  # the real subprocess.run again afterwards, for the server below
        patch.setattr(subprocess, "run", fake_run)
        result = CliRunner().invoke(app, ["serve"], env={"SVRISK_API_KEYS": keys})
    assert result.exit_code == 0, result.output
    (worker_env,) = started
    champion_sha = client.get_model_version(NAME, "1").tags[TAG_CHECKSUM]
    assert (worker_env["SVRISK_MODEL_VERSION"], worker_env["SVRISK_MODEL_SHA256"]) == ("1", champion_sha)

    # After start-up the alias moves to another servable (properly signed) version ...
    v2, sha = copy_version
    publisher = load_signing_key(os.environ[SIGNING_KEY_ENV])
    _tag(client, v2, **{TAG_PASSED: "true", TAG_CHECKSUM: sha})
    _tag(client, v2, **{TAG_RECORD: _record_for(client, v2, sha)})
    _tag(client, v2, **sign_record(_record_for(client, v2, sha), publisher).tags())
    client.set_registered_model_alias(NAME, "champion", v2)
    assert load_served_model(ServingSettings.from_env()).version == v2  # resolving the alias now gives v2
    # ... but a worker started with what `svrisk serve` handed it loads version 1.
    assert load_served_model(ServingSettings.from_env(worker_env)).version == "1"
    with pytest.raises(ModelRefused, match="but `svrisk serve` verified 0{64}"):
        load_served_model(ServingSettings.from_env({**worker_env, "SVRISK_MODEL_SHA256": "0" * 64}))
    env = {**worker_env, "SVRISK_AUDIT_DB": f"sqlite:///{tmp_path / 'audit.db'}"}
    with ServerProcess(env, log_path=tmp_path / "server.log", ready_timeout=240) as server:
        info = httpx.get(server.url + "/model", headers={API_KEY_HEADER: key}, timeout=30).json()
    assert info["version"] == "1" and info["gate_record"]["model_version"] == "1"
