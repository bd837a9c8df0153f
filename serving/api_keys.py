"""API keys and roles.

A key is a random token given to one caller; the service stores only its
SHA-256 (keys are long random secrets, so a fast hash is enough and keeps the
per-request check cheap; a slow password hash would protect nothing more).
Entries come from a YAML file (``SVRISK_API_KEYS_FILE``) and/or JSON text
(``SVRISK_API_KEYS``), each a list of ``{name, role, sha256}``::

    keys:
      - name: a.smith
        role: practitioner
        sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

``svrisk serve-key`` makes a new key and prints the entry to add.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.errors import MissingApiKey, RoleNotAllowed

API_KEY_HEADER = "X-API-Key"
ERR_NO_KEY = f"missing API key: send it in the {API_KEY_HEADER} header"
ERR_UNKNOWN_KEY = "unknown API key"
ERR_ROLE = "role {role!r} may not {action}; allowed roles: {allowed}"
ERR_KEY_ENTRIES = "invalid API key entries in {source}: {problem}"
ERR_NO_KEYS = (
    "no API keys configured: set SVRISK_API_KEYS_FILE or SVRISK_API_KEYS "
    "(see docs/serving.md; `svrisk serve-key` makes one)"
)
ERR_DUPLICATE_HASH = "the same key hash is listed twice in {source}"


class Permission(str, Enum):
    SCORE = "score"
    SCORE_BATCH = "score_batch"
    MODEL_INFO = "model_info"
    REVIEW_WRITE = "review_write"
    REVIEW_READ = "review_read"
    CASELOAD = "caseload"


Role = Literal["practitioner", "data_scientist", "ethics_panel", "team_lead", "admin"]

# Who may do what (issue 7): practitioners score and review; data scientists read the
# model and score batches; the ethics panel reads reviews and the model's fairness report.
# Team leads (issue 14) see the ranked caseload of a snapshot and read reviews.
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "practitioner": frozenset({Permission.SCORE, Permission.REVIEW_WRITE}),
    "data_scientist": frozenset({Permission.MODEL_INFO, Permission.SCORE_BATCH}),
    "ethics_panel": frozenset({Permission.REVIEW_READ, Permission.MODEL_INFO}),
    "team_lead": frozenset({Permission.CASELOAD, Permission.REVIEW_READ}),
    "admin": frozenset(Permission),
}


def hash_key(key: str) -> str:
    """Hex SHA-256 of a key, as stored in the key entries."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


class KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., min_length=1, description="Who holds the key; recorded in the audit trail.")
    role: Role = Field(..., description="The holder's role.")
    sha256: str = Field(..., pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the key.")


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry]


class Principal(BaseModel):
    """The authenticated caller."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role


class KeyRing:
    """Hashed keys in memory; ``authenticate`` and ``authorise`` per request.

    Parameters
    ----------
    entries : iterable of KeyEntry
    """

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self.entries = tuple(entries)
        self._by_hash = {e.sha256: e for e in self.entries}

    @classmethod
    def from_sources(cls, file: Path | None, json_text: str | None) -> KeyRing:
        """Read entries from the YAML file and/or JSON text; at least one key is required.

        Raises
        ------
        ValueError
            When a source is unreadable or invalid, a hash repeats, or no key is configured.
        """
        entries: list[KeyEntry] = []
        if file is not None:
            entries += _parse(yaml.safe_load(Path(file).read_text()), str(file))
        if json_text:
            try:
                data = json.loads(json_text)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    ERR_KEY_ENTRIES.format(source="SVRISK_API_KEYS", problem=exc.msg)
                ) from None
            entries += _parse(data, "SVRISK_API_KEYS")
        if not entries:
            raise ValueError(ERR_NO_KEYS)
        if len({e.sha256 for e in entries}) != len(entries):
            raise ValueError(ERR_DUPLICATE_HASH.format(source="the API key configuration"))
        return cls(entries)

    def authenticate(self, key: str | None) -> Principal:
        """The caller holding ``key``; :class:`MissingApiKey` (401) when absent or unknown."""
        if not key:
            raise MissingApiKey(ERR_NO_KEY)
        digest = hash_key(key)
        # Constant-time comparison against every stored hash: no timing hint on prefixes.
        match = None
        for stored, entry in self._by_hash.items():
            if hmac.compare_digest(stored, digest):
                match = entry
        if match is None:
            raise MissingApiKey(ERR_UNKNOWN_KEY)
        return Principal(name=match.name, role=match.role)

    @staticmethod
    def authorise(principal: Principal, permission: Permission) -> None:
        """:class:`RoleNotAllowed` (403) unless the caller's role grants ``permission``."""
        if permission not in ROLE_PERMISSIONS[principal.role]:
            allowed = roles_allowed(permission)
            raise RoleNotAllowed(
                ERR_ROLE.format(role=principal.role, action=permission.value, allowed=allowed)
            )


def roles_allowed(permission: Permission) -> list[str]:
    """The roles granted ``permission``, sorted."""
    return sorted(r for r, perms in ROLE_PERMISSIONS.items() if permission in perms)


def _parse(data: object, source: str) -> list[KeyEntry]:
    if isinstance(data, list):
        data = {"keys": data}
    try:
        return _KeyFile.model_validate(data).keys
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(
            ERR_KEY_ENTRIES.format(source=source, problem=f"{where}: {first['msg']}")
        ) from None
