"""Load the model the service may serve, and refuse anything else with a clear message.

The served model is the registry alias ``champion`` of ``svrisk`` (or a pinned
version). Before loading, the version must carry ``gate.passed == "true"``
(set by ``svrisk publish``), a gate record signed by a key among
``SVRISK_VERIFY_KEY_FILE`` that names this version, clears it and covers its
``artifact_sha256`` tag (:func:`registry.signatures.verify_gate_record`), and
the downloaded artifact's checksum must equal that tag, so neither a model
changed after its gate nor a verdict set by hand is ever served. The verified
local copy is what gets loaded.

``svrisk serve`` resolves the alias once, verifies, and hands the workers the
version number and checksum it verified (:func:`worker_env`): each worker
loads that version by number (never the alias again), re-checks everything
once at start-up, and refuses an artifact whose checksum is not the pinned one.

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

from registry.names import GATE_TAG_PREFIX, MODEL_NAME, TAG_CHECKSUM, TAG_OUTCOME, TAG_PASSED, TAG_RECORD, TAG_REPORT
from registry.signatures import ERR_NO_VERIFY_KEY, load_verify_keys, verify_gate_record
from registry.tracking import tracking_store
from registry.versions import (
    ChecksumMismatch,
    ResolvedVersion,
    VersionNotFound,
    download_verified,
    expected_checksum,
    resolve_version,
    verify_checksum,
)
from runtime.pyfunc_model import CASE_COLUMN, load_logged_model
from serving.errors import ModelRefused
from serving.risk_bands import RiskBands
from serving.settings import ServingSettings

BENTO_MODEL_NAME = "svrisk-champion"
BENTO_META_KEY = "svrisk_model"

ERR_REFUSED = "refusing to serve: {reason}"
ERR_NOT_GATED = (
    "refusing to serve {name} version {version}: it has not passed the fairness gate "
    "(tag gate.passed is {value!r}, expected 'true'); run `svrisk publish`"
)
ERR_NO_REFERENCE = (
    "refusing to serve {name} version {version}: the model has no reference_probabilities_ "
    "for risk bands"
)
ERR_NO_EXAMPLE = "the model carries no input example: give a case file with --case"
ERR_BENTO_META = "BentoML model {tag} carries no svrisk model description in its metadata"
ERR_NOT_PINNED_SHA = (
    "refusing to serve {name} version {version}: its {tag} tag is {tagged}, but `svrisk serve` verified "
    "{pinned} at start-up (the version's tags changed since)"
)
VERSION_ENV, SHA256_ENV = "SVRISK_MODEL_VERSION", "SVRISK_MODEL_SHA256"


@dataclass
class ServedModel:
    """The loaded, verified model and what the service says about it."""

    version: str
    pyfunc: Any
    risk_model: Any
    bands: RiskBands
    card: dict[str, Any]
    example_case: dict[str, Any] | None = None
    sha256: str = ""
    """The verified artifact checksum (what :func:`worker_env` pins)."""


def describe_version(client: Any, version: ResolvedVersion) -> dict[str, Any]:
    """A JSON-able description of a model version for ``GET /model``."""
    tags = dict(version.tags)
    # Pinned by number (as `svrisk serve` pins its workers): show the aliases it had when loaded.
    alias = version.alias or next(iter(client.get_model_version(version.name, version.version).aliases), None)
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
        "outcome_definition": _json_or_text(tags.get(TAG_OUTCOME)),
        "gate": {k[len(GATE_TAG_PREFIX):]: v for k, v in tags.items() if k.startswith(GATE_TAG_PREFIX)},
        "fairness_report": tags.get(TAG_REPORT),
        # The gate's verdict record (PASS / REVIEW / FAIL, and who approved a REVIEW or override, and why).
        "gate_record": _json_or_text(tags.get(TAG_RECORD)),
        "metrics": dict(run.data.metrics) if run is not None else {},
        "tags": tags,
    }


def _json_or_text(value: str | None) -> Any:
    # Training writes the outcome definition as JSON text; show it structured when it is.
    try:
        return json.loads(value) if value else value
    except json.JSONDecodeError:
        return value


def resolve_served_version(settings: ServingSettings) -> tuple[Any, ResolvedVersion]:
    """The registry client and the version to serve (the pinned one, else the settings' alias).

    Raises
    ------
    ModelRefused
        When the model, the alias or the version does not exist.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    try:
        return client, resolve_version(client, MODEL_NAME, version=settings.model_version,
                                       aliases=(settings.model_alias,))
    except VersionNotFound as exc:
        raise ModelRefused(ERR_REFUSED.format(reason=exc)) from None


def verify_tags(tags: dict[str, str], version: str, settings: ServingSettings) -> str:
    """Check the gate tag, the signed verdict and the pinned checksum; return the expected checksum.

    Raises :class:`ModelRefused` saying why.
    """
    passed = tags.get(TAG_PASSED)
    if passed != "true":
        raise ModelRefused(ERR_NOT_GATED.format(name=MODEL_NAME, version=version, value=passed))
    try:
        expected = expected_checksum(tags, MODEL_NAME, version)
        if not settings.verify_key_file:
            raise ValueError(ERR_NO_VERIFY_KEY)
        verify_gate_record(tags, MODEL_NAME, version, load_verify_keys(settings.verify_key_file))
    except ValueError as exc:
        raise ModelRefused(ERR_REFUSED.format(reason=exc)) from None
    if settings.model_sha256 and expected != settings.model_sha256:
        raise ModelRefused(ERR_NOT_PINNED_SHA.format(name=MODEL_NAME, version=version, tag=TAG_CHECKSUM,
                                                     tagged=expected, pinned=settings.model_sha256))
    return expected


def worker_env(served: ServedModel) -> dict[str, str]:
    """What `svrisk serve` hands its workers: the version it verified, by number, and its checksum."""
    return {VERSION_ENV: served.version, SHA256_ENV: served.sha256}


def _load_verified(folder: Path, version: str, card: dict[str, Any], sha256: str) -> ServedModel:
    from mlflow.models import Model

    pyfunc = load_logged_model(folder)
    example = Model.load(str(folder)).load_input_example(str(folder))
    risk_model = pyfunc.unwrap_python_model().risk_model
    reference = getattr(risk_model, "reference_probabilities_", None)
    if reference is None:
        raise ModelRefused(ERR_NO_REFERENCE.format(name=MODEL_NAME, version=version))
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
        sha256=sha256,
    )


def load_from_registry(settings: ServingSettings) -> ServedModel:
    """Resolve, verify and load the served model from the MLflow registry.

    Raises
    ------
    ModelRefused
        With a message saying why the model may not be served.
    """
    with tracking_store(), tempfile.TemporaryDirectory(prefix="svrisk-serve-") as tmp:
        client, version = resolve_served_version(settings)
        expected = verify_tags(version.tags, version.version, settings)
        try:
            local = download_verified(version, tmp)
        except ChecksumMismatch as exc:
            raise ModelRefused(ERR_REFUSED.format(reason=exc)) from None
        return _load_verified(local, version.version, describe_version(client, version), expected)


def import_to_bentoml(settings: ServingSettings) -> Any:
    """Verify the served version and copy it into the BentoML model store for ``bentoml build``.

    Returns the :class:`bentoml.Model`; its metadata holds the version's description.
    """
    import bentoml

    from serving.workspace.model_card_limits import bento_limits_metadata

    with tracking_store():
        client, version = resolve_served_version(settings)
        expected = verify_tags(version.tags, version.version, settings)
        card = describe_version(client, version)
        bento_model = bentoml.mlflow.import_model(
            BENTO_MODEL_NAME,
            f"models:/{MODEL_NAME}/{version.version}",
            labels={"registered_model": MODEL_NAME, "version": version.version},
            # The workspace's "what this score cannot see" (the card is not in the bento).
            metadata={BENTO_META_KEY: json.dumps(card), **bento_limits_metadata(card)},
        )
    _verify_bento_folder(Path(bento_model.path_of("mlflow_model")), expected, version.version)
    return bento_model


def _verify_bento_folder(folder: Path, expected: str, version: str) -> None:
    try:
        verify_checksum(folder, expected, MODEL_NAME, version)
    except ChecksumMismatch as exc:
        raise ModelRefused(ERR_REFUSED.format(reason=exc)) from None


def load_from_bentoml(settings: ServingSettings, tag: str = f"{BENTO_MODEL_NAME}:latest") -> ServedModel:
    """Load the model a bento carries, re-verifying its gate tag, signed verdict and checksum."""
    import bentoml

    bento_model = bentoml.models.get(tag)
    raw = bento_model.info.metadata.get(BENTO_META_KEY)
    if raw is None:
        raise ModelRefused(ERR_BENTO_META.format(tag=bento_model.tag))
    card = json.loads(raw)
    expected = verify_tags(card["tags"], card["version"], settings)
    folder = Path(bento_model.path_of("mlflow_model"))
    _verify_bento_folder(folder, expected, card["version"])
    return _load_verified(folder, card["version"], card, expected)


def load_served_model(settings: ServingSettings) -> ServedModel:
    """Load from the MLflow registry or, in a bento, from the BentoML model store."""
    if settings.model_source == "bento":
        return load_from_bentoml(settings)
    return load_from_registry(settings)
