"""Register a logged model as a new version of ``svrisk`` with the alias ``candidate``.

Aliases, never the deprecated stages. The version carries the tags
``artifact_sha256`` (over the model folder as downloaded from the registry,
which is what the service recomputes), ``run_id`` and ``outcome_definition``.
"""

from __future__ import annotations

import tempfile
from typing import Any

from registry.checksum import CHECKSUM_TAG, artifact_sha256

CANDIDATE_ALIAS = "candidate"
RUN_ID_TAG = "run_id"
OUTCOME_TAG = "outcome_definition"


def register_candidate(model_uri: str, *, name: str, run_id: str, outcome: str,
                       client: Any | None = None) -> Any:
    """Register ``model_uri`` under ``name``, tag it and point ``candidate`` at it.

    Returns
    -------
    mlflow.entities.model_registry.ModelVersion
        The new version, re-read after tagging.
    """
    import mlflow
    from mlflow import MlflowClient

    client = client or MlflowClient()
    version = mlflow.register_model(model_uri, name)
    with tempfile.TemporaryDirectory(prefix="svrisk-model-") as tmp:
        local = mlflow.artifacts.download_artifacts(f"models:/{name}/{version.version}", dst_path=tmp)
        checksum = artifact_sha256(local)
    for key, value in ((CHECKSUM_TAG, checksum), (RUN_ID_TAG, run_id), (OUTCOME_TAG, outcome)):
        client.set_model_version_tag(name, version.version, key, value)
    client.set_registered_model_alias(name, CANDIDATE_ALIAS, version.version)
    return client.get_model_version(name, version.version)
