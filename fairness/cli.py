"""`svrisk audit`, `svrisk publish` and `svrisk signing-keygen` (stage CLI; commands import heavy libraries inside their bodies)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from cluster.client import Engine, check_engine
from extract.command_refusal import print_refusal

app = typer.Typer()

OVERRIDE_NEEDS = "--override and --approve-review need both --approver NAME and --reason TEXT"
OVERRIDE_ONLY = "--approver and --reason are only for --override or --approve-review"
OVERRIDE_OR_APPROVE = "give --override (of a FAIL) or --approve-review (of a REVIEW), not both"
BAD_GROUP_COL = "--group-col {value!r}: expected COLUMN, 'a x b' or COLUMN=POLICY_ATTRIBUTE"
BAD_REFERENCE = "--reference {value!r}: expected COLUMN=GROUP"
SEE_DOCS = "See docs/ethics-panel-guide.md, sections 'When a command fails' and 'The gate and its decision rule'."


@app.command()
def audit(
    scores: Annotated[Path, typer.Option("--scores", help="CSV with one row per scored case.")],
    score_col: Annotated[str, typer.Option("--score-col", help="Score column (flagged when >= a threshold).")],
    label_col: Annotated[str, typer.Option("--label-col", help="0/1 outcome column.")],
    group_col: Annotated[list[str], typer.Option("--group-col", help="Group column to audit (repeat); 'a x b' audits an intersection; 'race=ethnicity' audits column race as the policy's attribute ethnicity.")],
    threshold: Annotated[list[float], typer.Option("--threshold", help="Operating threshold (repeat): flagged when the score is at or above it, in the score's own units (a decile for deciles).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for audit.json and report.html.")],
    policy: Annotated[Path | None, typer.Option("--policy", help="Fairness policy YAML (default: fairness/policy.yaml).")] = None,
    resamples: Annotated[int | None, typer.Option("--resamples", min=0, help="Bootstrap resamples (default: the policy's).")] = None,
    reference: Annotated[list[str] | None, typer.Option("--reference", help="COLUMN=GROUP: the reference group of an audited column (repeat); overrides the policy's.")] = None,
    score_kind: Annotated[str, typer.Option("--score-kind", help="auto (a probability when every score is within [0, 1], else a ranking), probability or rank. A ranking gets no calibration checks.")] = "auto",
    engine: Annotated[Engine, typer.Option("--engine", help="local, or dask: the bootstrap per Parquet part of --scores (a folder from `svrisk score --engine dask`) on a cluster.")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: a running scheduler's address (default: a LocalCluster).")] = None,
) -> None:
    """Audit any score file (another tool's, a past model's) and write DIR/audit.json and DIR/report.html.

    Gated checks, reference groups and size floors come from the policy; an
    intersection listed in the policy is audited too when both its columns are given.
    A column the policy does not know gets every gated check. Exit 0 on PASS,
    1 on REVIEW or FAIL (a finding), 2 on a usage or input error.

    Example: svrisk audit --scores scores.csv --score-col risk --label-col outcome --group-col sex --group-col ethnicity --threshold 0.1 --threshold 0.2 --out audit/

    Example: svrisk audit --scores deciles.csv --score-col decile --label-col outcome --group-col race=ethnicity --group-col sex --threshold 8 --reference sex=Male --out audit/
    """
    from rich.console import Console

    from fairness.score_file_audit import audit_score_file

    try:
        check_engine(engine, scheduler)
        columns, attribute_map = parse_group_cols(group_col)
        references = parse_references(reference or [])
        with ExitStack() as stack:
            replicate_sums = None
            if engine is Engine.dask:
                from cluster.client import dask_client
                from fairness.dask_audit import cluster_replicate_sums

                client = stack.enter_context(dask_client(scheduler))
                replicate_sums = cluster_replicate_sums(client, scores, score_col=score_col, label_col=label_col)
            written, document = audit_score_file(
                scores, score_col=score_col, label_col=label_col, group_cols=columns,
                thresholds=threshold, out=out, policy_path=policy, resamples=resamples,
                references=references, attribute_map=attribute_map, score_kind=score_kind,
                replicate_sums=replicate_sums,
            )
    except ValueError as error:
        print_refusal(str(error), SEE_DOCS)
        raise typer.Exit(2) from None
    console = Console(soft_wrap=True)
    for line in audit_summary(document):
        console.print(line, highlight=False, markup=False)
    typer.echo("wrote " + " and ".join(str(p) for p in written))
    if document["verdict"]["verdict"] != "PASS":
        raise typer.Exit(1)


def parse_group_cols(values: list[str]) -> tuple[list[str], dict[str, str]]:
    """``--group-col`` values as columns, and the columns mapped onto policy attributes (``race=ethnicity``)."""
    columns, mapping = [], {}
    for value in values:
        column, sep, attribute = value.partition("=")
        column, attribute = column.strip(), attribute.strip()
        if not column or (sep and not attribute):
            raise ValueError(BAD_GROUP_COL.format(value=value))
        columns.append(column)
        if sep:
            mapping[column] = attribute
    return columns, mapping


def parse_references(values: list[str]) -> dict[str, str]:
    """``--reference COLUMN=GROUP`` values as a mapping."""
    found = {}
    for value in values:
        column, sep, group = value.partition("=")
        if not sep or not column.strip() or not group.strip():
            raise ValueError(BAD_REFERENCE.format(value=value))
        found[column.strip()] = group.strip()
    return found


def audit_summary(document: dict) -> list[str]:
    """The CLI's summary: the headline, references, checks outside the band or failed, and every check
    that could not be judged, with why."""
    verdict = document["verdict"]
    lines = [verdict["headline"]]
    if document["score_kind"] == "rank":
        lines.append("the score is a ranking: no calibration checks; a threshold T flags scores at or above T ("
                     + ", ".join(f"{f['threshold']:g}: top {f['share']:.1%}" for f in document["flagged_share"])
                     + ")")
    for a in document["attributes"]:
        judged_as = "" if a["policy_attribute"] == a["attribute"] else f" (judged as {a['policy_attribute']})"
        checks = "" if a["known"] else "; not in the policy, so every gated check applies"
        lines.append(f"{a['attribute']}{judged_as}: reference {a['reference']!r}, {a['reference_chosen']}{checks}")
    for c in verdict["failed_checks"]:
        lines.append(f"  FAIL {c['title']}: {c['value']:.3f}, allowed {c['band']}, {c['distance']:.3f} outside")
    for c in verdict["outside_band"]:
        lines.append(f"  REVIEW {c['title']}: {c['value']:.3f}, allowed {c['band']}, {c['distance']:.3f} outside")
    if verdict["not_judged"]:
        lines.append(f"{len(verdict['not_judged'])} check(s) could not be judged:")
        lines += [f"  - {c['title']}: {c['status'].replace('_', ' ')}: {c['note']}" for c in verdict["not_judged"]]
    return lines


@app.command()
def publish(
    version: Annotated[str | None, typer.Option("--version", help="Model version to gate (default: the alias 'candidate').")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Fairness policy YAML (default: fairness/policy.yaml).")] = None,
    override: Annotated[bool, typer.Option("--override", help="Publish even if checks fail (a FAIL); needs --approver and --reason.")] = False,
    approve_review: Annotated[bool, typer.Option("--approve-review", help="Publish a REVIEW verdict (no check fails, but an estimate lies outside its band); needs --approver and --reason. Never overrides a FAIL.")] = False,
    approver: Annotated[str | None, typer.Option("--approver", help="Who approves the override or the REVIEW (recorded on the version).")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is approved (recorded on the version).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for report.html and audit.json (default: reports/fairness-v<N>).")] = None,
    name: Annotated[str, typer.Option("--name", help="Registered model name.")] = "svrisk",
    resamples: Annotated[int | None, typer.Option("--resamples", min=0, help="Bootstrap resamples (default: the policy's).")] = None,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check the policy file and exit (0 valid, 1 invalid); audits nothing.")] = False,
    signing_key: Annotated[Path | None, typer.Option("--signing-key", help="Ed25519 private key file that signs the verdict (default: $SVRISK_SIGNING_KEY_FILE; make one with `svrisk signing-keygen`).")] = None,
) -> None:
    """Audit the candidate against the fairness policy, write and log the report, and move the alias
    `champion` to it when the verdict allows: PASS publishes; REVIEW (nothing fails, but a borderline
    check's estimate lies outside its band) publishes only with --approve-review, a named approver
    and a reason (unless the policy sets review_requires_approval: false); FAIL only with --override.
    Otherwise exit 1 with the checks concerned; the previous champion keeps serving.
    The verdict is signed with --signing-key (or $SVRISK_SIGNING_KEY_FILE): the service and
    `svrisk score` serve only versions whose signed verdict checks out.

    Example: svrisk publish --version 3 --policy fairness/policy.yaml

    Example: svrisk publish --approve-review --approver "J. Smith (panel chair)" --reason "panel minute 2025-04-12: FPR ratio to be monitored monthly"

    Example: svrisk publish --override --approver "J. Smith (panel chair)" --reason "panel minute 2025-04-12"

    Example: svrisk publish --policy my_policy.yaml --validate-only
    """
    from rich.console import Console

    if validate_only:
        _validate_policy_only(policy)
        return

    if override and approve_review:
        raise typer.BadParameter(OVERRIDE_OR_APPROVE)
    if (override or approve_review) and not (approver and reason):
        raise typer.BadParameter(OVERRIDE_NEEDS)
    if not (override or approve_review) and (approver or reason):
        raise typer.BadParameter(OVERRIDE_ONLY)

    from fairness.gate import PromotionError
    from fairness.gate import publish as run_publish
    from fairness.policy import DEFAULT_POLICY_PATH, load_policy
    from registry.signatures import signing_key_from
    from registry.tracking import tracking_store

    try:
        key = signing_key_from(signing_key)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--signing-key") from None

    console = Console(stderr=True, soft_wrap=True)
    try:
        chosen = load_policy(policy)
        policy_text = (policy or DEFAULT_POLICY_PATH).read_text()
        with tracking_store(), console.status("auditing the candidate") as status:
            outcome = run_publish(
                policy=chosen, policy_text=policy_text, version=version, name=name,
                out_dir=out, override=override, approve_review=approve_review,
                approver=approver or "", reason=reason or "",
                resamples=resamples, progress=status.update, signing_key=key,
            )
    except (ValueError, PromotionError) as error:
        print_refusal(str(error), SEE_DOCS)
        raise typer.Exit(1) from None
    report_publication(console, outcome)


def report_publication(console, outcome) -> None:
    """Print what the gate decided and exit 1 unless the version was published (or a re-audit passed)."""
    console.print(f"report: {outcome.html_path} (logged as {outcome.report_uri})", highlight=False)
    console.print(f"verdict: {outcome.verdict}", highlight=False)
    if outcome.borderline or outcome.too_small:
        console.print(f"{outcome.borderline} borderline check(s); {outcome.too_small} group(s) too small to judge "
                      "(see the report)", highlight=False)

    def listed(lines: list[str]) -> None:
        for line in lines:
            console.print(f"  - {line}", highlight=False, markup=False)

    if outcome.reaudit:
        result = {"PASS": "passed", "REVIEW": f"needs review ({len(outcome.outside)} estimate(s) outside the band)"
                  }.get(outcome.verdict, f"failed {len(outcome.failure_lines())} check(s)")
        console.print(f"re-audit: version {outcome.version} is already 'champion' and {result}; its publication "
                      "tags and the alias are unchanged (the result is in the gate.last_audit_* tags) and it "
                      "keeps serving" + ("." if outcome.verdict == "PASS" else "; publish another version to replace it:"),
                      highlight=False)
        listed(outcome.failure_lines() + outcome.outside_lines())
        if outcome.verdict != "PASS":
            raise typer.Exit(1)
        return
    if outcome.published:
        if outcome.override:
            how = f"FAIL published by override of {outcome.record.approver}"
        elif outcome.review_approved:
            how = f"REVIEW approved by {outcome.record.approver}"
        elif outcome.verdict == "REVIEW":
            how = "REVIEW published without approval: the policy does not require it"
        else:
            how = "PASS: no check fails and no estimate lies outside its band"
        console.print(f"[green]published[/green]: version {outcome.version} is now 'champion' ({how})", highlight=False)
        if outcome.verdict == "REVIEW":
            console.print("estimates outside the band (largest distance first):", highlight=False)
            listed(outcome.outside_lines())
        return
    keeps = (f"the previous champion (version {outcome.previous_champion}) keeps serving"
             if outcome.previous_champion else "there is no champion to serve")
    if outcome.verdict == "REVIEW":
        console.print(f"[yellow]not published[/yellow]: version {outcome.version} needs review: no check fails, but "
                      f"{len(outcome.outside)} estimate(s) lie outside the band (largest distance first); {keeps}. "
                      "To publish it, a named approver decides on the record: svrisk publish --version "
                      f"{outcome.version} --approve-review --approver NAME --reason TEXT", highlight=False)
        listed(outcome.outside_lines())
        raise typer.Exit(1)
    console.print(f"[red]refused[/red]: version {outcome.version} failed {len(outcome.failure_lines())} check(s); "
                  f"{keeps}:", highlight=False)
    listed(outcome.failure_lines())
    raise typer.Exit(1)


def _validate_policy_only(policy: Path | None) -> None:
    """Load and validate the policy exactly as `publish` would, then stop."""
    from rich.console import Console

    from fairness.policy import DEFAULT_POLICY_PATH, load_policy

    try:
        loaded = load_policy(policy)
    except ValueError as error:
        print_refusal(str(error), SEE_DOCS)
        raise typer.Exit(1) from None
    Console().print(f"policy {policy or DEFAULT_POLICY_PATH} is valid (version {loaded.version})", highlight=False)


@app.command("signing-keygen")
def signing_keygen(
    out: Annotated[Path, typer.Option("--out", help="Folder for the key pair (created if needed).")],
    name: Annotated[str, typer.Option("--name", help="File name stem: NAME.key (private) and NAME.pub (public).")] = "svrisk-signing",
) -> None:
    """Make an Ed25519 key pair for signing gate verdicts (both files mode 0600; never overwrites).

    The private key (NAME.key) signs in `svrisk publish` (--signing-key or SVRISK_SIGNING_KEY_FILE):
    keep it off the registry's machines. The public key (NAME.pub) verifies in `svrisk serve` and
    `svrisk score` (SVRISK_VERIFY_KEY_FILE). See docs/serving.md, 'Signed gate verdicts'.

    Example: svrisk signing-keygen --out ~/.svrisk/keys --name gate-2026
    """
    from registry.signatures import load_verify_keys, write_key_pair

    try:
        private, public = write_key_pair(out, name)
    except (ValueError, OSError) as error:
        print_refusal(str(error), SEE_DOCS)
        raise typer.Exit(2) from None
    (signed_by,) = load_verify_keys([public])
    typer.echo(f"private key (for svrisk publish, SVRISK_SIGNING_KEY_FILE): {private}")
    typer.echo(f"public key (for svrisk serve and svrisk score, SVRISK_VERIFY_KEY_FILE): {public}")
    typer.echo(f"key id: {signed_by}")
