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

An entry may also carry ``expires`` (a date: the key is refused from that
day on, UTC) and ``revoked: true``; either gets 401 at once. The file is read
again whenever it changes (its modification time, size or inode), checked on
every request, so every worker sees an added, revoked or expired key without
a restart. A changed file that cannot be read or is invalid refuses every
keyed request (503) until it is fixed, rather than serving keys it may have
revoked. ``svrisk serve-key`` makes a new key and prints the entry to add.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable
from enum import Enum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.errors import KeysUnavailable, MissingApiKey, RoleNotAllowed
from serving.settings import Role

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
ERR_KEY_REVOKED = "API key revoked"
ERR_KEY_EXPIRED = "API key expired on {date}"
ERR_KEYS_UNREADABLE = (
    "the API key file changed and cannot be used, so no key is accepted until it is fixed "
    "(see docs/serving.md, rotating keys)"
)


class Permission(str, Enum):
    SCORE = "score"
    SCORE_BATCH = "score_batch"
    MODEL_INFO = "model_info"
    REVIEW_WRITE = "review_write"
    REVIEW_READ = "review_read"
    CASELOAD = "caseload"


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
    expires: dt.date | None = Field(None, description="Refused from this day on (UTC).")
    revoked: bool = Field(False, description="Refused at once; kept in the file as a record.")

    def refusal(self, today: dt.date) -> str | None:
        """Why this key is refused on ``today``, or None while it is valid."""
        if self.revoked:
            return ERR_KEY_REVOKED
        if self.expires is not None and today >= self.expires:
            return ERR_KEY_EXPIRED.format(date=self.expires.isoformat())
        return None


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

    Built by :meth:`from_sources`, the ring reads its key file again when the file
    changes (checked by one ``stat`` per request).

    Parameters
    ----------
    entries : iterable of KeyEntry
    """

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self.entries = tuple(entries)
        self._by_hash = {e.sha256: e for e in self.entries}
        self._file: Path | None = None
        self._json_text: str | None = None
        self._stamp: tuple[int, ...] | None = None
        self._broken = False
        self._lock = threading.Lock()

    @classmethod
    def from_sources(cls, file: Path | None, json_text: str | None) -> KeyRing:
        """Read entries from the YAML file and/or JSON text; at least one key is required.

        Raises
        ------
        ValueError
            When a source is unreadable or invalid, a hash repeats, or no key is configured.
        """
        entries: list[KeyEntry] = []
        # Stamped before reading: an edit during the read is seen at the next request.
        stamp = _file_stamp(Path(file)) if file is not None else None
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
        ring = cls(entries)
        if file is not None:
            ring._file, ring._json_text, ring._stamp = Path(file), json_text, stamp
        return ring

    def _reload_if_changed(self) -> None:
        """Read the key file again if it changed since it was last read; fail closed if invalid."""
        if self._file is None:
            return
        stamp = _file_stamp(self._file)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:  # else another thread has just read it
                    self._reload(stamp)
        if self._broken:
            raise KeysUnavailable(ERR_KEYS_UNREADABLE)

    def _reload(self, stamp: tuple[int, ...] | None) -> None:
        try:
            fresh = KeyRing.from_sources(self._file, self._json_text)
        except (OSError, ValueError, yaml.YAMLError):
            # Keep none of the old keys: the change may have been a revocation.
            self.entries, self._by_hash = (), {}
            self._stamp, self._broken = stamp, True
            return
        self.entries, self._by_hash = fresh.entries, fresh._by_hash
        self._stamp, self._broken = stamp, False

    def authenticate(self, key: str | None) -> Principal:
        """The caller holding ``key``; :class:`MissingApiKey` (401) when absent or unknown."""
        return self.holder(hash_key(key) if key else None)

    def holder(self, digest: str | None) -> Principal:
        """The caller whose key hashes to ``digest`` (see :func:`hash_key`), as the ring has it now.

        The workspace re-checks a session's key with this on every page, so a key revoked,
        expired or removed since sign-in is refused at once, as it is for the API.

        Raises
        ------
        MissingApiKey
            (401) When ``digest`` is missing, or its key is unknown, revoked or expired.
        KeysUnavailable
            (503) When the key file changed and cannot be used.
        """
        self._reload_if_changed()
        if not digest:
            raise MissingApiKey(ERR_NO_KEY)
        # Constant-time comparison against every stored hash: no timing hint on prefixes.
        match = None
        for stored, entry in self._by_hash.items():
            if hmac.compare_digest(stored, digest):
                match = entry
        if match is None:
            raise MissingApiKey(ERR_UNKNOWN_KEY)
        refusal = match.refusal(dt.datetime.now(dt.UTC).date())
        if refusal is not None:
            raise MissingApiKey(refusal)
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


def _file_stamp(file: Path) -> tuple[int, ...] | None:
    """What changes when the file is edited or replaced (None when it is gone)."""
    try:
        info = os.stat(file)
    except OSError:
        return None
    # mtime alone can repeat within the clock's resolution; size, inode and ctime catch that.
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


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
