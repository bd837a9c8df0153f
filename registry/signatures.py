"""Signed gate verdicts: the gate's record signed with a key the registry does not hold.

``gate.passed`` and ``artifact_sha256`` are ordinary tags: anyone who can write
to the registry could mark a version as passed with a matching checksum. So
``svrisk publish`` signs the verdict record (``gate.record``: model name,
version, artifact sha256, verdict, policy version, how it was cleared, the
approver and reason) with an Ed25519 private key kept outside the registry
(``SVRISK_SIGNING_KEY_FILE`` or ``--signing-key``), and writes the signature
(``gate.signature``, base64) and the signing key's id (``gate.signature_key_id``)
beside it. The service and ``svrisk score`` hold only public keys
(``SVRISK_VERIFY_KEY_FILE``, one or more files separated by ``os.pathsep``)
and refuse a version whose record is missing, unsigned, signed by an unknown
key, altered after signing, for another version or artifact, not cleared, or
contradicted by the version's own tags.

The signature covers ``SIGNED_CONTEXT`` followed by the record's canonical JSON
(:func:`canonical_json`: sorted keys, no spaces, UTF-8), so the same record
always gives the same bytes and a signature made for another purpose never
verifies as a gate verdict. Key files are PEM (PKCS#8 private, SubjectPublicKeyInfo
public); :func:`write_key_pair` creates both with mode 0600 and never overwrites.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.names import (
    CHAMPION_ALIAS,
    CLEARED_BY_OVERRIDE,
    CLEARED_BY_REVIEW_APPROVAL,
    TAG_APPROVER,
    TAG_CHECKSUM,
    TAG_OVERRIDE,
    TAG_PASSED,
    TAG_POLICY_VERSION,
    TAG_REASON,
    TAG_RECORD,
    TAG_REVIEW_APPROVED,
    TAG_SIGNATURE,
    TAG_SIGNATURE_KEY_ID,
    TAG_VERDICT,
)

SIGNING_KEY_ENV = "SVRISK_SIGNING_KEY_FILE"
VERIFY_KEY_ENV = "SVRISK_VERIFY_KEY_FILE"
SIGNED_CONTEXT = b"svrisk gate record v1\n"
"""Prefixed to the record before signing: a signature over anything else never verifies as a verdict."""
KEY_ID_HEX = 16
PRIVATE_SUFFIX, PUBLIC_SUFFIX = ".key", ".pub"
KEY_FILE_MODE = 0o600
# Record fields the verdict's plain tags repeat (what GET /model and the papers show): tag -> field.
REPEATED_FIELDS = {
    TAG_VERDICT: "verdict",
    TAG_POLICY_VERSION: "policy_version",
    TAG_APPROVER: "approver",
    TAG_REASON: "reason",
}

ERR_NO_SIGNING_KEY = (
    "no signing key: give --signing-key FILE or set " + SIGNING_KEY_ENV + " (make a pair with "
    "`svrisk signing-keygen --out DIR`); a published verdict must be signed or nothing will serve it"
)
ERR_NO_VERIFY_KEY = (
    "no verification key: set " + VERIFY_KEY_ENV + " to the public key file(s) of the publishing key "
    "(`svrisk signing-keygen` writes them), so the gate's signature can be checked"
)
ERR_KEY_FILE = "cannot read the key file {path}: {problem}"
ERR_NOT_ED25519 = "the key file {path} holds a {kind}, not an Ed25519 {role} key"
ERR_KEY_EXISTS = "{path} already exists: give a new --name or folder (keys are never overwritten)"
ERR_NO_RECORD = (
    "{name} version {version} has no signed gate record ({tag} tag): it was not published by "
    "`svrisk publish` with a signing key (tags set by hand are not a verdict)"
)
ERR_NO_SIGNATURE = (
    "{name} version {version} has a gate record but no signature ({tag} tag): the verdict is unsigned "
    "(set by hand, or published before verdicts were signed); publish it again with a signing key"
)
ERR_UNKNOWN_KEY = (
    "{name} version {version} is signed with key {key_id!r}, which is not among the verification keys "
    "({known}); add that key's public file to " + VERIFY_KEY_ENV + " if it is yours"
)
ERR_BAD_SIGNATURE = (
    "{name} version {version}: the signature does not match its gate record (the record or the signature "
    "was changed after publication)"
)
ERR_BAD_RECORD = "{name} version {version}: the signed gate record is not a JSON record ({problem})"
ERR_OTHER_VERSION = (
    "{name} version {version}: the signed gate record is for {signed_name} version {signed_version}, "
    "not this version (a signature copied from another version)"
)
ERR_OTHER_ARTIFACT = (
    "{name} version {version}: the signed gate record covers artifact sha256 {signed}, but the version's "
    + TAG_CHECKSUM + " tag is {tagged} (the checksum tag was changed after publication)"
)
ERR_NOT_CLEARED = (
    "{name} version {version}: the signed gate record says it was not cleared for service (verdict {verdict}, "
    "no approval or override)"
)
ERR_TAG_CONTRADICTS = (
    "{name} version {version}: tag {tag} is {tagged!r} but the signed gate record says {signed!r} "
    "(the tag was changed after publication)"
)


@dataclass(frozen=True)
class Signature:
    """A detached signature (base64) and the id of the key that made it."""

    value: str
    key_id: str

    def tags(self) -> dict[str, str]:
        return {TAG_SIGNATURE: self.value, TAG_SIGNATURE_KEY_ID: self.key_id}


class SignatureRefused(ValueError):
    """A version's gate verdict is missing, unsigned, or does not verify."""


def canonical_json(record: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, non-ASCII kept: the same record always gives the same text."""
    return json.dumps(dict(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _signed_bytes(record_text: str) -> bytes:
    # Re-canonicalised so that only the record's content, not its spelling, is signed.
    return SIGNED_CONTEXT + canonical_json(json.loads(record_text)).encode("utf-8")


def key_id(public_key: Any) -> str:
    """The first 16 hex digits of the SHA-256 of the raw 32-byte public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_HEX]


def _read_pem(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(ERR_KEY_FILE.format(path=path, problem=exc.strerror or exc)) from None


def load_signing_key(path: str | Path) -> Any:
    """The Ed25519 private key in the PEM file ``path`` (a ``ValueError`` naming the file otherwise)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(_read_pem(path), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(ERR_KEY_FILE.format(path=path, problem=exc)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(ERR_NOT_ED25519.format(path=path, kind=type(key).__name__, role="private"))
    return key


def load_verify_keys(paths: str | Path | Sequence[str | Path]) -> dict[str, Any]:
    """The Ed25519 public keys in ``paths`` (a list, or one string separated by ``os.pathsep``), by key id."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if isinstance(paths, (str, Path)):
        paths = [p for p in str(paths).split(os.pathsep) if p.strip()]
    if not paths:
        raise ValueError(ERR_NO_VERIFY_KEY)
    keys = {}
    for path in paths:
        try:
            key = load_pem_public_key(_read_pem(path))
        except (ValueError, TypeError) as exc:
            raise ValueError(ERR_KEY_FILE.format(path=path, problem=exc)) from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(ERR_NOT_ED25519.format(path=path, kind=type(key).__name__, role="public"))
        keys[key_id(key)] = key
    return keys


def signing_key_from(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Any:
    """The signing key from ``path``, else from ``SVRISK_SIGNING_KEY_FILE``; ``ValueError`` when neither is set."""
    chosen = path or (os.environ if environ is None else environ).get(SIGNING_KEY_ENV, "")
    if not str(chosen).strip():
        raise ValueError(ERR_NO_SIGNING_KEY)
    return load_signing_key(chosen)


def verify_keys_from(value: str | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The verification keys from ``value``, else from ``SVRISK_VERIFY_KEY_FILE``; ``ValueError`` when neither is set."""
    chosen = value or (os.environ if environ is None else environ).get(VERIFY_KEY_ENV, "")
    if not str(chosen).strip():
        raise ValueError(ERR_NO_VERIFY_KEY)
    return load_verify_keys(chosen)


def write_key_pair(folder: str | Path, name: str = "svrisk-signing") -> tuple[Path, Path]:
    """A new Ed25519 pair as ``folder/name.key`` (private) and ``folder/name.pub``, both mode 0600.

    The files are created exclusively with their mode (never widened by the umask
    first, never overwriting an existing key). Returns (private, public).
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    root = Path(folder)
    private_path, public_path = root / f"{name}{PRIVATE_SUFFIX}", root / f"{name}{PUBLIC_SUFFIX}"
    for path in (private_path, public_path):
        if path.exists():
            raise ValueError(ERR_KEY_EXISTS.format(path=path))
    root.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    for path, content in ((private_path, private_pem), (public_path, public_pem)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
    return private_path, public_path


def sign_record(record_text: str, private_key: Any) -> Signature:
    """Sign the gate record's canonical JSON with ``private_key``."""
    value = private_key.sign(_signed_bytes(record_text))
    return Signature(value=base64.b64encode(value).decode("ascii"), key_id=key_id(private_key.public_key()))


def verify_gate_record(tags: Mapping[str, str], name: str, version: str, keys: Mapping[str, Any]) -> dict[str, Any]:
    """Check a version's signed gate verdict against its tags; return the verified record.

    Refused (:class:`SignatureRefused`, a ``ValueError``, saying why) when the
    record or its signature is missing, the key is not among ``keys``, the
    signature does not verify, the record is for another version or artifact,
    it does not clear the version, or a tag that repeats it says otherwise.
    """
    from cryptography.exceptions import InvalidSignature

    where = {"name": name, "version": version}
    record_text = tags.get(TAG_RECORD, "")
    if not record_text:
        raise SignatureRefused(ERR_NO_RECORD.format(**where, tag=TAG_RECORD))
    signature, signed_by = tags.get(TAG_SIGNATURE, ""), tags.get(TAG_SIGNATURE_KEY_ID, "")
    if not signature:
        raise SignatureRefused(ERR_NO_SIGNATURE.format(**where, tag=TAG_SIGNATURE))
    if signed_by not in keys:
        raise SignatureRefused(ERR_UNKNOWN_KEY.format(**where, key_id=signed_by, known=", ".join(sorted(keys))))
    try:
        record = json.loads(record_text)
    except ValueError as exc:
        raise SignatureRefused(ERR_BAD_RECORD.format(**where, problem=exc)) from None
    if not isinstance(record, dict):
        raise SignatureRefused(ERR_BAD_RECORD.format(**where, problem=f"a JSON {type(record).__name__}"))
    try:
        keys[signed_by].verify(base64.b64decode(signature, validate=True), _signed_bytes(record_text))
    except (InvalidSignature, binascii.Error):
        raise SignatureRefused(ERR_BAD_SIGNATURE.format(**where)) from None
    _check_record_matches(record, tags, name, version)
    return record


def _check_record_matches(record: dict[str, Any], tags: Mapping[str, str], name: str, version: str) -> None:
    where = {"name": name, "version": version}
    if (record.get("model_name"), str(record.get("model_version"))) != (name, str(version)):
        raise SignatureRefused(ERR_OTHER_VERSION.format(**where, signed_name=record.get("model_name"),
                                                        signed_version=record.get("model_version")))
    # A missing checksum tag is refused where the artifact is verified (registry.versions).
    if record.get("artifact_sha256") != tags.get(TAG_CHECKSUM, ""):
        raise SignatureRefused(ERR_OTHER_ARTIFACT.format(**where, signed=record.get("artifact_sha256"),
                                                         tagged=tags.get(TAG_CHECKSUM, "")))
    cleared_by = record.get("cleared_by", "")
    if not cleared_by:
        raise SignatureRefused(ERR_NOT_CLEARED.format(**where, verdict=record.get("verdict")))
    repeated = {tag: str(record.get(field_, "")) for tag, field_ in REPEATED_FIELDS.items()}
    repeated[TAG_OVERRIDE] = str(cleared_by == CLEARED_BY_OVERRIDE).lower()
    repeated[TAG_REVIEW_APPROVED] = str(cleared_by == CLEARED_BY_REVIEW_APPROVAL).lower()
    for tag, signed in repeated.items():
        if tag in tags and tags[tag] != signed:
            raise SignatureRefused(ERR_TAG_CONTRADICTS.format(**where, tag=tag, tagged=tags[tag], signed=signed))


def verify_claimed_clearance(tags: Mapping[str, str], name: str, version: str, alias: str | None,
                             environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """For batch scoring: a version that claims to be cleared must prove it.

    A version claims clearance when its ``gate.passed`` tag is ``"true"`` or it
    was reached through the ``champion`` alias; its signed verdict is then
    checked with the keys of ``SVRISK_VERIFY_KEY_FILE`` (refused when none are
    set) and returned. A version that claims nothing (an ungated candidate,
    scored with a warning that says so) returns None.
    """
    if tags.get(TAG_PASSED) != "true" and alias != CHAMPION_ALIAS:
        return None
    return verify_gate_record(tags, name, version, verify_keys_from(None, environ))
