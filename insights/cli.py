"""`svrisk needs`: the partnership's needs assessment from an extract."""

from __future__ import annotations

from pathlib import Path

import typer

from extract.command_refusal import print_refusal
from registry.names import Alias
from registry.versions import ERR_ALIAS_OR_VERSION

app = typer.Typer()

SEE_DOCS = "See docs/needs-assessment.md."


@app.command()
def needs(
    extract_dir: Path = typer.Argument(..., help="The extract folder (data contract)."),
    as_of: str = typer.Option(None, "--as-of", help="Assess as of this date (default: the extract date)."),
    out: Path = typer.Option(Path("needs"), "--out", help="Folder for needs.html, CSV tables and PNG charts."),
    config: Path = typer.Option(None, "--config", help="Needs configuration YAML (default: insights/needs.yaml)."),
    validate_only: bool = typer.Option(False, "--validate-only", help="Only validate the configuration."),
    alias: Alias = typer.Option(None, "--alias", help="Score with this alias (default: champion)."),
    version: int = typer.Option(None, "--version", help="Score with this registered version."),
    no_scores: bool = typer.Option(False, "--no-scores", help="Leave out the who and cost sections."),
) -> None:
    """Where and when serious violence happens, the ED's view, who could be reached within
    capacity and what it costs: aggregated, disclosure-controlled tables, charts and an HTML report.

    Example: svrisk needs data/demo --as-of 2025-04-01 --out reports/needs
    """
    import pandas as pd
    from rich.console import Console

    from insights.config import NeedsConfig

    console = Console(stderr=True)

    def fail(message: str) -> None:
        print_refusal(message, SEE_DOCS)
        raise typer.Exit(code=2)

    try:
        settings = NeedsConfig.from_yaml(config)
    except ValueError as err:
        fail(str(err))
    if alias is not None and version is not None:
        fail(ERR_ALIAS_OR_VERSION)
    if validate_only:
        console.print(f"configuration valid (version {settings.version})")
        return
    from extract.loader import load_extract
    from insights.capacity import who_and_cost
    from extract.episodes import episodes
    from insights.episodes import in_window
    from insights.report import build_needs, check_as_of, write_needs

    try:
        when = None if as_of is None else pd.Timestamp(as_of)
    except ValueError:
        fail(f"--as-of is not a date: {as_of!r}")
    try:
        extract = load_extract(extract_dir)
        date = check_as_of(extract.tables, extract.extracted_on, when)
    except ValueError as err:
        fail(str(err))
    who = "who and cost: left out (--no-scores)"
    if not no_scores:
        start = date - pd.DateOffset(months=settings.where.lookback_months)
        recent = in_window(episodes(extract.tables), start, date)
        who = who_and_cost(extract, date, settings, recent, alias=alias.value if alias else None, version=version)
    result = build_needs(extract.tables, extract.extracted_on, settings, date, who=who)
    written = write_needs(result, out)
    for line in result.missing:
        console.print(f"[yellow]missing:[/yellow] {line}", highlight=False)
    console.print(f"wrote {len(written)} files to {out} (open {out / 'needs.html'})")
