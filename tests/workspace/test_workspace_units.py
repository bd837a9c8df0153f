"""The workspace's parts that need no model: wording, the form, sessions, reviews, the card's limits."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from features.single_case import SingleCase
from serving.api_keys import ROLE_PERMISSIONS, Permission, Principal, hash_key
from serving.audit_trail import SCORES, AuditTrail
from serving.reviews import ERR_REASON_REQUIRED, ReviewRequest
from serving.workspace.case_form import CaseForm, apply_action, from_case, read_form, to_case
from serving.workspace.model_card_limits import ERR_NO_LIMITS, card_limits
from serving.workspace.sessions import SessionStore, tokens_match

CASE = {
    "as_of": "2023-04-01",
    "person": {"person_id": "p1", "birth_month": "2008-05-01", "sex": "male", "ethnicity": "white",
               "imd_decile": 3, "sen": "none", "local_authority": "coventry"},
    "adversity": [{"recorded_on": "2019-03-04", "ace_type": "domestic_abuse", "source": "police"}],
    "care_episodes": [{"start_on": "2019-04-01", "end_on": None, "episode": "early_help"}],
    "attendance": [], "exclusions": [{"excluded_on": "2020-02-03", "exclusion": "suspension", "days": 2.5}],
    "education_status": [], "health_events": [], "referrals": [],
    "police_contacts": [{"occurred_on": "2021-05-05", "role": "suspect", "category": "robbery"},
                        {"occurred_on": "2022-01-05", "role": "victim", "category": "other"}],
}  # fmt: skip


def test_workspace_form_round_trips_a_case() -> None:
    form = from_case(CASE)
    assert form.values["person-birth_month"] == "2008-05"  # a month input
    posted = {**form.values, **{f"{t}-rows": str(n) for t, n in form.rows.items()}, "action": "score"}
    again, action = read_form(posted)
    # Columns the case leaves out (nullable, e.g. added by a later contract) come back as None.
    assert action == "score"
    assert SingleCase.model_validate(to_case(again)) == SingleCase.model_validate(CASE)


def test_workspace_rows_are_added_and_removed_keeping_values() -> None:
    form = from_case(CASE)
    assert apply_action(form, "remove:police_contacts:0")
    assert form.rows["police_contacts"] == 1
    assert form.values["police_contacts-0-role"] == "victim"
    assert "police_contacts-1-role" not in form.values
    assert apply_action(form, "add:referrals") and form.rows["referrals"] == 1
    assert not apply_action(form, "score") and not apply_action(form, "add:people")
    assert apply_action(form, "remove:adversity:7") and form.rows["adversity"] == 1


def test_workspace_read_form_ignores_unknown_fields_and_bad_counts() -> None:
    form, _ = read_form({"adversity-rows": "-3", "police_contacts-rows": "9999", "evil": "x"})
    assert form.rows["adversity"] == 0 and form.rows["police_contacts"] == 50
    assert "evil" not in form.values
    assert isinstance(from_case([1, 2]), CaseForm) and from_case([1, 2]).general_errors


def test_workspace_sessions_expire_and_end(tmp_path: Path) -> None:
    trail = AuditTrail(f"sqlite:///{tmp_path / 'audit.db'}")
    trail.create_schema()
    store = SessionStore(trail.engine, dt.timedelta(minutes=30))
    store.create_schema()
    other = SessionStore(trail.engine, dt.timedelta(minutes=30))
    other.create_schema()  # a second worker: same signing secret
    session = store.start(Principal(name="a", role="practitioner"), hash_key("a-key"))
    cookie = store.sign(session.session_id)
    assert other.find(cookie).principal.name == "a"
    assert store.find(cookie[:-2] + "xx") is None and store.find(None) is None
    store.keep_result(session.session_id, "id-1", "{}")
    with trail.engine.begin() as conn:
        conn.execute(sa.text("UPDATE workspace_sessions SET last_seen = :t"),
                     {"t": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)})  # fmt: skip
    assert store.find(cookie) is None  # idle past the limit: gone, with what it kept
    assert store.result(session.session_id, "id-1") is None
    again = store.start(Principal(name="a", role="practitioner"), hash_key("a-key"))
    store.end(again.session_id)
    assert store.find(store.sign(again.session_id)) is None
    assert tokens_match("abc", "abc") and not tokens_match("abc", "") and not tokens_match(None, None)


def test_workspace_reviews_need_a_reason_to_disagree_or_escalate() -> None:
    audit_id = uuid.uuid4()
    assert ReviewRequest(audit_id=audit_id, decision="agree").reason == ""
    for decision, extra in (("escalate", {}), ("disagree", {"practitioner_band": 2})):
        with pytest.raises(ValidationError, match=ERR_REASON_REQUIRED.split(":")[0]):
            ReviewRequest(audit_id=audit_id, decision=decision, reason="  ", **extra)


def test_workspace_audit_trail_gains_the_note_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    SCORES.create(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE reviews (review_id VARCHAR(36) PRIMARY KEY, audit_id VARCHAR(36), "
            "created_at DATETIME, caller VARCHAR(200), role VARCHAR(40), decision VARCHAR(20), "
            "reason TEXT, practitioner_band INTEGER, model_version VARCHAR(40))"
        )
    trail = AuditTrail(url)
    trail.create_schema()
    trail.create_schema()  # a second start-up finds the column and adds nothing
    assert "note" in {c["name"] for c in sa.inspect(engine).get_columns("reviews")}
    trail.dispose()
    engine.dispose()


def test_workspace_team_lead_role() -> None:
    assert ROLE_PERMISSIONS["team_lead"] == {Permission.CASELOAD, Permission.REVIEW_READ}
    assert Permission.CASELOAD in ROLE_PERMISSIONS["admin"]


def test_workspace_card_limits_from_the_template(project_root: Path) -> None:
    limits = card_limits((project_root / "docs" / "model-card-template.md").read_text())
    assert limits[0].startswith("The outcome is what the partner records show")
    assert any("few records" in item for item in limits)
    with pytest.raises(ValueError, match=ERR_NO_LIMITS.split(" ")[0]):
        card_limits("# a card\n\nnothing here")


def test_workspace_import_registers_no_url_convertor() -> None:
    # A fresh interpreter: this process may have built the app already.
    import subprocess
    import sys

    check = (
        "import serving.workspace.app as m\n"
        "from starlette.convertors import CONVERTOR_TYPES\n"
        "assert 'uuid_text' not in CONVERTOR_TYPES, 'registered at import'\n"
        "m.build_workspace_app(lambda: None)\n"
        "assert 'uuid_text' in CONVERTOR_TYPES, 'not registered by the app'\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", check], cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_workspace_result_copies_skip_the_fsync_and_are_read_back_across_workers(tmp_path: Path) -> None:
    trail = AuditTrail(f"sqlite:///{tmp_path / 'audit.db'}")
    trail.create_schema()
    store = SessionStore(trail.engine, dt.timedelta(minutes=30))
    store.create_schema()
    other = SessionStore(trail.engine, dt.timedelta(minutes=30))  # a second worker
    other.create_schema()
    with store.copies.connect() as copies, store.engine.connect() as records:
        # SQLite: 1 is NORMAL (no fsync at commit in WAL), 2 is FULL (the audit trail and sessions).
        assert copies.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert records.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    session = store.start(Principal(name="a", role="practitioner"), hash_key("a-key"))
    store.keep_result(session.session_id, "id-1", '{"n": 1}')
    assert store.result(session.session_id, "id-1") == '{"n": 1}'  # this worker's copy
    assert other.result(session.session_id, "id-1") == '{"n": 1}'  # the database
    assert other.result("another session", "id-1") is None
    store.end(session.session_id)
    assert store.result(session.session_id, "id-1") is None and other.result(session.session_id, "id-1") is None


def test_workers_starting_together_create_the_session_tables_once(trail_url) -> None:
    # Workers start at the same moment; create_all's check-then-create let one fail with
    # "table workspace_sessions already exists". All must start and share one secret.
    import threading

    engine = sa.create_engine(trail_url)
    stores = [SessionStore(engine, dt.timedelta(minutes=30)) for _ in range(6)]
    start, errors = threading.Barrier(len(stores)), []

    def start_worker(store: SessionStore) -> None:
        start.wait()
        try:
            store.create_schema()
        except Exception as exc:  # the test reports every worker's failure, not the first only
            errors.append(exc)

    threads = [threading.Thread(target=start_worker, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    assert len({store.sign("x") for store in stores}) == 1


def test_workspace_result_copies_wait_the_services_busy_timeout(tmp_path: Path) -> None:
    # The copies' engine is a second engine on the file: it must wait as long as the first.
    trail = AuditTrail(f"sqlite:///{tmp_path / 'audit.db'}", busy_timeout_ms=1234)
    store = SessionStore(trail.engine, dt.timedelta(minutes=30), busy_timeout_ms=1234)
    with store.copies.connect() as copies, store.engine.connect() as records:
        assert copies.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        assert records.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    store.copies.dispose()
    trail.dispose()
