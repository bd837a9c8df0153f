"""`svrisk audit` and `svrisk publish` (stage CLI; commands import heavy libraries inside their bodies)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer()

SCORES_NOT_FOUND = "score file not found: {path}"
SCORES_UNREADABLE = "cannot read the score file {path}: {error}"
SCORES_EMPTY = "the score file {path} is empty"
OVERRIDE_NEEDS = "--override needs both --approver NAME and --reason TEXT"
OVERRIDE_ONLY = "--approver and --reason are only for --override"
SEE_DOCS = "See docs/ethics-panel-guide.md, sections 'When a command fails' and 'The gate and its decision rule'."


def _error(message: str) -> None:
    from rich.console import Console

    console = Console(stderr=True, soft_wrap=True)
    console.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    console.print(SEE_DOCS, markup=False, highlight=False)


@app.command()
def audit(
    scores: Annotated[Path, typer.Option("--scores", help="CSV with one row per scored case.")],
    score_col: Annotated[str, typer.Option("--score-col", help="Score column (flagged when >= a threshold).")],
    label_col: Annotated[str, typer.Option("--label-col", help="0/1 outcome column.")],
    group_col: Annotated[list[str], typer.Option("--group-col", help="Group column to audit (repeat); 'a x b' audits an intersection.")],
    threshold: Annotated[list[float], typer.Option("--threshold", help="Operating threshold (repeat).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for audit.json and report.html.")],
    policy: Annotated[Path | None, typer.Option("--policy", help="Fairness policy YAML (default: fairness/policy.yaml).")] = None,
    resamples: Annotated[int | None, typer.Option("--resamples", min=0, help="Bootstrap resamples (default: the policy's).")] = None,
) -> None:
    """Audit any score file (another tool's, a past model's) and write DIR/audit.json and DIR/report.html.

    Gated checks, reference groups and size floors come from the policy; an
    intersection listed in the policy is audited too when both its columns are given.

    Example: svrisk audit --scores scores.csv --score-col risk --label-col outcome --group-col sex --group-col ethnicity --threshold 0.1 --threshold 0.2 --out audit/
    """
    try:
        written = audit_score_file(
            scores, score_col=score_col, label_col=label_col, group_cols=group_col,
            thresholds=threshold, out=out, policy_path=policy, resamples=resamples,
        )
    except ValueError as error:
        _error(str(error))
        raise typer.Exit(1) from None
    typer.echo("wrote " + " and ".join(str(p) for p in written))


def audit_score_file(
    scores: Path,
    *,
    score_col: str,
    label_col: str,
    group_cols: list[str],
    thresholds: list[float],
    out: Path,
    policy_path: Path | None = None,
    resamples: int | None = None,
) -> list[Path]:
    """Read a score CSV, audit it and write ``audit.json`` and ``report.html`` into ``out``.

    Raises
    ------
    ValueError
        On a missing or unreadable file, or any problem :func:`fairness.audit.run_audit` names.
    """
    import json

    import pandas as pd

    from fairness.audit import run_audit
    from fairness.policy import intersection_name, load_policy
    from fairness.report import ModelCard, Verdict, build_report

    chosen = load_policy(policy_path)
    if not scores.is_file():
        raise ValueError(SCORES_NOT_FOUND.format(path=scores))
    try:
        frame = pd.read_csv(scores)
    except pd.errors.EmptyDataError:
        raise ValueError(SCORES_EMPTY.format(path=scores)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(SCORES_UNREADABLE.format(path=scores, error=error)) from error
    names = list(dict.fromkeys(group_cols))
    for pair in chosen.groups.intersections:
        if all(part in names for part in pair):
            names.append(intersection_name(pair))
    result = run_audit(
        frame, score_col=score_col, label_col=label_col, group_cols=names,
        thresholds=thresholds, policy=chosen, resamples=resamples,
    )
    card = ModelCard(
        title="Fairness audit of a score file",
        subject=f"{scores.name}: score {score_col!r}, outcome {label_col!r}, {len(frame):,} rows",
        data=[("score file", str(scores.resolve())), ("rows", f"{len(frame):,}"),
              ("base rate", f"{frame[label_col].mean():.2%}")],
    )
    verdict = Verdict(passed=result.passed, published=False, publishing=False,
                      note="An audit of a score file: nothing is published; the verdict says whether "
                      "these scores would pass the policy's gated checks.")
    html, document = build_report(result, card=card, verdict=verdict)
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps(document, indent=2, allow_nan=False))
    (out / "report.html").write_text(html, encoding="utf-8")
    return [out / "audit.json", out / "report.html"]


@app.command()
def publish(
    version: Annotated[str | None, typer.Option("--version", help="Model version to gate (default: the alias 'candidate').")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Fairness policy YAML (default: fairness/policy.yaml).")] = None,
    override: Annotated[bool, typer.Option("--override", help="Publish even if checks fail; needs --approver and --reason.")] = False,
    approver: Annotated[str | None, typer.Option("--approver", help="Who approves an override (recorded on the version).")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why the override is approved (recorded on the version).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for report.html and audit.json (default: reports/fairness-v<N>).")] = None,
    name: Annotated[str, typer.Option("--name", help="Registered model name.")] = "svrisk",
    resamples: Annotated[int | None, typer.Option("--resamples", min=0, help="Bootstrap resamples (default: the policy's).")] = None,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check the policy file and exit (0 valid, 1 invalid); audits nothing.")] = False,
) -> None:
    """Audit the candidate against the fairness policy, write and log the report, and move the alias
    `champion` to it only if every gated check and performance floor passes. Otherwise exit 1 with
    the failed checks; the previous champion keeps serving.

    Example: svrisk publish --version 3 --policy fairness/policy.yaml

    Example: svrisk publish --override --approver "J. Smith (panel chair)" --reason "panel minute 2025-04-12"

    Example: svrisk publish --policy my_policy.yaml --validate-only
    """
    from rich.console import Console

    if validate_only:
        _validate_policy_only(policy)
        return

    if override and not (approver and reason):
        raise typer.BadParameter(OVERRIDE_NEEDS)
    if not override and (approver or reason):
        raise typer.BadParameter(OVERRIDE_ONLY)

    from fairness.gate import PromotionError
    from fairness.gate import publish as run_publish
    from fairness.policy import DEFAULT_POLICY_PATH, load_policy
    from registry.tracking import tracking_store

    console = Console(stderr=True, soft_wrap=True)
    try:
        chosen = load_policy(policy)
        policy_text = (policy or DEFAULT_POLICY_PATH).read_text()
        with tracking_store(), console.status("auditing the candidate") as status:
            outcome = run_publish(
                policy=chosen, policy_text=policy_text, version=version, name=name,
                out_dir=out,
                override=override, approver=approver or "", reason=reason or "",
                resamples=resamples, progress=status.update,
            )
    except (ValueError, PromotionError) as error:
        _error(str(error))
        raise typer.Exit(1) from None
    console.print(f"report: {outcome.html_path} (logged as {outcome.report_uri})", highlight=False)
    if outcome.borderline or outcome.too_small:
        console.print(f"{outcome.borderline} borderline check(s); {outcome.too_small} group(s) too small to judge "
                      "(see the report)", highlight=False)
    if outcome.reaudit:
        result = "passed" if outcome.passed else f"failed {len(outcome.failure_lines())} check(s)"
        console.print(f"re-audit: version {outcome.version} is already 'champion' and {result}; its publication "
                      "tags and the alias are unchanged (the result is in the gate.last_audit_* tags) and it "
                      "keeps serving" + ("." if outcome.passed else "; publish another version to replace it:"),
                      highlight=False)
        for line in outcome.failure_lines():
            console.print(f"  - {line}", highlight=False, markup=False)
        if not outcome.passed:
            raise typer.Exit(1)
        return
    if outcome.published:
        how = "by override of " + (approver or "") if outcome.override and not outcome.passed else "every gated check passed"
        console.print(f"[green]published[/green]: version {outcome.version} is now 'champion' ({how})", highlight=False)
        return
    keeps = (f"the previous champion (version {outcome.previous_champion}) keeps serving"
             if outcome.previous_champion else "there is no champion to serve")
    console.print(f"[red]refused[/red]: version {outcome.version} failed {len(outcome.failure_lines())} check(s); "
                  f"{keeps}:", highlight=False)
    for line in outcome.failure_lines():
        console.print(f"  - {line}", highlight=False, markup=False)
    raise typer.Exit(1)


def _validate_policy_only(policy: Path | None) -> None:
    """Load and validate the policy exactly as `publish` would, then stop."""
    from rich.console import Console

    from fairness.policy import DEFAULT_POLICY_PATH, load_policy

    try:
        loaded = load_policy(policy)
    except ValueError as error:
        _error(str(error))
        raise typer.Exit(1) from None
    Console().print(f"policy {policy or DEFAULT_POLICY_PATH} is valid (version {loaded.version})", highlight=False)
