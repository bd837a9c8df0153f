"""A real champion and a real server, once per session (shared by tests/serving and tests/workspace).

``svrisk generate`` writes a small extract, ``svrisk train`` trains it (a
reduced search so the session stays short) and ``svrisk publish`` promotes
it into a temporary MLflow store; then ``bentoml serve`` starts on
127.0.0.1 with 2 workers, keys for every role and its own audit database.
Session fixtures run before the per-test MLflow isolation of
tests/conftest.py, so every command gets the store in an explicit env.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from serving.api_keys import hash_key, new_key
from serving.client import ServerProcess

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SVRISK = str(Path(sys.executable).with_name("svrisk"))
COMMAND_TIMEOUT = 600


@dataclass(frozen=True)
class Champion:
    """A trained, gated, published version in its own store (``store_env`` points every command at it)."""

    store_env: dict[str, str]
    extract: Path
    version: str


def run_svrisk(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the ``svrisk`` console command in a subprocess; fail the test with its output if it fails."""
    done = subprocess.run(
        [SVRISK, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"svrisk {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def build_small_champion(root: Path, *, resamples: int) -> Champion:
    """``svrisk signing-keygen``, ``svrisk generate`` (3,000 people), ``svrisk train`` (one configuration)
    and ``svrisk publish`` (signed with the new key; ``store_env`` names both key files).

    Session fixtures run before the per-test MLflow isolation above, so every command
    gets the store in an explicit env. A tiny model may miss the fairness policy: the
    override is recorded as such on the version. ``resamples`` 0 skips the intervals.
    """
    import yaml

    uri = f"sqlite:///{root / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri, "SVRISK_HOME": str(root)}
    # Its own key pair: publish signs the verdict, the service and `svrisk score` verify it.
    run_svrisk(["signing-keygen", "--out", str(root / "keys")], env, root)
    env |= {"SVRISK_SIGNING_KEY_FILE": str(root / "keys" / "svrisk-signing.key"),
            "SVRISK_VERIFY_KEY_FILE": str(root / "keys" / "svrisk-signing.pub")}
    extract = root / "extract"
    run_svrisk(["generate", "--people", "3000", "--seed", "11", "--out", str(extract)], env, root)
    # The default search, cut to one configuration: the tests need a real model, not a good one.
    config = yaml.safe_load((PROJECT_ROOT / "training" / "default.yaml").read_text())
    config["search"]["grid"] = config["search"]["grid"][:1]
    config["search"]["max_estimators"] = 120
    config["explainer_reference_rows"] = 500
    config["explanation_rows"] = 500
    (root / "training.yaml").write_text(yaml.safe_dump(config))
    run_svrisk(["train", str(extract), "--config", str(root / "training.yaml")], env, root)
    run_svrisk(
        ["publish", "--override", "--approver", "svrisk tests",
         "--reason", "tiny test model", "--resamples", str(resamples)],
        env, root,
    )  # fmt: skip
    return Champion(store_env=env, extract=extract, version="1")



ROLES = ("practitioner", "data_scientist", "ethics_panel", "team_lead", "admin")
MAX_BATCH = 60
# Large enough for the caseload's score file (a snapshot with its explanations), small
# enough that the size-limit test stays quick.
MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Served:
    url: str
    keys: dict[str, str]
    audit_db: str
    server: ServerProcess

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


@pytest.fixture(scope="session")
def champion(tmp_path_factory: pytest.TempPathFactory, small_champion_builder):  # tests/conftest.py Champion
    # No intervals (resamples 0): the service tests need a published model, not its audit.
    return small_champion_builder(tmp_path_factory.mktemp("serving_champion"), resamples=0)


@pytest.fixture
def store(champion, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This test's environment points at the champion's store and its key pair."""
    for name, value in champion.store_env.items():
        monkeypatch.setenv(name, value)
    return champion.store_env


def service_env(champion, audit_db: str, keys: dict[str, str], prefix: str) -> dict[str, str]:
    """The champion's store, an audit database and one key per role (named PREFIX-ROLE)."""
    entries = [{"name": f"{prefix}-{role}", "role": role, "sha256": hash_key(k)} for role, k in keys.items()]
    return {**champion.store_env, "SVRISK_AUDIT_DB": audit_db, "SVRISK_API_KEYS": json.dumps(entries)}


@pytest.fixture(scope="session")
def served(champion, tmp_path_factory: pytest.TempPathFactory) -> Served:
    root = tmp_path_factory.mktemp("serving_server")
    keys = {role: new_key() for role in ROLES}
    audit_db = f"sqlite:///{root / 'audit.db'}"
    env = {
        **service_env(champion, audit_db, keys, "test"),
        "SVRISK_MAX_BATCH": str(MAX_BATCH),
        "SVRISK_MAX_REQUEST_BYTES": str(MAX_BYTES),
        # Its own Prometheus multi-process directory: every `bentoml serve` empties
        # <BENTOML_HOME>/prometheus_multiproc_dir at start, other servers' metrics included.
        "BENTOML_HOME": str(root / "bentoml"),
        # The fuzzing sends over 1,000 requests a minute with one key: limits are tested
        # on their own server (tests/serving/test_faults_server.py), with their own counts.
        "SVRISK_RATE_LIMIT_REQUESTS": "1000000",
        "SVRISK_RATE_LIMIT_DB": str(root / "rates.db"),
    }
    server = ServerProcess(env, workers=2, log_path=root / "server.log", ready_timeout=240)
    with server:
        yield Served(url=server.url, keys=keys, audit_db=audit_db, server=server)


@pytest.fixture(scope="session")
def cases(champion) -> list[dict]:
    """Real single cases from the extract: distinct people at the test-period snapshot."""
    from extract.loader import load_extract
    from features.cohort import snapshot_cohort
    from features.single_case import cases_from_extract

    extract = load_extract(champion.extract)
    cohort = snapshot_cohort(extract, ["2023-04-01"]).head(150)
    return [json.loads(case.model_dump_json()) for case in cases_from_extract(extract, cohort)]
