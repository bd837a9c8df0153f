"""``svrisk papers``: the ATRS record, the Equality Impact Assessment and the DPIA draft of a registered version."""

from __future__ import annotations

from pathlib import Path

import typer

from registry.names import MODEL_NAME

app = typer.Typer(add_completion=False)
DEFAULT_OUT = Path("reports")


def _facts(version: str | None, name: str, verify_keys: dict):
    from mlflow import MlflowClient

    from governance.facts import read_facts

    return read_facts(MlflowClient(), name=name, version=version, verify_keys=verify_keys)


@app.command("papers")
def papers(
    version: str | None = typer.Option(None, "--version", help="Registered version (default: the champion)."),
    out: Path | None = typer.Option(None, "--out", help="Folder to write to (default: reports/papers-<name>-v<N>)."),
    diff: tuple[str, str] | None = typer.Option(None, "--diff", help="List what changed between two versions' ATRS JSON."),
    name: str = typer.Option(MODEL_NAME, "--name", help="Registered model name."),
) -> None:
    """Write the ATRS record (Markdown, HTML, JSON), the Equality Impact Assessment and the DPIA draft.

    Fields svrisk cannot know are marked TO COMPLETE, never invented. A version the gate did not clear
    gets papers that say so on their first page (and exit code 1). The gate's signed verdict is checked
    with the service's key (SVRISK_VERIFY_KEY_FILE): a clearance it does not bear out is reported as
    NOT VERIFIED and treated as not cleared (exit 1); without a key the papers say the verdict is unverified.

    Example: svrisk papers --version 3 --out papers/v3; svrisk papers --diff 2 3
    """
    from governance.facts import configured_verify_keys
    from governance.papers import atrs_record, diff_records, first_page_notice, gate_status, write_papers

    try:
        keys = configured_verify_keys()
        if diff:
            old, new = (atrs_record(_facts(v, name, keys)).json_fields() for v in diff)
            lines = diff_records(old, new)
            typer.echo("\n".join(lines) if lines else f"no ATRS field differs between versions {diff[0]} and {diff[1]}")
            return
        facts = _facts(version, name, keys)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    folder = out or DEFAULT_OUT / f"papers-{name}-v{facts.version}"
    for path in write_papers(facts, folder):
        typer.echo(str(path))
    notice = first_page_notice(facts)
    if notice:
        typer.echo(notice, err=True)
    if not gate_status(facts)["cleared"]:
        raise typer.Exit(1)
