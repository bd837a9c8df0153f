"""What svrisk already holds about one registered version, read back (never recomputed).

The registry's version tags (the gate's verdict), the training run's params
and ``evaluation/metrics.json``, the outcome definition, the feature
dictionary logged with the run, and the audit document (``audit.json``) the
gate logged beside the report named by ``gate.report``. The papers are built
from these facts only, so that what is published matches what is served.

With them go the publishing keys the gate's signed verdict is checked with,
configured as the service's (``SVRISK_VERIFY_KEY_FILE``): the tags alone can
be edited by anyone who can write to the registry.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from registry.names import CHAMPION_ALIAS, MODEL_NAME, TAG_OUTCOME, TAG_REPORT
from registry.versions import download_run_artifact, resolve_version

METRICS_ARTIFACT = "evaluation/metrics.json"
DICTIONARY_ARTIFACT = "features/dictionary.yaml"
AUDIT_DOCUMENT = "audit.json"
ERR_NOT_AUDITED = ("{name} version {version} has no gate report ({tag} tag): run `svrisk publish --version {version}` "
                   "first; the papers read the gate's audit, they never recompute it")
ERR_BAD_REPORT_URI = "the {tag} tag of {name} version {version} is not a runs:/ URI: {uri!r}"


@dataclass(frozen=True)
class VersionFacts:
    """One version's facts as svrisk recorded them."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, Any]
    outcome: dict[str, Any]
    dictionary: dict[str, Any] | None
    audit: dict[str, Any]
    audit_run_id: str
    verify_keys: Mapping[str, Any] = field(default_factory=dict)
    """The publishing keys (by key id) the gate's signature is checked with; empty when none is configured."""


def configured_verify_keys(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The verification keys the service would use (``SVRISK_VERIFY_KEY_FILE``), or none when it is unset.

    Raises
    ------
    ValueError
        When a configured key file cannot be read or holds no Ed25519 public key.
    """
    from registry.signatures import load_verify_keys
    from serving.settings import ServingSettings

    configured = ServingSettings.from_env(environ).verify_key_file
    return load_verify_keys(configured) if configured else {}


def audit_location(tags: dict[str, str], name: str, version: str) -> tuple[str, str]:
    """(audit run id, audit.json path in that run) from the ``gate.report`` URI."""
    uri = tags.get(TAG_REPORT, "")
    if not uri:
        raise ValueError(ERR_NOT_AUDITED.format(name=name, version=version, tag=TAG_REPORT))
    if not uri.startswith("runs:/"):
        raise ValueError(ERR_BAD_REPORT_URI.format(tag=TAG_REPORT, name=name, version=version, uri=uri))
    run_id, _, report_path = uri.removeprefix("runs:/").partition("/")
    folder = report_path.rpartition("/")[0]
    return run_id, f"{folder}/{AUDIT_DOCUMENT}" if folder else AUDIT_DOCUMENT


def read_facts(client: Any, *, name: str = MODEL_NAME, version: str | None = None,
               verify_keys: Mapping[str, Any] | None = None) -> VersionFacts:
    """The facts of ``version`` (default: the champion) of the registered model ``name``.

    ``verify_keys`` (:func:`configured_verify_keys`) check the gate's signature
    when the papers are built; without them the verdict is reported unverified.

    Raises
    ------
    ValueError
        When the version does not exist, was never gated, or its run lacks an artifact.
    """
    mv = resolve_version(client, name, version=version, aliases=(CHAMPION_ALIAS,))
    version_id, tags = str(mv.version), dict(mv.tags)
    run = client.get_run(mv.run_id)
    audit_run_id, audit_path = audit_location(tags, name, version_id)
    with tempfile.TemporaryDirectory(prefix="svrisk-papers-") as tmp_name:
        tmp = Path(tmp_name)
        metrics = json.loads(download_run_artifact(mv.run_id, METRICS_ARTIFACT, tmp / "run", name=name,
                                                   version=version_id).read_text())
        audit = json.loads(download_run_artifact(audit_run_id, audit_path, tmp / "audit", name=name,
                                                 version=version_id).read_text())
        listed = {item.path for item in client.list_artifacts(mv.run_id, "features")}
        dictionary = (yaml.safe_load(download_run_artifact(mv.run_id, DICTIONARY_ARTIFACT, tmp / "run", name=name,
                                                           version=version_id).read_text())
                      if DICTIONARY_ARTIFACT in listed else None)
    outcome_tag = tags.get(TAG_OUTCOME, "")
    outcome = json.loads(outcome_tag) if outcome_tag.startswith("{") else {"description": outcome_tag}
    return VersionFacts(name=name, version=version_id, run_id=mv.run_id, tags=tags, params=dict(run.data.params),
                        metrics=metrics, outcome=outcome, dictionary=dictionary, audit=audit,
                        audit_run_id=audit_run_id, verify_keys=dict(verify_keys or {}))
