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
| ``SVRISK_RATE_LIMIT_REQUESTS`` | requests a minute per key (its holder's name) | ``1200`` |
| ``SVRISK_RATE_LIMIT_CASES`` | ``/score_batch`` cases a minute per key | ``60000`` |
| ``SVRISK_RATE_LIMIT_ROLES`` | JSON: per-role totals a minute, e.g. ``{"practitioner": {"requests": 5000}}`` | unset |
| ``SVRISK_RATE_LIMIT_DB`` | SQLite file of the minute counters, shared by every worker | ``<home>/svrisk_rate_limits.db`` |
| ``SVRISK_MAX_CONCURRENT`` | keyed requests and workspace pages in progress per worker; more get 503 and ``Retry-After`` | ``32`` |
| ``SVRISK_SQLITE_BUSY_TIMEOUT_MS`` | how long an audit write waits for a locked SQLite file | ``5000`` |

``<home>`` is ``SVRISK_HOME`` or the current working directory. The model
registry is the one training uses (:mod:`registry.tracking`):
``MLFLOW_TRACKING_URI`` when set, else the embedded store under ``<home>/mlruns``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from registry.names import CHAMPION_ALIAS
from registry.tracking import HOME_ENV, project_home

# The roles a key may hold (serving.api_keys grants their permissions); defined here, below
# api_keys, so that the settings can name roles without importing the service's errors.
Role = Literal["practitioner", "data_scientist", "ethics_panel", "team_lead", "admin"]

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
    "rate_limit_requests": "SVRISK_RATE_LIMIT_REQUESTS",
    "rate_limit_cases": "SVRISK_RATE_LIMIT_CASES",
    "rate_limit_roles": "SVRISK_RATE_LIMIT_ROLES",
    "rate_limit_db": "SVRISK_RATE_LIMIT_DB",
    "max_concurrent_requests": "SVRISK_MAX_CONCURRENT",
    "sqlite_busy_timeout_ms": "SVRISK_SQLITE_BUSY_TIMEOUT_MS",
}
RATE_LIMIT_DB_NAME = "svrisk_rate_limits.db"
# Below the service's 30 s request timeout (serving.service.REQUEST_TIMEOUT_S), with room
# for the scoring itself: a locked database answers 503 instead of the request timing out.
MAX_SQLITE_BUSY_TIMEOUT_MS = 20_000


class RoleRateLimit(BaseModel):
    """Totals a minute for all keys of one role together; unset means no role-wide limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: int | None = Field(None, ge=1, description="Requests a minute, all keys of the role.")
    cases: int | None = Field(None, ge=1, description="Batch cases a minute, all keys of the role.")


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
    # Rate limits (OWASP API4), counted per minute across every worker (serving.rate_limits).
    rate_limit_requests: int = Field(1200, ge=1, description="Requests a minute per key.")
    rate_limit_cases: int = Field(60_000, ge=1, description="Batch cases a minute per key.")
    rate_limit_roles: dict[Role, RoleRateLimit] = Field(
        default_factory=dict, description="Per-role totals a minute (JSON text in the environment)."
    )
    rate_limit_db: Path = Field(..., description="SQLite file of the shared minute counters.")
    max_concurrent_requests: int = Field(
        32, ge=1, le=10_000, description="Keyed requests and workspace pages in progress per worker."
    )
    sqlite_busy_timeout_ms: int = Field(
        5000, ge=0, le=MAX_SQLITE_BUSY_TIMEOUT_MS, description="Wait for a locked SQLite audit file."
    )

    @field_validator("rate_limit_roles", mode="before")
    @classmethod
    def _roles_from_json(cls, value: object) -> object:
        # The environment gives JSON text; Python callers may give the mapping itself.
        return json.loads(value) if isinstance(value, str) else value

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
        values.setdefault("rate_limit_db", home / RATE_LIMIT_DB_NAME)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = _ENV.get(str(first["loc"][0]), str(first["loc"][0]))
            raise ValueError(ERR_BAD_SETTING.format(name=name, problem=first["msg"])) from None
