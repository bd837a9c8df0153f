"""Load the model the service may serve, and refuse anything else with a clear message.

The served model is the registry alias ``champion`` of ``svrisk`` (or a pinned
version). Before loading, the version must carry ``gate.passed == "true"``
(set by ``svrisk publish``) and the downloaded artifact's checksum must equal
its ``artifact_sha256`` tag, so a model changed after its fairness gate is
never served. The verified local copy is what gets loaded.

A bento carries the same verified artifact in the BentoML model store
(:func:`import_to_bentoml`), with the version's tags and description in the
model's metadata; :func:`load_from_bentoml` re-checks both before loading.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairness.gate import TAG_PASSED, TAG_REPORT
from serving.errors import ModelRefused
from serving.risk_bands import RiskBands
from serving.settings import REGISTERED_MODEL, ServingSettings
from registry.checksum import CHECKSUM_TAG, artifact_sha256
from runtime.pyfunc_model import CASE_COLUMN
from registry.tracking import tracking_store

GATE_TAG_PREFIX = "gate."
OUTCOME_TAG = "outcome_definition"
BENTO_MODEL_NAME = "svrisk-champion"
BENTO_META_KEY = "svrisk_model"

_MISSING_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
ERR_NO_ALIAS = (
    "registered model '{name}' has no version behind alias '{alias}': "
    "publish one with `svrisk publish` first"
)
ERR_NO_VERSION = "registered model '{name}' has no version {version}"
ERR_NOT_GATED = (
    "refusing to serve {name} version {version}: it has not passed the fairness gate "
    "(tag gate.passed is {value!r}, expected 'true'); run `svrisk publish`"
)
ERR_NO_CHECKSUM = (
    "refusing to serve {name} version {version}: the version has no artifact_sha256 tag"
)
ERR_CHECKSUM = (
    "refusing to serve {name} version {version}: the artifact's checksum {actual} does not "
    "match the artifact_sha256 tag {expected} (the model changed after registration)"
)
ERR_NO_REFERENCE = (
    "refusing to serve {name} version {version}: the model has no reference_probabilities_ "
    "for risk bands"
)
ERR_NO_EXAMPLE = "the model carries no input example: give a case file with --case"
ERR_BENTO_META = "BentoML model {tag} carries no svrisk model description in its metadata"


@dataclass
class ServedModel:
    """The loaded, verified model and what the service says about it."""

    version: str
    pyfunc: Any
    risk_model: Any
    bands: RiskBands
    card: dict[str, Any]
    example_case: dict[str, Any] | None = None


def describe_version(client: Any, version: Any, alias: str | None) -> dict[str, Any]:
    """A JSON-able description of a model version for ``GET /model``."""
    tags = dict(version.tags)
    run = client.get_run(version.run_id) if version.run_id else None
    trained_at = (
        dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC).isoformat()
        if run is not None
        else None
    )
    return {
        "name": version.name,
        "version": str(version.version),
        "alias": alias,
        "run_id": version.run_id,
        "trained_at": trained_at,
        "outcome_definition": _json_or_text(tags.get(OUTCOME_TAG)),
        "gate": {k[len(GATE_TAG_PREFIX):]: v for k, v in tags.items() if k.startswith(GATE_TAG_PREFIX)},
        "fairness_report": tags.get(TAG_REPORT),
        "metrics": dict(run.data.metrics) if run is not None else {},
        "tags": tags,
    }


def _json_or_text(value: str | None) -> Any:
    # Training writes the outcome definition as JSON text; show it structured when it is.
    try:
        return json.loads(value) if value else value
    except json.JSONDecodeError:
        return value


def resolve_version(settings: ServingSettings) -> tuple[Any, Any, str | None]:
    """The registry client, the model version to serve and the alias used (None if pinned).

    Raises
    ------
    ModelRefused
        When the alias or version does not exist.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        if settings.model_version is not None:
            return client, client.get_model_version(REGISTERED_MODEL, str(settings.model_version)), None
        alias = settings.model_alias
        return client, client.get_model_version_by_alias(REGISTERED_MODEL, alias), alias
    except MlflowException as exc:
        # A missing version is RESOURCE_DOES_NOT_EXIST; a missing alias INVALID_PARAMETER_VALUE.
        if exc.error_code not in _MISSING_CODES:
            raise
        if settings.model_version is not None:
            message = ERR_NO_VERSION.format(name=REGISTERED_MODEL, version=settings.model_version)
        else:
            message = ERR_NO_ALIAS.format(name=REGISTERED_MODEL, alias=settings.model_alias)
        raise ModelRefused(message) from None


def verify_tags(tags: dict[str, str], version: str) -> str:
    """Check the gate tag; return the expected checksum. Raises :class:`ModelRefused`."""
    passed = tags.get(TAG_PASSED)
    if passed != "true":
        raise ModelRefused(
            ERR_NOT_GATED.format(name=REGISTERED_MODEL, version=version, value=passed)
        )
    expected = tags.get(CHECKSUM_TAG)
    if not expected:
        raise ModelRefused(ERR_NO_CHECKSUM.format(name=REGISTERED_MODEL, version=version))
    return expected


def verify_checksum(folder: Path, expected: str, version: str) -> None:
    actual = artifact_sha256(folder)
    if actual != expected:
        raise ModelRefused(
            ERR_CHECKSUM.format(
                name=REGISTERED_MODEL, version=version, actual=actual, expected=expected
            )
        )


def _load_verified(folder: Path, version: str, card: dict[str, Any]) -> ServedModel:
    import mlflow.pyfunc
    from mlflow.models import Model

    pyfunc = mlflow.pyfunc.load_model(str(folder))
    example = Model.load(str(folder)).load_input_example(str(folder))
    risk_model = pyfunc.unwrap_python_model().risk_model
    reference = getattr(risk_model, "reference_probabilities_", None)
    if reference is None:
        raise ModelRefused(ERR_NO_REFERENCE.format(name=REGISTERED_MODEL, version=version))
    bands = RiskBands(reference)
    card = {**card, "bands": bands.describe(), "reference_size": int(bands.reference_size)}
    return ServedModel(
        version=version,
        pyfunc=pyfunc,
        risk_model=risk_model,
        bands=bands,
        card=card,
        # The logged input example (a real synthetic case), for `svrisk serve --example`.
        example_case=json.loads(example[CASE_COLUMN].iloc[0]) if example is not None else None,
    )


def load_from_registry(settings: ServingSettings) -> ServedModel:
    """Resolve, verify and load the served model from the MLflow registry.

    Raises
    ------
    ModelRefused
        With a message saying why the model may not be served.
    """
    import mlflow.artifacts

    with tracking_store(), tempfile.TemporaryDirectory(prefix="svrisk-serve-") as tmp:
        client, version, alias = resolve_version(settings)
        number = str(version.version)
        expected = verify_tags(dict(version.tags), number)
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{REGISTERED_MODEL}/{number}", dst_path=tmp
            )
        )
        verify_checksum(local, expected, number)
        return _load_verified(local, number, describe_version(client, version, alias))


def import_to_bentoml(settings: ServingSettings) -> Any:
    """Verify the served version and copy it into the BentoML model store for ``bentoml build``.

    Returns the :class:`bentoml.Model`; its metadata holds the version's description.
    """
    import bentoml

    with tracking_store():
        client, version, alias = resolve_version(settings)
        number = str(version.version)
        expected = verify_tags(dict(version.tags), number)
        card = describe_version(client, version, alias)
        bento_model = bentoml.mlflow.import_model(
            BENTO_MODEL_NAME,
            f"models:/{REGISTERED_MODEL}/{number}",
            labels={"registered_model": REGISTERED_MODEL, "version": number},
            metadata={BENTO_META_KEY: json.dumps(card)},
        )
    verify_checksum(Path(bento_model.path_of("mlflow_model")), expected, number)
    return bento_model


def load_from_bentoml(tag: str = f"{BENTO_MODEL_NAME}:latest") -> ServedModel:
    """Load the model a bento carries, re-verifying its gate tag and checksum."""
    import bentoml

    bento_model = bentoml.models.get(tag)
    raw = bento_model.info.metadata.get(BENTO_META_KEY)
    if raw is None:
        raise ModelRefused(ERR_BENTO_META.format(tag=bento_model.tag))
    card = json.loads(raw)
    expected = verify_tags(card["tags"], card["version"])
    folder = Path(bento_model.path_of("mlflow_model"))
    verify_checksum(folder, expected, card["version"])
    return _load_verified(folder, card["version"], card)


def load_served_model(settings: ServingSettings) -> ServedModel:
    """Load from the MLflow registry or, in a bento, from the BentoML model store."""
    if settings.model_source == "bento":
        return load_from_bentoml()
    return load_from_registry(settings)
