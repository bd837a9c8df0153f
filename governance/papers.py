"""The three governance papers of a registered version: an ATRS record, an Equality Impact Assessment, a DPIA draft.

Each paper is a list of sections of fields. A field is either *filled* by
svrisk from a recorded fact (:class:`~governance.facts.VersionFacts`, the
data contract, the service settings) or *to complete* by a named person
(``COMPLETE`` holds who); svrisk never invents the latter. Markdown and the
printable HTML page are rendered from the same structure
(``paper.md.j2``, ``paper.html.j2`` beside this module), and the ATRS fields
are also written as JSON under the standard's field names.

A version's tags claim it was cleared (``gate.passed``); the papers repeat
that claim only as far as the gate's signed verdict bears it out, checked by
the service's own :func:`registry.signatures.verify_gate_record`
(:func:`gate_signature`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from governance.facts import VersionFacts
from registry.names import (
    TAG_APPROVER,
    TAG_CHECKED_AT,
    TAG_CHECKSUM,
    TAG_OVERRIDE,
    TAG_PASSED,
    TAG_POLICY_VERSION,
    TAG_REASON,
    TAG_REVIEW_APPROVED,
    TAG_SIGNATURE_KEY_ID,
    TAG_VERDICT,
)
from registry.signatures import VERIFY_KEY_ENV, SignatureRefused, verify_gate_record

TEMPLATES = Path(__file__).parent
ATRS_STANDARD = "Algorithmic Transparency Recording Standard v3.0"
PARTNERSHIP = "the partnership"
CONTROLLERS = "the data controllers"
# The Equality Act 2010 characteristics the data holds, and the audited column that stands for each.
HELD_CHARACTERISTICS = (
    ("age", "age_band", "age at the as-of date, in bands"),
    ("sex", "sex", "sex as recorded by partners"),
    ("race", "ethnicity", "ethnicity as recorded by partners"),
    ("disability", "sen", "special educational needs (SEN), a proxy: SEN is neither all nor only disability"),
)
NOT_HELD_CHARACTERISTICS = ("religion or belief", "sexual orientation", "gender reassignment",
                            "pregnancy and maternity", "marriage and civil partnership")
NOT_HELD_MEANING = (
    "The extract holds no {name} field, so svrisk cannot measure whether scores differ for this group. "
    "No difference found is not evidence of no difference: the partnership must consider the impact "
    "through engagement and qualitative evidence, not from this tool."
)
GROUP_METRICS = ("selection_rate", "tpr", "fpr", "fnr", "precision")
NOT_CLEARED_NOTICE = ("NOT CLEARED BY THE FAIRNESS GATE: version {version}'s verdict is {verdict}{how}. "
                      "It must not be served; these papers describe it for review only.")
OVERRIDE_NOTICE = ("Cleared only by an OVERRIDE of a {verdict} verdict, by {approver}: {reason}. "
                   "Read the risks section before publishing.")
NOT_VERIFIED_NOTICE = ("GATE VERDICT NOT VERIFIED: the registry's tags say version {version} was cleared "
                       "(verdict {verdict}), but its signed gate record does not bear that out: {reason}. "
                       "Treat it as NOT CLEARED: the service refuses to serve it; these papers describe it "
                       "for review only.")
UNVERIFIED_NOTICE = ("UNVERIFIED GATE VERDICT: no verification key is configured (" + VERIFY_KEY_ENV + "), so "
                     "the verdict in these papers is read from registry tags that anyone with write access could "
                     "have set. Configure the publishing key's public file and generate the papers again before "
                     "relying on them.")
SIGNATURE_VERIFIED = "signature verified (key {key_id})"
SIGNATURE_NOT_VERIFIED = "NOT VERIFIED: {reason}"
SIGNATURE_UNVERIFIED = "unverified: no verification key configured (" + VERIFY_KEY_ENV + ")"
SIGNATURE_NOT_CLAIMED = "not checked: the version is not cleared, so no clearance is claimed"

SignatureState = Literal["verified", "not verified", "unverified", "not claimed"]


@dataclass(frozen=True)
class GateSignature:
    """What the signed verdict says of the tags' claim: ``state`` and a line for the paper."""

    state: SignatureState
    text: str
    reason: str = ""  # why it did not verify (the service's refusal)


@dataclass
class Field:
    """One field: ``key`` is the standard's field name (ATRS) or a short name; ``complete`` names who fills it."""

    key: str
    label: str
    value: Any = ""
    complete: str = ""

    @property
    def filled(self) -> bool:
        return not self.complete


@dataclass
class Section:
    key: str
    heading: str
    fields: list[Field] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)  # {"caption", "header", "rows"}


@dataclass
class Paper:
    slug: str
    title: str
    subtitle: str
    notice: str
    sections: list[Section]

    def json_fields(self) -> dict[str, dict[str, Any]]:
        """``{section key: {field key: value or None when a person must complete it}}``."""
        return {s.key: {f.key: (f.value if f.filled else None) for f in s.fields} for s in self.sections}


def gate_signature(facts: VersionFacts) -> GateSignature:
    """Check the claim of clearance against the signed verdict, as the service does before serving.

    Only a version whose ``gate.passed`` tag is ``"true"`` claims anything (a
    version not cleared is presented as such whatever its record says).
    """
    if facts.tags.get(TAG_PASSED) != "true":
        return GateSignature("not claimed", SIGNATURE_NOT_CLAIMED)
    if not facts.verify_keys:
        return GateSignature("unverified", SIGNATURE_UNVERIFIED)
    try:
        verify_gate_record(facts.tags, facts.name, facts.version, facts.verify_keys)
    except SignatureRefused as refused:
        return GateSignature("not verified", SIGNATURE_NOT_VERIFIED.format(reason=refused), reason=str(refused))
    return GateSignature("verified", SIGNATURE_VERIFIED.format(key_id=facts.tags[TAG_SIGNATURE_KEY_ID]))


def gate_status(facts: VersionFacts) -> dict[str, Any]:
    """The gate's recorded decision from the version's tags; not cleared when its signature refutes them."""
    tags, signature = facts.tags, gate_signature(facts)
    return {
        "verdict": tags.get(TAG_VERDICT, ""),
        "cleared": tags.get(TAG_PASSED) == "true" and signature.state != "not verified",
        "signature": signature,
        "override": tags.get(TAG_OVERRIDE) == "true",
        "review_approved": tags.get(TAG_REVIEW_APPROVED) == "true",
        "approver": tags.get(TAG_APPROVER, ""),
        "reason": tags.get(TAG_REASON, ""),
        "policy_version": tags.get(TAG_POLICY_VERSION, ""),
        "checked_at": tags.get(TAG_CHECKED_AT, ""),
    }


def first_page_notice(facts: VersionFacts) -> str:
    """What the first page must say about the gate: not cleared (or its clearance not borne out by the
    signature), cleared by override, the verdict unverified, or nothing."""
    gate = gate_status(facts)
    signature = gate["signature"]
    if signature.state == "not verified":
        return NOT_VERIFIED_NOTICE.format(version=facts.version, verdict=gate["verdict"] or "missing",
                                          reason=signature.reason)
    if not gate["cleared"]:
        how = " and the review was not approved" if gate["verdict"] == "REVIEW" else ""
        return NOT_CLEARED_NOTICE.format(version=facts.version, verdict=gate["verdict"] or "missing", how=how)
    notices = []
    if gate["override"]:
        notices.append(OVERRIDE_NOTICE.format(verdict=gate["verdict"], approver=gate["approver"],
                                              reason=gate["reason"]))
    if signature.state == "unverified":
        notices.append(UNVERIFIED_NOTICE)
    return " ".join(notices)


def _interval(value: Any, low: Any, high: Any) -> str:
    if value is None:
        return "not estimable"
    text = f"{value:.3f}"
    return text + (f" ({low:.3f} to {high:.3f})" if low is not None and high is not None else "")


def protected_inputs(facts: VersionFacts) -> list[str]:
    """The protected characteristics training used as inputs (param ``include_protected``: comma-joined or none)."""
    value = facts.params.get("include_protected", "none")
    return [] if value in ("", "none") else value.split(",")


def snapshot_period(dates: str) -> str:
    """A run's comma-joined snapshot dates (``split_train``) as "first to last (N snapshots)"."""
    snapshots = [d for d in dates.split(",") if d]
    if not snapshots:
        return ""
    return f"{snapshots[0]} to {snapshots[-1]} ({len(snapshots)} snapshot{'s' if len(snapshots) != 1 else ''})"


def inputs_by_family(facts: VersionFacts) -> dict[str, list[str]]:
    """The dictionary's non-protected features by family (protected ones are inputs only when training listed them)."""
    if facts.dictionary is None:
        return {}
    included = set(protected_inputs(facts))
    families: dict[str, list[str]] = {}
    for entry in facts.dictionary["features"]:
        if entry.get("protected") and entry["name"] not in included:
            continue
        families.setdefault(entry["family"], []).append(entry["name"])
    return families


def review_options() -> list[str]:
    """The decisions a practitioner's review can record (serving.reviews.Decision)."""
    from typing import get_args

    from serving.reviews import Decision

    return [option.replace("_", " ") for option in get_args(Decision)]


def atrs_record(facts: VersionFacts) -> Paper:
    """The ATRS v3.0 record: Tier 1 and the five Tier 2 sections."""
    gate, params, audit = gate_status(facts), facts.params, facts.audit
    outcome = facts.outcome.get("description", "")
    families = inputs_by_family(facts)
    metrics_test = facts.metrics.get("test", {})
    baselines = sorted(k for k in metrics_test if k.startswith("baseline_"))
    bias = audit.get("label_bias")
    included = protected_inputs(facts)
    sections = [
        Section("metadata", "Metadata", [
            Field("name", "Name", f"svrisk ({facts.name} version {facts.version})"),
            Field("model_version", "Model version", facts.version),
            Field("artifact_sha256", "Artifact checksum", facts.tags.get(TAG_CHECKSUM, "")),
            Field("training_run_id", "Training run", facts.run_id),
            Field("standard_version", "Standard", ATRS_STANDARD),
            Field("organisation", "Organisation", complete=PARTNERSHIP),
            Field("contact_email", "Contact", complete=PARTNERSHIP),
            Field("date_published", "Date published", complete=PARTNERSHIP),
        ]),
        Section("tier_1", "Tier 1: overview for the public", [
            Field("description", "What the tool does",
                  "svrisk gives practitioners a score for how likely a young person is to have the recorded "
                  "outcome below, with the reasons behind it, to help them decide whose record to review first "
                  "for an offer of early help. The score never decides anything: a practitioner reviews every "
                  f"score and can disagree. Outcome: {outcome}"),
            Field("website", "More information", complete=PARTNERSHIP),
        ]),
        Section("owner_and_responsibility", "Tier 2: owner and responsibility", [
            Field("organisation_or_department", "Organisation", complete=PARTNERSHIP),
            Field("team", "Team", complete=PARTNERSHIP),
            Field("senior_responsible_owner", "Senior responsible owner", complete=PARTNERSHIP),
            Field("third_party_involvement", "Third parties", complete=PARTNERSHIP),
        ]),
        Section("description_and_rationale", "Tier 2: description and rationale", [
            Field("detailed_description", "Detailed description", audit["model_card"]["intended_use"]),
            Field("scope", "Scope", f"Outcome scored: {outcome}"),
            Field("benefit", "Benefit", complete=PARTNERSHIP),
            Field("previous_process", "Previous process", complete=PARTNERSHIP),
            Field("alternatives_considered", "Alternatives considered",
                  "Rule baselines trained and reported beside the model: " + ", ".join(baselines)
                  if baselines else "", complete="" if baselines else PARTNERSHIP),
        ]),
        Section("decision_making_process", "Tier 2: decision-making process", [
            Field("process_integration", "How the score is used",
                  "A score is not a decision. Each score is shown to a practitioner with its explanation; "
                  "the practitioner reviews the record and decides, and the service records the review."),
            Field("provided_information", "Information shown",
                  "The score band, the reasons (feature contributions in plain English) and the notice "
                  "that a score supports, never replaces, professional judgement."),
            Field("human_decisions_and_review", "Human review",
                  "Every score is reviewed by a practitioner, whose review options are: "
                  + ", ".join(review_options())
                  + " (a disagreement gives the practitioner's own band); the review is kept in the audit trail."),
            Field("frequency_and_scale_of_usage", "Frequency and scale", complete=PARTNERSHIP),
            Field("required_training", "Training for practitioners", complete=PARTNERSHIP),
            Field("appeals_and_review", "Appeals and review", complete=PARTNERSHIP),
        ]),
        Section("tool_specification", "Tier 2: tool specification", [
            Field("system_architecture", "Model type",
                  f"gradient-boosted trees (LightGBM) with {params.get('calibration_method', 'no')} calibration"),
            Field("model_inputs", "Inputs by family",
                  {family: names for family, names in families.items()}),
            Field("outcome_definition", "Outcome definition", outcome),
            Field("training_data_period", "Training period",
                  snapshot_period(params.get("split_train", ""))),
            Field("test_data_period", "Test period", snapshot_period(params.get("split_test", ""))),
            Field("data_quantity", "Data size",
                  {"train": params.get("n_train"), "validation": params.get("n_validation"),
                   "test": params.get("n_test"), "features": params.get("n_features")}),
            Field("model_performance", "Performance (gate audit, with intervals)",
                  audit["model_card"]["performance"]),
            Field("baselines", "Baselines (test metrics)", {b: metrics_test[b] for b in baselines}),
            Field("source_data_name", "Source data", audit["model_card"]["data"].get("source", "")),
        ]),
        Section("risks_mitigations_and_impact_assessments", "Tier 2: risks, mitigations and impact assessments", [
            Field("gate_verdict", "Fairness gate verdict", gate["verdict"]),
            Field("gate_signature", "Signed verdict", gate["signature"].text),
            Field("gate_cleared", "Cleared for service", gate["cleared"]),
            Field("gate_override", "Cleared by override", gate["override"]),
            Field("gate_review_approved", "REVIEW approved", gate["review_approved"]),
            Field("gate_policy_version", "Fairness policy version", gate["policy_version"]),
            Field("gate_checked_at", "Gate checked at", gate["checked_at"]),
            Field("label_bias", "Label-bias finding",
                  "measured against true outcomes (synthetic extract): see the Equality Impact Assessment"
                  if bias else "not measurable: true outcomes exist only for synthetic extracts"),
            Field("protected_characteristics_as_inputs", "Protected characteristics used as inputs",
                  included or "none: audited only, never model inputs"),
            Field("monitoring", "Monitoring in place",
                  "every score and practitioner review is kept in the audit trail; the gate re-audits any "
                  "version under a new policy (gate.last_audit_* tags)"),
            Field("impact_assessment", "Impact assessments",
                  "Equality Impact Assessment and DPIA draft generated with this record (svrisk papers)"),
            Field("risks_and_mitigations", "Further risks and mitigations", complete=PARTNERSHIP),
        ]),
    ]
    return Paper("atrs", "Algorithmic Transparency Record", f"{ATRS_STANDARD}; {facts.name} version {facts.version}",
                 first_page_notice(facts), sections)


def group_table(audit: dict[str, Any], attribute: str) -> list[dict[str, Any]]:
    """The audit's rows of one attribute at the operating thresholds, with intervals, as recorded."""
    rows = [r for r in audit["rows"] if r["attribute"] == attribute]
    out = []
    for r in rows:
        cells = {"group": r["group"], "threshold": r["threshold"], "count": r["count"]}
        for m in (*GROUP_METRICS, "calibration_gap"):
            if m in r:
                cells[m] = _interval(r[m], r.get(f"{m}_ci_low"), r.get(f"{m}_ci_high"))
        out.append(cells)
    return out


def equality_impact(facts: VersionFacts) -> Paper:
    """The Equality Impact Assessment: measured characteristics from the audit, the others said to be unheld."""
    audit, gate = facts.audit, gate_status(facts)
    audited = {r["attribute"] for r in audit["rows"]}
    sections = [Section("decision", "What the policy decided and why", [
        Field("verdict", "Gate verdict", gate["verdict"]),
        Field("signature", "Signed verdict", gate["signature"].text),
        Field("headline", "Headline", audit["verdict"]["headline"]),
        Field("decision_rule", "Decision rule", audit["decision_rule_text"]),
        Field("policy_version", "Policy version", gate["policy_version"]),
        Field("paragraphs", "Checks explained", [p["text"] for p in audit["paragraphs"]]),
        Field("approval", "Approval or override", f"{gate['approver']}: {gate['reason']}" if gate["approver"] else
              "none recorded"),
    ])]
    for characteristic, column, how in HELD_CHARACTERISTICS:
        section = Section(characteristic, f"{characteristic.capitalize()} (measured as {column})",
                          [Field("held_as", "Held as", how)])
        if column in audited:
            rows = group_table(audit, column)
            header = list(rows[0]) if rows else []
            section.tables.append({"caption": f"{column}: by group at the operating thresholds (95% intervals)",
                                   "header": header, "rows": [[str(r.get(h, "")) for h in header] for r in rows]})
        else:
            section.fields.append(Field("audited", "Audited", f"{column} was not audited by the policy in force"))
        section.fields.append(Field("impact", "Impact and actions", complete=PARTNERSHIP))
        sections.append(section)
    bias = audit.get("label_bias")
    label_bias = Section("label_bias", "Label-bias diagnostic")
    if bias:
        header = list(bias[0])
        label_bias.tables.append({"caption": "recorded vs true outcomes (synthetic extract)", "header": header,
                                  "rows": [[str(r.get(h, "")) for h in header] for r in bias]})
    else:
        label_bias.fields.append(Field("label_bias", "Finding",
                                       "not measurable: true outcomes exist only for synthetic extracts"))
    sections.append(label_bias)
    sections.append(Section("not_held", "Characteristics the data does not hold", [
        Field(name.replace(" ", "_"), name.capitalize(), NOT_HELD_MEANING.format(name=name))
        for name in NOT_HELD_CHARACTERISTICS
    ]))
    return Paper("eia", "Equality Impact Assessment", f"{facts.name} version {facts.version}",
                 first_page_notice(facts), sections)


def dpia_draft(facts: VersionFacts) -> Paper:
    """The DPIA draft: data table by table from the contract, what is refused, where it is kept, ADM position."""
    from extract import identifiers
    from extract.contract import PROTECTED_ATTRIBUTES, TABLES
    from serving.settings import ServingSettings

    tables = Section("personal_data", "Personal data processed, table by table (data contract)")
    for spec in TABLES.values():
        tables.tables.append({"caption": f"{spec.name}: {spec.description}",
                              "header": ["column", "kind", "description"],
                              "rows": [[c.name, c.kind, c.description] for c in spec.columns]})
    settings = ServingSettings.from_env()
    sections = [
        tables,
        Section("refused", "What is refused", [
            Field("direct_identifiers", "Direct identifiers",
                  "columns whose names look identifying (names, addresses, dates of birth, NHS numbers, UPNs) "
                  "and values that look like: " + "; ".join(
                      [identifiers.NHS_NUMBER, identifiers.UPN, identifiers.POSTCODE, identifiers.EMAIL,
                       identifiers.TELEPHONE])),
            Field("unknown_columns", "Other columns", "any column not in the contract is refused, not read"),
            Field("special_category", "Protected characteristics held",
                  f"{', '.join(PROTECTED_ATTRIBUTES)}: audited, model inputs only if training lists them "
                  f"(this version: {', '.join(protected_inputs(facts)) or 'none'})"),
        ]),
        Section("pseudonymisation", "Pseudonymisation", [
            Field("person_id", "person_id", "pseudonymised by the data owner before extraction; svrisk never "
                  "holds the key"),
            Field("birth", "Birth", "month only (birth_month)"),
        ]),
        Section("storage", "Where each item is stored", [
            Field("extract", "Extract", facts.audit["model_card"]["data"].get("source", "")),
            Field("mlflow_artifacts", "MLflow artifacts",
                  f"run {facts.run_id}: test-period predictions with person_id and audited characteristics; "
                  f"audit run {facts.audit_run_id}: the fairness report"),
            Field("audit_trail", "Audit trail (scores, practitioner reviews)", settings.audit_db),
            Field("retention", "Retention periods",
                  complete=f"{CONTROLLERS} (svrisk has no retention setting; it keeps data until deleted)"),
        ]),
        Section("lawful_basis", "Lawful basis", [
            Field("lawful_basis", "Article 6 basis", complete=CONTROLLERS),
            Field("special_category_condition", "Article 9/10 conditions", complete=CONTROLLERS),
            Field("necessity_and_proportionality", "Necessity and proportionality", complete=CONTROLLERS),
        ]),
        Section("automated_decision_making", "Automated decision-making (UK GDPR Article 22)", [
            Field("position", "Position",
                  "A score is not a decision. A practitioner reviews each score with its explanation and "
                  "decides; the notice that the score supports professional judgement is shown with every score; "
                  "the practitioner's review is recorded."),
        ]),
    ]
    return Paper("dpia", "Data Protection Impact Assessment (draft)", f"{facts.name} version {facts.version}",
                 first_page_notice(facts), sections)


def render(paper: Paper, kind: str) -> str:
    """The paper as ``md`` or ``html`` (templates beside this module)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=kind == "html", trim_blocks=True, lstrip_blocks=True)
    env.filters["show"] = show_value
    return env.get_template(f"paper.{kind}.j2").render(paper=paper)


def show_value(value: Any) -> str:
    """A field's value as one line of text."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {show_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        # Sentences (the audit's explanations) read on; names and numbers are a list.
        sentences = all(isinstance(v, str) and v.endswith(".") for v in value)
        return (" " if sentences else "; ").join(show_value(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def write_papers(facts: VersionFacts, out: Path) -> list[Path]:
    """Write the three papers as Markdown and HTML, and the ATRS fields as JSON; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for paper in (atrs_record(facts), equality_impact(facts), dpia_draft(facts)):
        for kind in ("md", "html"):
            path = out / f"{paper.slug}.{kind}"
            path.write_text(render(paper, kind), encoding="utf-8")
            written.append(path)
        if paper.slug == "atrs":
            path = out / "atrs.json"
            path.write_text(json.dumps(paper.json_fields(), indent=2, sort_keys=True, default=str))
            written.append(path)
    return written


def diff_records(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per ATRS field whose value changed between two records' JSON (``section.field: old -> new``)."""
    lines = []
    for section in sorted(set(old) | set(new)):
        a, b = old.get(section, {}), new.get(section, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                lines.append(f"{section}.{key}: {json.dumps(a.get(key), default=str)} -> "
                             f"{json.dumps(b.get(key), default=str)}")
    return lines
