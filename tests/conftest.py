"""Shared fixtures: every test runs with its own MLflow store and working folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from postgres_server import postgres_server, postgres_url, trail_url  # noqa: F401 - the audit trail on SQLite and PostgreSQL
from served_model import Champion, build_small_champion, cases, champion, served, store  # noqa: F401 - session fixtures for tests/serving and tests/workspace

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Folders that share another folder's session fixtures run in its group (one served model).
SHARED_GROUPS = {"workspace": "serving"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep each stage's tests on one xdist worker (`make test` runs `-n 2 --dist loadgroup`).

    Stages share expensive session fixtures (a trained champion, a served model,
    a 200,000-person extract); grouping by stage folder builds each once.
    """
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        item.add_marker(pytest.mark.xdist_group(SHARED_GROUPS.get(folder, folder)))


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
def gate_key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One Ed25519 pair (private, public) for the session's signed gate verdicts."""
    from registry.signatures import write_key_pair

    return write_key_pair(tmp_path_factory.mktemp("gate_keys"))


@pytest.fixture(autouse=True)
def gate_keys(gate_key_pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Every test publishes with the session's signing key and verifies with its public key."""
    from registry.signatures import SIGNING_KEY_ENV, VERIFY_KEY_ENV

    monkeypatch.setenv(SIGNING_KEY_ENV, str(gate_key_pair[0]))
    monkeypatch.setenv(VERIFY_KEY_ENV, str(gate_key_pair[1]))
    return gate_key_pair


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def small_champion_builder() -> Callable[..., Champion]:
    """:func:`build_small_champion`, for a stage's own session fixture (one build per xdist group)."""
    return build_small_champion


@pytest.fixture(scope="session")
def dask_cluster():
    """A 2-worker Dask LocalCluster's client for the stages' Dask paths, once per xdist group.

    Thread workers (``processes=False``): process workers cost seconds each to start on
    a shared 2-core machine; tasks, arguments and results are the same either way, and
    benchmarks/scale.py runs process workers.
    """
    from cluster.client import dask_client

    with dask_client(workers=2, threads_per_worker=1, memory_limit="2GB", processes=False) as client:
        yield client


def _small_contract_frames() -> dict:
    """A tiny valid extract as text frames (as read from CSV), every table and column present."""
    import pandas as pd

    def table(**columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})

    return {
        "people": table(
            person_id=["p01", "p02", "p03", "p04", "p05"],
            birth_month=["2008-05-01", "2010-01-01", "2006-11-01", "2004-02-01", "2009-09-01"],
            sex=["male", "female", "unknown", "male", "female"],
            ethnicity=["white", "black", "unknown", "asian", "mixed"],
            imd_decile=["3", "", "10", "1", "6"],
            sen=["none", "ehcp", "unknown", "sen_support", "none"],
            local_authority=["coventry", "wolverhampton", "coventry", "walsall", "coventry"],
            area_code=["E01009876", "", "W01000123", "E01012345", ""],
        ),
        "adversity": table(
            person_id=["p01", "p02", "p01", "p04"],
            recorded_on=["2019-03-04", "2020-06-01", "2021-01-15", "2018-07-09"],
            ace_type=["domestic_abuse", "physical_neglect", "parental_substance_misuse", "household_incarceration"],
            source=["police", "school", "social_care", "health"],
        ),
        "care_episodes": table(
            person_id=["p01", "p02", "p04"],
            start_on=["2019-04-01", "2020-07-01", "2018-08-01"],
            end_on=["2019-09-30", "", "2019-08-01"],
            episode=["early_help", "child_in_need", "looked_after"],
        ),
        "attendance": table(
            person_id=["p01", "p01", "p02", "p05"],
            term_start=["2019-09-01", "2020-01-06", "2019-09-01", "2020-01-06"],
            term_end=["2019-12-20", "2020-03-31", "2019-12-20", "2020-03-31"],
            sessions_possible=["140", "120", "140", "118"],
            sessions_attended=["130", "100", "140", "90"],
            unauthorised_absences=["4", "20", "0", "10"],
        ),
        "exclusions": table(
            person_id=["p01", "p04"],
            excluded_on=["2020-02-03", "2019-05-20"],
            exclusion=["suspension", "permanent"],
            days=["2", ""],
        ),
        "education_status": table(
            person_id=["p03", "p04"],
            recorded_on=["2021-09-01", "2019-06-01"],
            status=["neet", "alternative_provision"],
        ),
        "police_contacts": table(
            person_id=["p01", "p03", "p04"],
            occurred_on=["2021-05-05", "2022-01-01", "2020-03-03"],
            role=["suspect", "victim", "witness"],
            category=["robbery", "violence_with_injury", "drugs_possession"],
            weapon=["knife_or_sharp", "none", ""],
            area_code=["E01009876", "", ""],
        ),
        "health_events": table(
            person_id=["p03", "p05"],
            occurred_on=["2022-01-01", "2021-11-30"],
            event=["ed_assault_injury", "camhs_referral"],
            weapon=["blunt", ""],
            area_code=["W01000123", ""],
        ),
        "referrals": table(
            person_id=["p01", "p05"],
            referred_on=["2021-06-01", "2022-02-02"],
            referral_source=["police", "school"],
            programme=["cirv", ""],
            outcome=["accepted", "pending"],
            engaged_on=["2021-06-15", ""],
        ),
    }


@pytest.fixture(scope="session")
def contract_frames():
    """Factory: each call returns a fresh tiny valid extract as text frames (dict of DataFrames)."""
    return _small_contract_frames
