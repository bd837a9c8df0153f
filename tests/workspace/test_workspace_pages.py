"""The workspace in-process over a real champion: sessions, CSRF, the case form, results, reviews."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest

from serving.api_keys import Principal
from serving.audit_trail import AuditTrail
from serving.case_scoring import CaseInput, score_and_audit
from serving.workspace.app import CSP
from serving.workspace.sessions import SESSION_COOKIE
from workspace_client import form_fields, sign_in

pytestmark = [pytest.mark.slow]


def test_workspace_result_equals_post_score(in_process, cases) -> None:
    client, token = sign_in(in_process.app, in_process.keys["practitioner"])
    case = next(c for c in cases if c["police_contacts"] and c["attendance"])
    response = client.post("/app/cases/new", data={**form_fields(case), "csrf_token": token, "action": "score"})
    assert response.status_code == 200, response.text[:2000]
    audit_id = re.search(r"/cases/([0-9a-f-]{36})", str(response.url)).group(1)
    kept = json.loads(in_process.workspace.sessions.result(
        in_process.workspace.sessions.unsign(client.cookies[SESSION_COOKIE]), audit_id
    ))  # fmt: skip
    # The API's step on the same case: the numbers must be equal, not close.
    api = score_and_audit(
        in_process.workspace.model, in_process.workspace.audit, [CaseInput.model_validate(case)],
        Principal(name="api", role="practitioner"),
    )[0].model_dump(mode="json")  # fmt: skip
    for key in ("probability", "band", "percentile", "explanation", "model_version", "person_id", "as_of"):
        assert kept[key] == api[key], key
    html = response.text
    assert f"{100 * api['probability']:.1f}%" in html
    assert f"Band {api['band']} of 10" in html
    for factor in api["explanation"]["raising"] + api["explanation"]["lowering"]:
        assert f"{100 * factor['contribution']:+.2f}" in html
    assert "What this score cannot see" in html and "young people with records like these" in html
    row = AuditTrail(in_process.audit_db).score_row(audit_id)
    assert row.caller == "in-practitioner" and row.probability == api["probability"]
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["cache-control"] == "no-store"
    assert case["person"]["person_id"] not in re.search(r"<title>(.*)</title>", html).group(1)


def test_workspace_bad_input_keeps_what_was_typed(in_process, cases) -> None:
    client, token = sign_in(in_process.app, in_process.keys["practitioner"])
    trail = AuditTrail(in_process.audit_db)
    before = trail.count_scores()
    case = copy.deepcopy(next(c for c in cases if c["police_contacts"]))
    fields = form_fields(case)
    fields["police_contacts-0-occurred_on"] = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    fields["person-imd_decile"] = "11"
    response = client.post("/app/cases/new", data={**fields, "csrf_token": token, "action": "score"})
    assert response.status_code == 422
    html = response.text
    assert "person.imd_decile: Input should be less than or equal to 10" in html
    assert 'value="11"' in html and fields["person-local_authority"] in html
    assert trail.count_scores() == before
    added = client.post("/app/cases/new", data={**fields, "csrf_token": token, "action": "add:referrals"})
    rows = len(case["referrals"]) + 1
    assert added.status_code == 200 and f'name="referrals-rows" value="{rows}"' in added.text
    assert 'value="11"' in added.text  # what was typed survives adding a row


def test_workspace_refuses_missing_csrf_and_stale_session(in_process, cases) -> None:
    trail = AuditTrail(in_process.audit_db)
    client, token = sign_in(in_process.app, in_process.keys["practitioner"])
    before = (trail.count_scores(), len(trail.reviews()))
    fields = {**form_fields(cases[0]), "action": "score"}
    no_token = client.post("/app/cases/new", data=fields)
    assert no_token.status_code == 403 and "Nothing was recorded" in no_token.text
    wrong = client.post("/app/cases/new", data={**fields, "csrf_token": "x" + token})
    assert wrong.status_code == 403
    client.post("/app/signout", data={"csrf_token": token})
    stale = client.post("/app/cases/new", data={**fields, "csrf_token": token})
    assert stale.status_code == 403
    assert client.get("/app/reviews").url.path == "/app/signin"
    assert (trail.count_scores(), len(trail.reviews())) == before


def test_workspace_reviews_are_the_practitioners_own(in_process, cases) -> None:
    client, token = sign_in(in_process.app, in_process.keys["practitioner"])
    scored = client.post("/app/cases/new", data={**form_fields(cases[1]), "csrf_token": token, "action": "score"})
    audit_id = str(scored.url).rsplit("/", 1)[1]
    missing_reason = client.post(f"/app/cases/{audit_id}/review", data={"csrf_token": token, "decision": "escalate"})
    assert missing_reason.status_code == 422 and "reason: required" in missing_reason.text
    done = client.post(f"/app/cases/{audit_id}/review",
                       data={"csrf_token": token, "decision": "agree", "note": "seen with the family"})
    assert done.status_code == 200 and "seen with the family" in done.text
    review_id = str(done.url).rsplit("/", 1)[1]
    assert review_id in client.get("/app/reviews").text
    admin, _ = sign_in(in_process.app, in_process.keys["admin"])
    assert admin.get(f"/app/reviews/{review_id}").status_code == 404
    assert review_id not in admin.get("/app/reviews").text
    assert admin.get(f"/app/cases/{audit_id}").status_code == 404  # another session's result


def test_workspace_roles_see_their_pages_only(in_process) -> None:
    panel, _ = sign_in(in_process.app, in_process.keys["ethics_panel"])
    denied = panel.get("/app/cases/new")
    assert denied.status_code == 403 and "may not see this page" in denied.text
    lead, _ = sign_in(in_process.app, in_process.keys["team_lead"])
    assert lead.get("/app/caseload").status_code == 200
    assert lead.get("/app/cases/new").status_code == 403


def test_workspace_caseload_ranks_within_capacity(in_process, score_file) -> None:
    lead, token = sign_in(in_process.app, in_process.keys["team_lead"])
    with open(score_file, "rb") as handle:
        loaded = lead.post("/app/caseload", data={"csrf_token": token, "source": "upload"},
                           files={"score_file": ("scores.parquet", handle, "application/octet-stream")})  # fmt: skip
    assert loaded.status_code == 200, loaded.text[:1000]
    assert "starting point for discussion, not a decision" in loaded.text
    ranks = [int(r) for r in re.findall(r'/app/caseload/(\d+)"', loaded.text)]
    assert ranks[:3] == [1, 2, 3] and len(ranks) <= in_process.workspace.settings.caseload_capacity
    filtered = lead.get("/app/caseload", params={"band": "10"})
    assert filtered.status_code == 200
    opened = lead.get("/app/caseload/1")
    assert opened.status_code == 200 and "What moved the score" in opened.text
    bad = lead.post("/app/caseload", data={"csrf_token": token, "source": "upload"},
                    files={"score_file": ("x.csv", b"a,b\n1,2\n", "text/csv")})  # fmt: skip
    assert bad.status_code == 422 and "lacks the column" in bad.text


BENTO_LIMITS_CHECK = """
import json, os
from serving.audit_trail import AuditTrail
from serving.model_loader import import_to_bentoml, load_served_model
from serving.settings import ServingSettings
from serving.workspace.app import Workspace
from serving.workspace.model_card_limits import served_card_limits

import_to_bentoml(ServingSettings.from_env())
os.environ["SVRISK_MODEL_SOURCE"] = "bento"
settings = ServingSettings.from_env()
model = load_served_model(settings)
audit = AuditTrail(settings.audit_db)
audit.create_schema()
print(json.dumps({"pages": Workspace(settings, model, audit).limits, "card": served_card_limits(model.card)}))
"""


@pytest.mark.server
def test_a_bento_carries_the_model_card_limits_its_pages_show(champion, tmp_path) -> None:
    """`serve-package`'s copy of the champion keeps the card's limits, and the bento's pages read them."""
    import os
    import subprocess
    import sys

    from served_model import service_env
    from serving.api_keys import new_key

    keys = {"admin": new_key()}
    env = {**os.environ, **service_env(champion, f"sqlite:///{tmp_path / 'audit.db'}", keys, "bento"),
           "BENTOML_HOME": str(tmp_path / "bentoml")}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", BENTO_LIMITS_CHECK], env=env, capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["pages"] and shown["pages"] == shown["card"]
