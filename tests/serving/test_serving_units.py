"""Unit tests of the service's parts that need no model: keys, bands, audit trail, reviews, settings."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from serving.api_keys import (
    ERR_NO_KEY,
    ERR_NO_KEYS,
    ERR_UNKNOWN_KEY,
    KeyRing,
    Permission,
    ROLE_PERMISSIONS,
    hash_key,
    new_key,
)
from serving.audit_trail import ERR_APPEND_ONLY, SCORES, AuditTrail, ScoreRow, new_audit_id, utc_now
from serving.errors import MissingApiKey, RoleNotAllowed, UnknownAuditId
from serving.reviews import ReviewRequest, record_review
from serving.risk_bands import N_BANDS, RiskBands, band_sentence
from serving.settings import ServingSettings


def _entries(**roles: str) -> tuple[list[dict], dict[str, str]]:
    keys = {name: new_key() for name in roles}
    return [
        {"name": name, "role": role, "sha256": hash_key(keys[name])} for name, role in roles.items()
    ], keys


def test_serving_keyring_authenticates_and_authorises(tmp_path: Path) -> None:
    entries, keys = _entries(pat="practitioner", dan="data_scientist")
    (tmp_path / "keys.yaml").write_text(json.dumps({"keys": entries[:1]}))  # YAML accepts JSON
    ring = KeyRing.from_sources(tmp_path / "keys.yaml", json.dumps(entries[1:]))
    pat = ring.authenticate(keys["pat"])
    assert (pat.name, pat.role) == ("pat", "practitioner")
    ring.authorise(pat, Permission.SCORE)
    with pytest.raises(RoleNotAllowed, match="may not score_batch") as denied:
        ring.authorise(pat, Permission.SCORE_BATCH)
    assert denied.value.error_code == 403
    with pytest.raises(MissingApiKey, match=ERR_NO_KEY) as missing:
        ring.authenticate(None)
    assert missing.value.error_code == 401
    with pytest.raises(MissingApiKey, match=ERR_UNKNOWN_KEY):
        ring.authenticate(keys["pat"] + "x")
    assert ring.authenticate(keys["dan"]).role == "data_scientist"


def test_serving_roles_match_the_issue() -> None:
    assert ROLE_PERMISSIONS["practitioner"] == {Permission.SCORE, Permission.REVIEW_WRITE}
    assert ROLE_PERMISSIONS["data_scientist"] == {Permission.MODEL_INFO, Permission.SCORE_BATCH}
    assert Permission.REVIEW_READ in ROLE_PERMISSIONS["ethics_panel"]
    assert Permission.SCORE not in ROLE_PERMISSIONS["ethics_panel"]
    assert ROLE_PERMISSIONS["admin"] == set(Permission)


def test_serving_keyring_refuses_bad_configuration() -> None:
    with pytest.raises(ValueError, match="no API keys configured"):
        KeyRing.from_sources(None, None)
    assert "SVRISK_API_KEYS_FILE" in ERR_NO_KEYS
    with pytest.raises(ValueError, match=r"keys\.0\.role"):
        KeyRing.from_sources(None, json.dumps([{"name": "x", "role": "boss", "sha256": "0" * 64}]))
    with pytest.raises(ValueError, match="SVRISK_API_KEYS"):
        KeyRing.from_sources(None, "{not json")
    entries, _ = _entries(a="admin")
    with pytest.raises(ValueError, match="twice"):
        KeyRing.from_sources(None, json.dumps(entries + [{**entries[0], "name": "b"}]))


def test_serving_bands_are_reference_deciles() -> None:
    reference = np.random.default_rng(0).beta(1, 12, size=10_000)
    bands = RiskBands(reference)
    assigned = bands.band(reference)
    counts = np.bincount(assigned, minlength=11)[1:]
    assert assigned.min() == 1 and assigned.max() == 10
    assert np.all(np.abs(counts - 1000) <= 1)  # a tenth of the reference population each
    assert bands.band([0.0, 1.0]).tolist() == [1, 10]
    # A probability on a cut-off belongs to the higher band.
    assert bands.band([bands.cutoffs[4]]).tolist() == [6]
    described = bands.describe()
    assert [d["band"] for d in described] == list(range(1, 11))
    assert described[0]["lower"] is None and described[-1]["upper"] is None
    assert described[5]["lower"] == pytest.approx(np.quantile(reference, 0.5))
    for bad in ([], [0.2, np.nan], [1.5], [[0.1, 0.2]]):
        with pytest.raises(ValueError, match="reference probabilities"):
            RiskBands(bad)


def _row(audit_id: str | None = None, version: str = "3") -> ScoreRow:
    return ScoreRow(
        audit_id=audit_id or new_audit_id(),
        created_at=utc_now(),
        caller="pat",
        role="practitioner",
        person_id="P1",
        as_of=dt.date(2024, 4, 1),
        model_version=version,
        probability=0.12,
        band=7,
    )


def test_serving_audit_trail_appends_and_refuses_changes(tmp_path: Path) -> None:
    trail = AuditTrail(f"sqlite:///{tmp_path / 'audit.db'}")
    trail.create_schema()
    trail.create_schema()  # idempotent: every worker runs it at start
    rows = [_row() for _ in range(3)]
    trail.append_scores(rows)
    assert trail.count_scores() == 3
    stored = trail.score_row(rows[1].audit_id)
    assert stored is not None and stored.person_id == "P1" and stored.band == 7
    assert trail.score_row(new_audit_id()) is None
    for statement in (SCORES.delete(), SCORES.update().values(band=1)):
        with pytest.raises(sa.exc.IntegrityError, match=ERR_APPEND_ONLY):
            with trail.engine.begin() as conn:
                conn.execute(statement)
    assert trail.count_scores() == 3
    with trail.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    trail.dispose()


def test_serving_reviews_validate_and_reference_existing_scores(tmp_path: Path) -> None:
    from serving.api_keys import Principal

    trail = AuditTrail(f"sqlite:///{tmp_path / 'audit.db'}")
    trail.create_schema()
    scored = _row(version="5")
    trail.append_scores([scored])
    principal = Principal(name="pat", role="practitioner")
    record = record_review(
        trail,
        ReviewRequest(audit_id=scored.audit_id, decision="disagree", reason="knows family", practitioner_band=3),
        principal,
    )
    assert record.model_version == "5" and record.practitioner_band == 3
    # A second review of the scoring supersedes the first (issue 21 item 6).
    record_review(trail, ReviewRequest(audit_id=scored.audit_id, decision="agree", reason="ok",
                                       supersedes=record.review_id), principal)  # fmt: skip
    with pytest.raises(UnknownAuditId) as unknown:
        record_review(trail, ReviewRequest(audit_id=uuid.uuid4(), decision="agree", reason="x"), principal)
    assert unknown.value.error_code == 404
    assert [r["decision"] for r in trail.reviews()] == ["disagree", "agree"]
    assert [r["decision"] for r in trail.reviews(decision="agree")] == ["agree"]
    assert trail.reviews(model_version="4") == []
    assert len(trail.reviews(since=utc_now() - dt.timedelta(minutes=5), until=utc_now())) == 2
    assert trail.reviews(until=utc_now() - dt.timedelta(minutes=5)) == []
    for bad, problem in (
        ({"decision": "disagree", "reason": "x"}, "practitioner_band: required"),
        ({"decision": "agree", "reason": "x", "practitioner_band": 2}, "only when"),
        ({"decision": "maybe", "reason": "x"}, "decision"),
        # Issue 14: a reason is required to disagree or escalate, optional otherwise.
        ({"decision": "escalate", "reason": "   "}, "reason: required"),
        ({"decision": "disagree", "reason": "x", "practitioner_band": 11}, "practitioner_band"),
        # Issue 21: bounded free text; NUL fails a PostgreSQL insert.
        ({"decision": "escalate", "reason": "x" * 4001}, "reason"),
        ({"decision": "escalate", "reason": "knows\x00family"}, "reason"),
        ({"decision": "agree", "note": "ok\x07"}, "note"),
    ):
        with pytest.raises(ValidationError, match=problem):
            ReviewRequest(audit_id=scored.audit_id, **bad)
    # A practitioner's reasons keep their line breaks and tabs.
    assert ReviewRequest(audit_id=scored.audit_id, decision="escalate", reason="a\r\n\tb").reason == "a\r\n\tb"


def test_serving_settings_from_environment(tmp_path: Path) -> None:
    settings = ServingSettings.from_env({"SVRISK_HOME": str(tmp_path), "SVRISK_MODEL_VERSION": "4"})
    assert settings.model_version == 4 and settings.model_alias == "champion"
    assert settings.audit_db == f"sqlite:///{tmp_path / 'svrisk_audit.db'}"
    assert settings.max_batch == 500
    with pytest.raises(ValueError, match="SVRISK_MAX_BATCH"):
        ServingSettings.from_env({"SVRISK_MAX_BATCH": "0"})
    with pytest.raises(ValueError, match="SVRISK_MODEL_SOURCE"):
        ServingSettings.from_env({"SVRISK_MODEL_SOURCE": "s3"})


def test_serving_band_is_worded_as_a_ranking_never_high_or_low():
    for band in range(1, N_BANDS + 1):
        sentence = band_sentence(band, band * 10 - 5)
        assert sentence.startswith(f"band {band} of 10 among young people in the reference population")
        assert "high" not in sentence.lower() and "low" not in sentence.lower().replace("lower", "")


def test_serving_workers_cap_malloc_arenas_unless_the_operator_sets_it() -> None:
    import yaml

    from serving.client import MALLOC_ARENAS, workers_env

    assert workers_env(4, {}) == {"BENTOML_CONFIG_OPTIONS": "services.svrisk.workers=4", "MALLOC_ARENA_MAX": MALLOC_ARENAS}
    assert workers_env(2, {"MALLOC_ARENA_MAX": "8"})["MALLOC_ARENA_MAX"] == "8"
    # A built bento's workers get the same cap.
    bentofile = yaml.safe_load((Path(__file__).parents[2] / "bentofile.yaml").read_text())
    assert {"name": "MALLOC_ARENA_MAX", "value": MALLOC_ARENAS} in bentofile["envs"]
