"""Fixtures for the training tests: a small flat feature table with known signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def make_feature_table(n_people: int = 1500, years: int = 5, seed: int = 3) -> pd.DataFrame:
    """People observed once a year: numbers (with gaps), a category, protected columns, a 0/1 label."""
    rng = np.random.default_rng(seed)
    person = np.repeat([f"p{i:05d}" for i in range(n_people)], years)
    year = np.tile(np.arange(2019, 2019 + years), n_people)
    n = len(person)
    adversity = rng.poisson(1.0, n).astype(float)
    absence = rng.beta(2, 8, n)
    absence[rng.random(n) < 0.1] = np.nan  # no school record
    area = rng.choice(["north", "south", "east"], n)
    sex = rng.choice(["female", "male"], n)
    ethnicity = rng.choice(["asian", "black", "white", "mixed"], n)
    logit = -3.2 + 0.6 * adversity + 3.0 * np.nan_to_num(absence, nan=0.3) + 0.5 * (area == "north")
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "pid": person, "year": year, "adversity": adversity, "absence": absence, "area": area,
        "sex": sex, "ethnicity": ethnicity, "outcome": label,
    })


@pytest.fixture(scope="session")
def feature_table_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("table") / "partner.csv"
    make_feature_table().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def table_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite tracking URI of its own for the session's shared trained model."""
    return f"sqlite:///{tmp_path_factory.mktemp('table_store') / 'mlflow.db'}"


@pytest.fixture(scope="session")
def trained_table(feature_table_csv: Path, table_store: str):  # noqa: ANN201 - TrainingOutcome
    """One training run on the feature table, logged and registered in ``table_store``.

    Session-scoped fixtures run before the per-test MLflow isolation, so the
    store is set explicitly here and tests read it with an explicit URI.
    """
    from training.pipeline import run_training

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", table_store)
        patch.setenv("MLFLOW_REGISTRY_URI", table_store)
        return run_training(
            table=feature_table_csv, id_column="pid", label_column="outcome",
            protected=["sex", "ethnicity"], time_column="year", config=small_config(),
        )


@pytest.fixture
def in_table_store(trained_table, table_store: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point this test's MLflow environment at the shared trained model's store."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", table_store)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", table_store)
    return table_store


# A broader outcome than the default (any violence, any role) so that a few thousand
# synthetic people give enough positives in every period to train and evaluate.
BROAD_OUTCOME = {
    "police_roles": ["victim", "suspect", "witness"],
    "police_categories": ["violence_with_injury", "violence_without_injury", "robbery",
                          "weapon_possession"],
    "health_events": ["ed_assault_injury"],
}


def small_config(**overrides: object):  # noqa: ANN201 - TrainingConfig
    """The default configuration with a two-point search and the broad outcome (fast tests)."""
    from training.config import load_config

    search = {"grid": [{"num_leaves": 7, "min_child_samples": 40},
                       {"num_leaves": 15, "min_child_samples": 80}],
              "max_estimators": 200, "early_stopping_rounds": 20}
    # One LightGBM thread: with other tests running on 2 cores, OpenMP threads that wait for
    # each other are ten times slower than a single thread.
    values = {"search": search, "outcome": BROAD_OUTCOME, "train_snapshots": 3, "n_jobs": 1,
              "explainer_reference_rows": 300, "explanation_rows": 300, **overrides}
    return load_config(None, **values)


@pytest.fixture
def fast_config():  # noqa: ANN201 - TrainingConfig
    return small_config()


@pytest.fixture(scope="session")
def small_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated extract of 3,000 people (the contract files plus _truth/)."""
    from extract.synthetic.extract_writer import write_synthetic_extract

    out = tmp_path_factory.mktemp("extract") / "extract"
    write_synthetic_extract(out, people=3000, seed=11, start="2019-04-01", end="2025-03-31")
    return out


@pytest.fixture(scope="session")
def extract_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('extract_store') / 'mlflow.db'}"


@pytest.fixture(scope="session")
def trained_extract(small_extract: Path, extract_store: str):  # noqa: ANN201 - TrainingOutcome
    """One training run on the small extract, logged and registered in ``extract_store``."""
    from training.pipeline import run_training

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", extract_store)
        patch.setenv("MLFLOW_REGISTRY_URI", extract_store)
        return run_training(extract=small_extract, config=small_config())


@pytest.fixture
def in_extract_store(trained_extract, extract_store: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", extract_store)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", extract_store)
    return extract_store
