"""Registered versions of the model: register one, find one, download it and verify it.

Training registers a logged model with :func:`register_candidate` (aliases,
never the deprecated stages), tagging the version ``artifact_sha256`` (over
the model folder as downloaded from the registry, which is what every reader
recomputes), ``run_id`` and ``outcome_definition``.

Every reader (``svrisk score``, the fairness gate, the service) finds its
version with :func:`resolve_version` and, when it needs the model itself,
gets it with :func:`download_verified`, which refuses an artifact whose
checksum differs from its tag, so a model changed after registration is never
used.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.checksum import artifact_sha256
from registry.names import ALIASES, CANDIDATE_ALIAS, MODEL_NAME, TAG_CHECKSUM, TAG_OUTCOME, TAG_RUN_ID

ERR_NO_MODEL = (
    "no model is registered as '{name}' (looked for alias {aliases}): train one with `svrisk train DIR`, "
    "then gate it with `svrisk publish`"
)
ERR_NO_VERSION = "registered model '{name}' has no version {version}"
ERR_NO_ALIAS = (
    "registered model '{name}' has no version behind alias {aliases} "
    "(`svrisk train` sets 'candidate', `svrisk publish` sets 'champion')"
)
ERR_NO_ALIASES_GIVEN = "give a version or at least one alias to resolve"
# For the commands that take either (`svrisk score`, `svrisk needs`).
ERR_ALIAS_OR_VERSION = "give --alias or --version, not both"
ERR_NO_CHECKSUM = "{name} version {version} has no {tag} tag, so its artifact cannot be verified"
ERR_CHECKSUM = (
    "the artifact of {name} version {version} has checksum {actual}, which does not match its {tag} tag "
    "{expected} (the model changed after registration)"
)


ERR_ARTIFACT_MISSING = "{name} version {version}: cannot read {artifact} from run {run_id} ({error})"


class ArtifactMissing(ValueError):
    """A run of a registered version lacks an artifact a reader needs (or it cannot be read)."""

    reason: str = ""  # MLflow's first line, for readers that word their own message


class VersionNotFound(ValueError):
    """The registered model, the pinned version or every asked alias is missing."""


class ChecksumMismatch(ValueError):
    """A version has no checksum tag, or its artifact does not match it."""


@dataclass(frozen=True)
class ResolvedVersion:
    """One registered version and how it was found (``alias`` None when pinned by number)."""

    name: str
    version: str
    alias: str | None
    run_id: str | None
    tags: dict[str, str] = field(default_factory=dict)


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
    for key, value in ((TAG_CHECKSUM, checksum), (TAG_RUN_ID, run_id), (TAG_OUTCOME, outcome)):
        client.set_model_version_tag(name, version.version, key, value)
    client.set_registered_model_alias(name, CANDIDATE_ALIAS, version.version)
    return client.get_model_version(name, version.version)


def resolve_version(
    client: Any,
    name: str = MODEL_NAME,
    *,
    version: int | str | None = None,
    aliases: Sequence[str] = ALIASES,
) -> ResolvedVersion:
    """The pinned ``version`` when given, else the version behind the first of ``aliases`` that exists.

    Raises
    ------
    VersionNotFound
        When the model, the version or every alias is missing (a ``ValueError``).
    """
    if version is None and not aliases:
        raise ValueError(ERR_NO_ALIASES_GIVEN)
    named = " or ".join(f"'{alias}'" for alias in aliases)
    model = _lookup(lambda: client.get_registered_model(name))
    if version is not None:
        found = _lookup(lambda: client.get_model_version(name, str(version))) if model is not None else None
        if found is None:
            raise VersionNotFound(ERR_NO_VERSION.format(name=name, version=version))
        return _resolved(found, None)
    if model is None:
        raise VersionNotFound(ERR_NO_MODEL.format(name=name, aliases=named))
    # Aliases are read from the registered model rather than by a failing lookup, whose
    # error code differs between the SQL store and a tracking server.
    present = dict(model.aliases)
    chosen = next((alias for alias in aliases if alias in present), None)
    if chosen is None:
        raise VersionNotFound(ERR_NO_ALIAS.format(name=name, aliases=named))
    return _resolved(client.get_model_version(name, str(present[chosen])), chosen)


def _resolved(found: Any, alias: str | None) -> ResolvedVersion:
    return ResolvedVersion(name=found.name, version=str(found.version), alias=alias,
                           run_id=found.run_id or None, tags=dict(found.tags))


def _lookup(get: Callable[[], Any]) -> Any:
    """The registry's answer, or None when the model or version does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return get()
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None


def expected_checksum(tags: dict[str, str], name: str, version: str) -> str:
    """The version's ``artifact_sha256`` tag; :class:`ChecksumMismatch` when it has none."""
    expected = tags.get(TAG_CHECKSUM)
    if not expected:
        raise ChecksumMismatch(ERR_NO_CHECKSUM.format(name=name, version=version, tag=TAG_CHECKSUM))
    return expected


def verify_checksum(folder: str | Path, expected: str, name: str, version: str) -> Path:
    """``folder`` if its :func:`~registry.checksum.artifact_sha256` equals ``expected``."""
    actual = artifact_sha256(folder)
    if actual != expected:
        raise ChecksumMismatch(ERR_CHECKSUM.format(name=name, version=version, actual=actual,
                                                   expected=expected, tag=TAG_CHECKSUM))
    return Path(folder)


def download_verified(resolved: ResolvedVersion, dst: str | Path) -> Path:
    """Download the version's model folder into ``dst`` and check it against its checksum tag.

    Raises
    ------
    ChecksumMismatch
        When the version has no checksum tag or the downloaded files differ from it.
    """
    import mlflow.artifacts

    expected = expected_checksum(resolved.tags, resolved.name, resolved.version)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{resolved.name}/{resolved.version}", dst_path=str(dst)
    )
    return verify_checksum(local, expected, resolved.name, resolved.version)


def download_run_artifact(run_id: str, artifact: str, dst: str | Path, *, name: str, version: str) -> Path:
    """Download ``artifact`` of run ``run_id`` (belonging to ``name`` version ``version``) into ``dst``.

    The one reader of a version's run artifacts (the gate's evaluation files,
    the papers' metrics, audit document and dictionary).

    Raises
    ------
    ArtifactMissing
        A ``ValueError`` naming the version, the run and the artifact, when it
        is missing or cannot be read.
    """
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=str(dst)))
    except (MlflowException, OSError) as error:
        # The first line of MLflow's message says which store and path failed; the rest is its traceback.
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        missing = ArtifactMissing(ERR_ARTIFACT_MISSING.format(name=name, version=version, artifact=artifact,
                                                              run_id=run_id, error=reason))
        missing.reason = reason
        raise missing from None
