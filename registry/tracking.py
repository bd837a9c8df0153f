"""Where training runs are tracked: a given MLflow server or the embedded local store.

With ``MLFLOW_TRACKING_URI`` set, MLflow uses it (a server, or a SQLite
file as in the tests). Without it, runs go to an embedded SQLite store under
the project: ``<home>/mlruns/mlflow.db`` with artifacts in
``<home>/mlruns/artifacts`` (both git-ignored), where ``<home>`` is
``$SVRISK_HOME`` or else the current working directory. Nothing is resolved
at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOME_ENV = "SVRISK_HOME"
TRACKING_ENV = "MLFLOW_TRACKING_URI"
REGISTRY_ENV = "MLFLOW_REGISTRY_URI"
STORE_DIR = "mlruns"
DB_NAME = "mlflow.db"
ARTIFACTS_DIR = "artifacts"


def project_home() -> Path:
    """``$SVRISK_HOME`` if set, else the current working directory."""
    return Path(os.environ.get(HOME_ENV) or Path.cwd()).resolve()


def embedded_tracking_uri(home: Path | None = None) -> str:
    """The SQLite tracking URI of the embedded default store (the folder is created on use)."""
    store = (home or project_home()) / STORE_DIR
    return f"sqlite:///{store / DB_NAME}"


def resolve_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the embedded store's URI."""
    return os.environ.get(TRACKING_ENV) or embedded_tracking_uri()


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix):]) if uri.startswith(prefix) else None


@contextmanager
def tracking_store() -> Iterator[str]:
    """Use the resolved tracking URI for MLflow calls inside the block; yield it.

    With ``MLFLOW_TRACKING_URI`` set nothing changes. Otherwise the embedded
    store's folder is created (at use, never at import) and the URI is put in
    the environment for the duration of the block only, and restored after,
    rather than through ``mlflow.set_tracking_uri``, whose process-wide state
    would outlive the run.
    """
    uri = resolve_tracking_uri()
    db = sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    added = [name for name in (TRACKING_ENV, REGISTRY_ENV) if not os.environ.get(name)]
    if TRACKING_ENV not in added:
        added = []  # a registry URI on its own is the user's choice; keep it
    for name in added:
        os.environ[name] = uri
    try:
        yield uri
    finally:
        for name in added:
            os.environ.pop(name, None)


def ensure_experiment(name: str, uri: str) -> str:
    """The experiment's id, creating it if needed.

    With a SQLite store the experiment's artifacts go next to the database
    (``<db folder>/artifacts/<name>``) rather than wherever the current
    directory happens to be; a server decides its own artifact location.
    """
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    db = sqlite_path(uri)
    location = (db.parent / ARTIFACTS_DIR / name).resolve().as_uri() if db is not None else None
    return client.create_experiment(name, artifact_location=location)
