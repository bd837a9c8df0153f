"""`svrisk validate`: load an extract and report every contract violation."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer()

DEFAULT_SHOWN = 50
INVALID_HEADLINE = "{path}: the extract breaks the data contract in {count} place(s)"
MORE_PROBLEMS = "... and {rest} more problem(s) not shown (use --show to list more)"
VALID_HEADLINE = "{path}: valid extract"
# Printed with the headline of a refused extract: where each kind of problem and its fix is explained.
SEE_DOCS = "See docs/data-scientist-guide.md, section 'When an extract is refused', for each problem and its fix."


@app.command()
def validate(
    path: Path = typer.Argument(
        ...,
        exists=True,
        file_okay=False,
        dir_okay=True,
        readable=True,
        help="Extract folder: one <table>.csv or <table>.parquet per contract table.",
    ),
    show: int = typer.Option(
        DEFAULT_SHOWN, "--show", min=1, help="Most problems to list (the rest are counted)."
    ),
) -> None:
    """Check an extract against the data contract and summarise it.

    Exits 0 and prints rows and date range per table when the extract is valid;
    exits 1 and lists every problem, grouped by table, when it is not.

    Example: svrisk validate data/demo
    """
    from rich.console import Console

    from extract.loader import ExtractValidationError, load_extract

    errors = Console(stderr=True, soft_wrap=True)
    try:
        # A spinner on a terminal while a large extract loads (silent when piped).
        with errors.status(f"loading and validating {path}"):
            extract = load_extract(path)
    except ExtractValidationError as err:
        _print_problems(errors, path, err.violations, show)
        raise typer.Exit(code=1) from None
    _print_summary(Console(soft_wrap=True), path, extract)
    for notice in extract.notices:  # once per load: what the loader did that is no violation
        errors.print(f"note: {notice}", markup=False, highlight=False)


def _print_problems(console, path: Path, violations: list, show: int) -> None:
    from rich.markup import escape

    # The pointer to the docs rides on the headline so the problem list stays one problem a line.
    headline = INVALID_HEADLINE.format(path=path, count=len(violations))
    console.print(f"[red]{escape(headline)}[/red] {escape(SEE_DOCS)}")
    current = None
    for violation in violations[:show]:
        if violation.table != current:
            current = violation.table
            console.print(f"[bold]{escape(current)}[/bold]")
        console.print(f"  {escape(str(violation))}", highlight=False)
    if len(violations) > show:
        console.print(MORE_PROBLEMS.format(rest=len(violations) - show))


def _print_summary(console, path: Path, extract) -> None:
    import pandas as pd
    from rich.markup import escape
    from rich.table import Table

    from extract.contract import MANIFEST_FILE, TABLES

    table = Table(title=escape(VALID_HEADLINE.format(path=path)), title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("date column")
    table.add_column("first", justify="right")
    table.add_column("last", justify="right")
    for name, spec in TABLES.items():
        frame = extract.tables[name]
        date_column = spec.date_column or "birth_month"
        dates = frame[date_column]
        first, last = (
            ("-", "-") if dates.isna().all()
            else (f"{dates.min():%Y-%m-%d}", f"{dates.max():%Y-%m-%d}")
        )
        label = name if name != "referrals" or extract.has_referrals else f"{name} (absent)"
        table.add_row(label, f"{len(frame):,}", date_column, first, last)
    console.print(table)
    people = extract.tables["people"]["person_id"].nunique()
    console.print(f"people: {people:,}")
    origin = (
        "from manifest.json" if (path / MANIFEST_FILE).exists()
        else "no manifest: the day after the latest record"
    )
    console.print(f"extracted_on: {pd.Timestamp(extract.extracted_on):%Y-%m-%d} ({origin})")
