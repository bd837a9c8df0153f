"""Service settings, read from the environment when the service starts (never at import).

| variable | meaning | default |
|---|---|---|
| ``SVRISK_MODEL_VERSION`` | serve this registered version instead of the alias | unset |
| ``SVRISK_MODEL_ALIAS`` | registry alias to serve | ``champion`` |
| ``SVRISK_MODEL_SOURCE`` | ``registry`` (MLflow) or ``bento`` (the model a bento carries) | ``registry`` |
| ``SVRISK_AUDIT_DB`` | SQLAlchemy URL of the audit trail | ``sqlite:///<home>/svrisk_audit.db`` |
| ``SVRISK_API_KEYS_FILE`` | YAML file of hashed keys (see :mod:`serving.api_keys`) | unset |
| ``SVRISK_API_KEYS`` | the same entries as JSON text | unset |
| ``SVRISK_MAX_BATCH`` | most cases in one ``/score_batch`` call | ``500`` |
| ``SVRISK_MAX_REQUEST_BYTES`` | largest request body accepted | ``4194304`` (4 MiB) |
| ``SVRISK_SESSION_IDLE_MINUTES`` | workspace sign-in ends after this long without a request | ``30`` |
| ``SVRISK_CASELOAD_CAPACITY`` | cases a team can take on (the caseload page's list length) | ``260`` |
| ``SVRISK_CASELOAD_FILE`` | a ``svrisk score`` output the caseload page can load | unset |
| ``SVRISK_CHAIN_HEAD_SECONDS`` | write the audit chain's head to the log at most this often (0: every append) | ``300`` |
| ``SVRISK_VERIFY_KEY_FILE`` | public key file(s) checking the gate's signed verdict (``os.pathsep``-separated; required) | unset |
| ``SVRISK_MODEL_SHA256`` | artifact checksum ``svrisk serve`` verified; workers refuse any other | unset |

``<home>`` is ``SVRISK_HOME`` or the current working directory. The model
registry is the one training uses (:mod:`registry.tracking`):
``MLFLOW_TRACKING_URI`` when set, else the embedded store under ``<home>/mlruns``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from registry.names import CHAMPION_ALIAS
from registry.tracking import HOME_ENV, project_home

AUDIT_DB_NAME = "svrisk_audit.db"
ERR_BAD_SETTING = "invalid service setting {name}: {problem}"

_ENV = {
    "model_version": "SVRISK_MODEL_VERSION",
    "model_alias": "SVRISK_MODEL_ALIAS",
    "model_source": "SVRISK_MODEL_SOURCE",
    "audit_db": "SVRISK_AUDIT_DB",
    "api_keys_file": "SVRISK_API_KEYS_FILE",
    "api_keys_json": "SVRISK_API_KEYS",
    "max_batch": "SVRISK_MAX_BATCH",
    "max_request_bytes": "SVRISK_MAX_REQUEST_BYTES",
    "session_idle_minutes": "SVRISK_SESSION_IDLE_MINUTES",
    "caseload_capacity": "SVRISK_CASELOAD_CAPACITY",
    "caseload_file": "SVRISK_CASELOAD_FILE",
    "chain_head_seconds": "SVRISK_CHAIN_HEAD_SECONDS",
    "verify_key_file": "SVRISK_VERIFY_KEY_FILE",
    "model_sha256": "SVRISK_MODEL_SHA256",
}


class ServingSettings(BaseModel):
    """Everything the service needs to start; see the module docstring for the variables."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    model_version: int | None = Field(None, ge=1, description="Pinned registry version.")
    model_alias: str = Field(CHAMPION_ALIAS, min_length=1, description="Registry alias served.")
    model_source: Literal["registry", "bento"] = Field(
        "registry", description="Where the served model comes from."
    )
    audit_db: str = Field(..., min_length=1, description="SQLAlchemy URL of the audit trail.")
    api_keys_file: Path | None = Field(None, description="YAML file of hashed API keys.")
    api_keys_json: str | None = Field(None, description="Hashed API keys as JSON text.")
    max_batch: int = Field(500, ge=1, le=100_000, description="Most cases per batch call.")
    max_request_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Largest body accepted.")
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60, description="Workspace idle expiry.")
    # The partnership's referral capacity: 260 cases a quarter (issue 14).
    caseload_capacity: int = Field(260, ge=1, le=100_000, description="Cases a team can take on.")
    caseload_file: Path | None = Field(None, description="A `svrisk score` output to offer.")
    # Issue 19: heads in the log catch a database rewritten from some row on.
    chain_head_seconds: float = Field(300, ge=0, le=86_400, description="Chain-head log interval.")
    # Signed gate verdicts (issue 21): the public half of the publishing key, and the version's
    # checksum as `svrisk serve` verified it, so workers load exactly what the CLI checked.
    verify_key_file: str | None = Field(None, description="Public key file(s) for the gate signature.")
    model_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="Artifact checksum the workers must find."
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServingSettings:
        """Build settings from environment variables.

        Raises
        ------
        ValueError
            Naming the variable and the problem when a value is invalid.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            field: env[var] for field, var in _ENV.items() if env.get(var, "") != ""
        }
        home = Path(env.get(HOME_ENV) or project_home())
        values.setdefault("audit_db", f"sqlite:///{home / AUDIT_DB_NAME}")
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = _ENV.get(str(first["loc"][0]), str(first["loc"][0]))
            raise ValueError(ERR_BAD_SETTING.format(name=name, problem=first["msg"])) from None
