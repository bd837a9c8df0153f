"""API keys with expiry dates and revocation, read again when the key file changes (issue 19)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from serving.api_keys import (
    ERR_KEY_EXPIRED,
    ERR_KEY_REVOKED,
    ERR_KEYS_UNREADABLE,
    ERR_UNKNOWN_KEY,
    KeyEntry,
    KeyRing,
    hash_key,
    new_key,
)
from serving.errors import KeysUnavailable, MissingApiKey

TODAY = dt.datetime.now(dt.UTC).date()


def _write(path: Path, entries: list[dict]) -> None:
    # Write then rename, as docs/serving.md asks, and move the mtime on: two writes within
    # the clock's resolution must still be seen as a change (the ring also compares size).
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"keys": entries}))
    os.replace(tmp, path)


def _entry(name: str, key: str, **extra: object) -> dict:
    return {"name": name, "role": "practitioner", "sha256": hash_key(key), **extra}


def test_keys_expired_and_revoked_entries_get_401() -> None:
    keys = {name: new_key() for name in ("valid", "tomorrow", "today", "past", "revoked")}
    entries = [
        _entry("valid", keys["valid"]),
        _entry("tomorrow", keys["tomorrow"], expires=str(TODAY + dt.timedelta(days=1))),
        _entry("today", keys["today"], expires=str(TODAY)),
        _entry("past", keys["past"], expires="2020-01-01"),
        _entry("revoked", keys["revoked"], revoked=True),
    ]
    ring = KeyRing.from_sources(None, json.dumps(entries))
    assert ring.authenticate(keys["valid"]).name == "valid"
    assert ring.authenticate(keys["tomorrow"]).name == "tomorrow"
    # From the expiry day on the key is refused.
    with pytest.raises(MissingApiKey, match=ERR_KEY_EXPIRED.format(date=TODAY)) as expired:
        ring.authenticate(keys["today"])
    assert expired.value.error_code == 401
    with pytest.raises(MissingApiKey, match="expired on 2020-01-01"):
        ring.authenticate(keys["past"])
    with pytest.raises(MissingApiKey, match=ERR_KEY_REVOKED) as revoked:
        ring.authenticate(keys["revoked"])
    assert revoked.value.error_code == 401


def test_keys_entry_refuses_a_bad_expiry_or_unknown_field() -> None:
    with pytest.raises(ValueError, match="expires"):
        KeyEntry(name="a", role="admin", sha256="0" * 64, expires="next week")
    with pytest.raises(ValueError, match="Extra inputs"):
        KeyEntry(name="a", role="admin", sha256="0" * 64, revoked_by="me")


def test_keys_file_changes_are_seen_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    old, new = new_key(), new_key()
    _write(path, [_entry("a.smith", old)])
    ring = KeyRing.from_sources(path, None)
    assert ring.authenticate(old).name == "a.smith"
    # Rotation: the new key added, then the old one revoked; each edit counts at once.
    _write(path, [_entry("a.smith", old), _entry("a.smith", new, expires="2099-01-01")])
    assert ring.authenticate(new).name == "a.smith"
    assert ring.authenticate(old).name == "a.smith"
    _write(path, [_entry("a.smith", old, revoked=True), _entry("a.smith", new, expires="2099-01-01")])
    with pytest.raises(MissingApiKey, match=ERR_KEY_REVOKED):
        ring.authenticate(old)
    assert ring.authenticate(new).name == "a.smith"
    # Removed from the file altogether: unknown.
    _write(path, [_entry("a.smith", new)])
    with pytest.raises(MissingApiKey, match=ERR_UNKNOWN_KEY):
        ring.authenticate(old)


def test_keys_a_broken_key_file_refuses_every_key_until_fixed(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    key = new_key()
    _write(path, [_entry("a.smith", key)])
    ring = KeyRing.from_sources(path, None)
    path.write_text("keys: [unclosed")
    # Fail closed: the broken edit may have been meant to revoke this very key.
    with pytest.raises(KeysUnavailable, match="cannot be used") as broken:
        ring.authenticate(key)
    assert broken.value.error_code == 503
    assert ERR_KEYS_UNREADABLE == broken.value.message
    path.unlink()
    with pytest.raises(KeysUnavailable):
        ring.authenticate(key)
    _write(path, [_entry("a.smith", key)])
    assert ring.authenticate(key).name == "a.smith"


def test_keys_serve_key_prints_an_expiry_and_refuses_a_past_one() -> None:
    from svrisk.cli import app

    runner = CliRunner()
    done = runner.invoke(app, ["serve-key", "--name", "a.smith", "--role", "practitioner",
                               "--expires", "2099-06-30"])  # fmt: skip
    assert done.exit_code == 0, done.output
    entry_text = done.output.split("(under `keys:`):\n", 1)[1]
    entry = yaml.safe_load(entry_text)[0]
    assert entry["expires"] == dt.date(2099, 6, 30)
    key = done.output.split("shown once): ", 1)[1].split()[0]
    assert KeyEntry(**entry).sha256 == hash_key(key)
    past = runner.invoke(app, ["serve-key", "--name", "a", "--role", "admin", "--expires", "2020-01-01"])
    assert past.exit_code == 1
    assert "not after today" in past.output
    bad = runner.invoke(app, ["serve-key", "--name", "a", "--role", "admin", "--expires", "soon"])
    assert bad.exit_code == 1
    assert "expires" in bad.output
