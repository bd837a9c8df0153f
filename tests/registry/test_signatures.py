"""Signed gate verdicts: keys, signing and every way a hand-made verdict is refused (no MLflow)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from registry.names import (
    TAG_APPROVER,
    TAG_CHECKSUM,
    TAG_OVERRIDE,
    TAG_PASSED,
    TAG_RECORD,
    TAG_REVIEW_APPROVED,
    TAG_SIGNATURE,
    TAG_SIGNATURE_KEY_ID,
    TAG_VERDICT,
)
from registry.signatures import (
    ERR_NO_SIGNING_KEY,
    ERR_NO_VERIFY_KEY,
    SIGNING_KEY_ENV,
    VERIFY_KEY_ENV,
    SignatureRefused,
    canonical_json,
    key_id,
    load_signing_key,
    load_verify_keys,
    sign_record,
    signing_key_from,
    verify_claimed_clearance,
    verify_gate_record,
    write_key_pair,
)

SHA = "ab" * 32


def _record(**changes: object) -> dict:
    record = {"model_name": "svrisk", "model_version": "2", "artifact_sha256": SHA, "verdict": "FAIL",
              "policy_version": "1.2", "cleared_by": "override", "approver": "J. Smith", "reason": "panel minute",
              "checked_at": "2026-12-02T07:00:00+00:00", "format": 1}
    return {**record, **changes}


def _published(private_key, **changes: object) -> dict[str, str]:
    """The tags `svrisk publish` writes for a record (its repeated fields and the signature)."""
    record = _record(**changes)
    text = canonical_json(record)
    return {TAG_CHECKSUM: record["artifact_sha256"], TAG_PASSED: "true", TAG_VERDICT: record["verdict"],
            TAG_APPROVER: record["approver"], TAG_OVERRIDE: str(record["cleared_by"] == "override").lower(),
            TAG_REVIEW_APPROVED: "false", TAG_RECORD: text, **sign_record(text, private_key).tags()}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict[str, object]]:
    private, public = write_key_pair(tmp_path_factory.mktemp("keys"))
    return load_signing_key(private), load_verify_keys([public])


def test_key_pair_files_are_private_never_overwritten_and_named_by_key_id(tmp_path: Path) -> None:
    private, public = write_key_pair(tmp_path / "keys", "gate-2026")
    assert (private.name, public.name) == ("gate-2026.key", "gate-2026.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and stat.S_IMODE(public.stat().st_mode) == 0o600
    signing = load_signing_key(private)
    (found,) = load_verify_keys(str(public))
    assert found == key_id(signing.public_key()) and len(found) == 16
    with pytest.raises(ValueError, match="already exists"):
        write_key_pair(tmp_path / "keys", "gate-2026")
    # A public key is not a signing key, and an Ed448 key is not an Ed25519 key.
    with pytest.raises(ValueError, match="cannot read the key file"):
        load_signing_key(public)
    from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    other = tmp_path / "ed448.key"
    other.write_bytes(Ed448PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        load_signing_key(other)
    with pytest.raises(ValueError, match="cannot read the key file .*missing.pub"):
        load_verify_keys([tmp_path / "missing.pub"])


def test_keys_come_from_the_environment_or_are_refused_by_name(tmp_path: Path, monkeypatch) -> None:
    private, public = write_key_pair(tmp_path)
    monkeypatch.delenv(SIGNING_KEY_ENV)
    with pytest.raises(ValueError, match="no signing key") as refused:
        signing_key_from(None)
    assert str(refused.value) == ERR_NO_SIGNING_KEY
    assert key_id(signing_key_from(private).public_key()) in load_verify_keys([public])
    monkeypatch.delenv(VERIFY_KEY_ENV)
    with pytest.raises(ValueError, match="no verification key") as missing:
        verify_claimed_clearance({TAG_PASSED: "true"}, "svrisk", "2", None)
    assert str(missing.value) == ERR_NO_VERIFY_KEY
    # Rotation: several public keys, separated like PATH; each is known by its id.
    _, second = write_key_pair(tmp_path, "next")
    monkeypatch.setenv(VERIFY_KEY_ENV, f"{public}:{second}")
    assert len(load_verify_keys(f"{public}:{second}")) == 2


def test_a_published_verdict_verifies_and_returns_its_record(pair) -> None:
    private, keys = pair
    tags = _published(private)
    assert verify_gate_record(tags, "svrisk", "2", keys) == _record()
    # Only the content is signed, not its spelling: the same record with spaces still verifies.
    spaced = {**tags, TAG_RECORD: json.dumps(_record(), indent=1)}
    assert verify_gate_record(spaced, "svrisk", "2", keys)["approver"] == "J. Smith"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t, s: {k: v for k, v in t.items() if k != TAG_RECORD}, "has no signed gate record"),
        (lambda t, s: {**t, TAG_SIGNATURE: ""}, "no signature .*unsigned"),
        (lambda t, s: {**t, TAG_SIGNATURE_KEY_ID: "0" * 16}, "signed with key '0{16}', which is not among"),
        (lambda t, s: {**t, TAG_RECORD: canonical_json(_record(approver="someone else"))},
         "signature does not match its gate record"),
        (lambda t, s: {**t, TAG_SIGNATURE: "not base64!"}, "signature does not match"),
        (lambda t, s: {**t, TAG_RECORD: "[1, 2]"}, "not a JSON record"),
        (lambda t, s: {**t, TAG_CHECKSUM: "cd" * 32}, "covers artifact sha256 ab.*but the version's artifact_sha256"),
        (lambda t, s: {**t, TAG_APPROVER: "someone else"}, "tag gate.approver is 'someone else' but the signed"),
        (lambda t, s: {**t, TAG_VERDICT: "PASS"}, "tag gate.verdict is 'PASS'"),
        (lambda t, s: {**t, TAG_OVERRIDE: "false"}, "tag gate.override is 'false'"),
        # A real signature, but for another version, or for a verdict that cleared nothing.
        (lambda t, s: _published(s, model_version="1"), "record is for svrisk version 1, not this version"),
        (lambda t, s: {**_published(s, artifact_sha256="cd" * 32), TAG_CHECKSUM: SHA}, "covers artifact sha256 cd"),
        (lambda t, s: _published(s, cleared_by="", approver="", verdict="FAIL"), "not cleared for service"),
    ],
    ids=["no-record", "no-signature", "unknown-key", "record-edited", "garbage-signature", "record-not-object",
         "checksum-tag-edited", "approver-tag-edited", "verdict-tag-edited", "override-tag-edited",
         "other-version", "other-artifact", "not-cleared"],
)
def test_hand_edited_verdicts_are_refused_saying_why(pair, edit, message) -> None:
    private, keys = pair
    with pytest.raises(SignatureRefused, match=message):
        verify_gate_record(edit(_published(private), private), "svrisk", "2", keys)


def test_a_signature_by_another_key_is_refused(pair, tmp_path: Path) -> None:
    _, keys = pair
    stranger = load_signing_key(write_key_pair(tmp_path)[0])
    with pytest.raises(SignatureRefused, match="not among the verification keys"):
        verify_gate_record(_published(stranger), "svrisk", "2", keys)
    # The stranger claims the trusted key's id: the signature itself then fails.
    forged = {**_published(stranger), TAG_SIGNATURE_KEY_ID: next(iter(keys))}
    with pytest.raises(SignatureRefused, match="signature does not match"):
        verify_gate_record(forged, "svrisk", "2", keys)


def test_only_versions_that_claim_clearance_must_prove_it(pair, gate_keys) -> None:
    private, _ = pair
    # An ungated candidate claims nothing: scored with a warning, no signature needed.
    assert verify_claimed_clearance({TAG_CHECKSUM: SHA}, "svrisk", "2", "candidate") is None
    with pytest.raises(SignatureRefused, match="no signed gate record"):
        verify_claimed_clearance({TAG_CHECKSUM: SHA, TAG_PASSED: "true"}, "svrisk", "2", None)
    with pytest.raises(SignatureRefused, match="no signed gate record"):
        verify_claimed_clearance({TAG_CHECKSUM: SHA}, "svrisk", "2", "champion")
    # Signed by the session's key (the one SVRISK_VERIFY_KEY_FILE names), it verifies.
    session_key = load_signing_key(gate_keys[0])
    assert verify_claimed_clearance(_published(session_key), "svrisk", "2", "champion") == _record()
    with pytest.raises(SignatureRefused, match="not among the verification keys"):
        verify_claimed_clearance(_published(private), "svrisk", "2", "champion")


def test_signing_keygen_command_writes_a_private_pair_once(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from svrisk.cli import app

    runner = CliRunner()
    made = runner.invoke(app, ["signing-keygen", "--out", str(tmp_path / "k"), "--name", "gate-2026"])
    assert made.exit_code == 0, made.output
    private, public = tmp_path / "k" / "gate-2026.key", tmp_path / "k" / "gate-2026.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    (found,) = load_verify_keys([public])
    assert f"key id: {found}" in made.output and str(private) in made.output
    again = runner.invoke(app, ["signing-keygen", "--out", str(tmp_path / "k"), "--name", "gate-2026"])
    assert again.exit_code == 2 and "already exists" in again.output and "Traceback" not in again.output
