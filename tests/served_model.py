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
from dataclasses import dataclass

import pytest

from serving.api_keys import hash_key, new_key
from serving.client import ServerProcess

ROLES = ("practitioner", "data_scientist", "ethics_panel", "team_lead", "admin")
MAX_BATCH = 60
MAX_BYTES = 256 * 1024


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
