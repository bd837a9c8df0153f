"""The papers of a real gated champion: every generated fact equals its recorded source."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from typer.testing import CliRunner

from registry.names import (
    MODEL_NAME,
    TAG_CHECKED_AT,
    TAG_CHECKSUM,
    TAG_OVERRIDE,
    TAG_PASSED,
    TAG_POLICY_VERSION,
    TAG_REVIEW_APPROVED,
    TAG_SIGNATURE,
    TAG_SIGNATURE_KEY_ID,
    TAG_VERDICT,
)
from registry.signatures import VERIFY_KEY_ENV, write_key_pair
from svrisk.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture
def facts(champion_store):
    from mlflow import MlflowClient

    from governance.facts import read_facts

    return read_facts(MlflowClient())


def _audit_document(champion_store, facts):
    """The audit.json the gate logged, downloaded independently of governance.facts."""
    import mlflow

    report = facts.tags["gate.report"]
    run_id = report.removeprefix("runs:/").split("/")[0]
    return json.loads(mlflow.artifacts.load_text(f"runs:/{run_id}/fairness/audit.json"))


def test_governance_facts_are_the_recorded_ones(champion_store, facts):
    from mlflow import MlflowClient

    client = MlflowClient()
    mv = client.get_model_version_by_alias(MODEL_NAME, "champion")
    run = client.get_run(mv.run_id)
    assert facts.version == str(mv.version) and facts.run_id == mv.run_id
    assert facts.tags == dict(mv.tags) and facts.params == dict(run.data.params)
    assert facts.audit == _audit_document(champion_store, facts)
    import mlflow

    logged = yaml.safe_load(mlflow.artifacts.load_text(f"runs:/{mv.run_id}/features/dictionary.yaml"))
    assert facts.dictionary == logged


def test_governance_atrs_fields_equal_their_sources(facts):
    from governance.papers import atrs_record

    record = atrs_record(facts).json_fields()
    params, tags, audit = facts.params, facts.tags, facts.audit
    meta = record["metadata"]
    assert meta["model_version"] == facts.version and meta["artifact_sha256"] == tags[TAG_CHECKSUM]
    assert meta["training_run_id"] == facts.run_id and meta["organisation"] is None
    spec = record["tool_specification"]
    assert spec["outcome_definition"] == facts.outcome["description"]
    assert spec["data_quantity"] == {"train": params["n_train"], "validation": params["n_validation"],
                                     "test": params["n_test"], "features": params["n_features"]}
    snapshots = params["split_train"].split(",")
    assert spec["training_data_period"] == f"{snapshots[0]} to {snapshots[-1]} ({len(snapshots)} snapshots)"
    assert spec["model_performance"] == audit["model_card"]["performance"]
    assert spec["baselines"] == {k: v for k, v in facts.metrics["test"].items() if k.startswith("baseline_")}
    assert spec["baselines"], "training records rule baselines"
    # Inputs by family: exactly the dictionary's non-protected entries (none listed in include_protected).
    expected: dict[str, list[str]] = {}
    for entry in facts.dictionary["features"]:
        if not entry.get("protected"):
            expected.setdefault(entry["family"], []).append(entry["name"])
    assert spec["model_inputs"] == expected
    risks = record["risks_mitigations_and_impact_assessments"]
    assert risks["gate_verdict"] == tags[TAG_VERDICT]
    assert risks["gate_policy_version"] == tags[TAG_POLICY_VERSION]
    assert risks["gate_checked_at"] == tags[TAG_CHECKED_AT]
    assert risks["gate_cleared"] == (tags[TAG_PASSED] == "true") is True
    assert risks["gate_override"] == (tags[TAG_OVERRIDE] == "true")
    assert risks["gate_review_approved"] == (tags[TAG_REVIEW_APPROVED] == "true")
    assert params["include_protected"] == "none"
    assert risks["protected_characteristics_as_inputs"] == "none: audited only, never model inputs"
    assert record["owner_and_responsibility"] == dict.fromkeys(record["owner_and_responsibility"])
    from typing import get_args

    from serving.reviews import Decision

    review = record["decision_making_process"]["human_decisions_and_review"]
    assert all(option.replace("_", " ") in review for option in get_args(Decision))


def test_governance_eia_tables_are_the_audit_rows(facts):
    from governance.papers import GROUP_METRICS, NOT_HELD_CHARACTERISTICS, equality_impact

    paper = equality_impact(facts)
    by_key = {s.key: s for s in paper.sections}
    audited = {r["attribute"] for r in facts.audit["rows"]}
    for characteristic, column in (("age", "age_band"), ("sex", "sex"), ("race", "ethnicity"), ("disability", "sen")):
        section = by_key[characteristic]
        if column not in audited:
            continue
        table = section.tables[0]
        rows = [r for r in facts.audit["rows"] if r["attribute"] == column]
        assert len(table["rows"]) == len(rows)
        for cells, row in zip(table["rows"], rows, strict=True):
            shown = dict(zip(table["header"], cells, strict=True))
            assert shown["group"] == row["group"] and shown["threshold"] == str(row["threshold"])
            for metric in GROUP_METRICS:
                if row[metric] is not None:
                    assert shown[metric].startswith(f"{row[metric]:.3f}")
                    if row[f"{metric}_ci_low"] is not None:
                        assert f"({row[f'{metric}_ci_low']:.3f} to {row[f'{metric}_ci_high']:.3f})" in shown[metric]
    assert {"age_band", "sex", "ethnicity", "sen"} & audited, "the default policy audits protected characteristics"
    decision = {f.key: f.value for f in by_key["decision"].fields}
    assert decision["headline"] == facts.audit["verdict"]["headline"]
    assert decision["decision_rule"] == facts.audit["decision_rule_text"]
    not_held = {f.label.lower() for f in by_key["not_held"].fields}
    assert not_held == set(NOT_HELD_CHARACTERISTICS)


def test_governance_dpia_tables_follow_the_contract(facts):
    from extract.contract import TABLES
    from governance.papers import dpia_draft

    paper = dpia_draft(facts)
    tables = paper.sections[0].tables
    assert [t["caption"].split(":")[0] for t in tables] == list(TABLES)
    for table, spec in zip(tables, TABLES.values(), strict=True):
        assert [row[0] for row in table["rows"]] == list(spec.column_names)
    fields = {f.key: f for s in paper.sections for f in s.fields}
    assert not fields["lawful_basis"].filled and not fields["retention"].filled
    assert "not a decision" in fields["position"].value


def test_governance_not_cleared_version_says_so_first(facts, tmp_path):
    from governance.papers import write_papers

    failed = dataclasses.replace(facts, tags={**facts.tags, TAG_VERDICT: "FAIL", TAG_PASSED: "false",
                                             TAG_OVERRIDE: "false"})
    review = dataclasses.replace(facts, tags={**facts.tags, TAG_VERDICT: "REVIEW", TAG_PASSED: "false",
                                             TAG_OVERRIDE: "false", TAG_REVIEW_APPROVED: "false"})
    for variant, needle in ((failed, "verdict is FAIL"), (review, "REVIEW and the review was not approved")):
        out = tmp_path / needle.split()[-1]
        write_papers(variant, out)
        for slug in ("atrs", "eia", "dpia"):
            md = (out / f"{slug}.md").read_text()
            assert md.split("\n## ")[0].count("NOT CLEARED BY THE FAIRNESS GATE") == 1 and needle in md
            html = (out / f"{slug}.html").read_text()
            assert html.index('id="gate-notice"') < html.index("<section")


def test_governance_cli_writes_papers_and_diff(champion_store, tmp_path):
    result = runner.invoke(app, ["papers", "--out", str(tmp_path / "papers")])
    # The shared champion was cleared by an override: published, and the first page says how.
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "papers").iterdir())
    assert names == ["atrs.html", "atrs.json", "atrs.md", "dpia.html", "dpia.md", "eia.html", "eia.md"]
    assert "OVERRIDE" in (tmp_path / "papers" / "atrs.md").read_text().split("\n## ")[0]
    assert "TO COMPLETE" in (tmp_path / "papers" / "dpia.md").read_text()
    same = runner.invoke(app, ["papers", "--diff", "1", "1"])
    assert same.exit_code == 0 and "no ATRS field differs" in same.output
    missing = runner.invoke(app, ["papers", "--version", "9"])
    assert missing.exit_code == 2 and "version 9" in missing.output


def test_governance_diff_lists_changed_fields():
    from governance.papers import diff_records

    old = {"metadata": {"model_version": "1", "name": "a"}, "tool_specification": {"x": 1}}
    new = {"metadata": {"model_version": "2", "name": "a"}, "risks": {"gate_verdict": "PASS"}}
    assert diff_records(old, new) == [
        'metadata.model_version: "1" -> "2"',
        'risks.gate_verdict: null -> "PASS"',
        "tool_specification.x: 1 -> null",
    ]


@pytest.fixture
def store_copy(champion_store, tmp_path, monkeypatch):
    """A client of a copy of the store (artifact locations are absolute), so the shared champion keeps its tags."""
    import shutil

    from mlflow import MlflowClient

    db = tmp_path / "copy.db"
    shutil.copyfile(champion_store.store_env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///"), db)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{db}")
    return MlflowClient()


def test_governance_cli_not_cleared_version_exits_1(store_copy, tmp_path):
    client = store_copy
    client.set_model_version_tag(MODEL_NAME, "1", TAG_VERDICT, "FAIL")
    client.set_model_version_tag(MODEL_NAME, "1", TAG_OVERRIDE, "false")
    client.set_model_version_tag(MODEL_NAME, "1", TAG_PASSED, "false")
    result = runner.invoke(app, ["papers", "--version", "1", "--out", str(tmp_path / "papers")])
    assert result.exit_code == 1, result.output
    first_page = (tmp_path / "papers" / "eia.md").read_text().split("\n## ")[0]
    assert "NOT CLEARED BY THE FAIRNESS GATE" in first_page and "verdict is FAIL" in first_page


def _first_pages(folder) -> dict[str, str]:
    """Each paper's Markdown above its first section."""
    return {slug: (folder / f"{slug}.md").read_text().split("\n## ")[0] for slug in ("atrs", "eia", "dpia")}


def test_governance_papers_check_the_signed_verdict(facts, champion_store):
    import dataclasses

    from governance.facts import configured_verify_keys
    from governance.papers import atrs_record, first_page_notice, gate_signature

    keys = configured_verify_keys()  # the champion's own publishing key (champion_store)
    verified = dataclasses.replace(facts, verify_keys=keys)
    assert gate_signature(verified).text == f"signature verified (key {facts.tags[TAG_SIGNATURE_KEY_ID]})"
    assert "VERIFIED" not in first_page_notice(verified)
    # No key: the tags' claim stands, said to be unverified.
    assert gate_signature(facts).state == "unverified" and "UNVERIFIED GATE VERDICT" in first_page_notice(facts)
    # The overridden champion's tags edited by hand to read as a clean PASS.
    edited = dataclasses.replace(verified, tags={**facts.tags, TAG_VERDICT: "PASS", TAG_OVERRIDE: "false"})
    record = atrs_record(edited).json_fields()["risks_mitigations_and_impact_assessments"]
    assert record["gate_signature"].startswith("NOT VERIFIED:") and "tag gate.verdict is 'PASS'" in record["gate_signature"]
    assert record["gate_cleared"] is False
    assert first_page_notice(edited).startswith("GATE VERDICT NOT VERIFIED")
    # A version not cleared claims nothing to verify.
    failed = dataclasses.replace(verified, tags={**facts.tags, TAG_PASSED: "false"})
    assert gate_signature(failed).state == "not claimed"


def test_governance_cli_says_the_verdict_is_signed(champion_store, tmp_path):
    result = runner.invoke(app, ["papers", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    risks = json.loads((tmp_path / "atrs.json").read_text())["risks_mitigations_and_impact_assessments"]
    assert risks["gate_signature"].startswith("signature verified (key ")
    assert "signature verified" in (tmp_path / "eia.md").read_text()
    assert not any("VERIFIED" in page for page in _first_pages(tmp_path).values())


def test_governance_cli_refuses_to_present_hand_edited_tags_as_cleared(store_copy, tmp_path, monkeypatch):
    client = store_copy
    # What anyone with write access to the registry could do: make the override read as a clean PASS.
    client.set_model_version_tag(MODEL_NAME, "1", TAG_VERDICT, "PASS")
    client.set_model_version_tag(MODEL_NAME, "1", TAG_OVERRIDE, "false")
    result = runner.invoke(app, ["papers", "--version", "1", "--out", str(tmp_path / "edited")])
    assert result.exit_code == 1, result.output
    for page in _first_pages(tmp_path / "edited").values():
        assert "GATE VERDICT NOT VERIFIED" in page and "tag gate.verdict is 'PASS'" in page
        assert "Treat it as NOT CLEARED" in page
    risks = json.loads((tmp_path / "edited" / "atrs.json").read_text())["risks_mitigations_and_impact_assessments"]
    assert risks["gate_cleared"] is False and risks["gate_signature"].startswith("NOT VERIFIED:")
    assert "GATE VERDICT NOT VERIFIED" in " ".join(result.output.split())
    # The signature removed: unsigned.
    client.delete_model_version_tag(MODEL_NAME, "1", TAG_SIGNATURE)
    unsigned = runner.invoke(app, ["papers", "--version", "1", "--out", str(tmp_path / "unsigned")])
    assert unsigned.exit_code == 1
    assert "no signature" in _first_pages(tmp_path / "unsigned")["atrs"]
    # A key that did not sign it: the genuine champion's verdict is not borne out either.
    monkeypatch.setenv(VERIFY_KEY_ENV, str(write_key_pair(tmp_path / "other")[1]))
    other = runner.invoke(app, ["papers", "--version", "1", "--out", str(tmp_path / "other-key")])
    assert other.exit_code == 1
    assert "GATE VERDICT NOT VERIFIED" in _first_pages(tmp_path / "other-key")["eia"]


def test_governance_cli_without_a_key_says_unverified(champion_store, tmp_path, monkeypatch):
    monkeypatch.delenv(VERIFY_KEY_ENV)
    result = runner.invoke(app, ["papers", "--out", str(tmp_path)])
    # Written and cleared as tagged (the service, which needs the key, would not serve it unverified).
    assert result.exit_code == 0, result.output
    for page in _first_pages(tmp_path).values():
        assert "UNVERIFIED GATE VERDICT" in page and "OVERRIDE" in page
    risks = json.loads((tmp_path / "atrs.json").read_text())["risks_mitigations_and_impact_assessments"]
    assert risks["gate_signature"].startswith("unverified: no verification key configured")
    unreadable = runner.invoke(app, ["papers", "--out", str(tmp_path / "x")],
                               env={VERIFY_KEY_ENV: str(tmp_path / "missing.pub")})
    assert unreadable.exit_code == 2 and "cannot read the key file" in unreadable.output
