"""`svrisk contract --markdown`: the data contract as Markdown, rendered from ``extract.contract``.

``docs/data-contract.md`` is this command's output, so the document a partner
reads is the contract the loader enforces; a test fails when the committed
file and the rendered text differ. Everything is read from the contract
module's data (tables, columns, kinds, allowed values, bounds, descriptions,
protected attributes, age bands, the default outcome); nothing about a table
or column is written here.

Regenerate: ``svrisk contract --markdown --out docs/data-contract.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer()

DOC_PATH = Path("docs") / "data-contract.md"
REGENERATE = "svrisk contract --markdown --out docs/data-contract.md"
ERR_FORMAT = "only --markdown output exists; add --markdown"
# What each column kind means in a file (the loader's reading of it).
KIND_TEXT = {
    "id": "string",
    "date": "date",
    "category": "category",
    "int": "int",
    "number": "number",
    "string": "string",
}
KIND_VALUES = {
    "id": "pseudonymised person id",
    "date": "ISO date `YYYY-MM-DD`",
    "string": "lower-case text",
}


def _values(table: Any, column: Any) -> str:
    """The values column of one row: allowed categories or bounds, then the column's description."""
    parts = []
    if column.categories:
        parts.append(", ".join(column.categories))
    elif column.minimum is not None and column.maximum is not None:
        parts.append(f"{column.minimum:g}..{column.maximum:g}")
    elif column.minimum is not None:
        parts.append(f">= {column.minimum:g}")
    elif column.maximum is not None:
        parts.append(f"<= {column.maximum:g}")
    elif column.kind == "id":
        parts.append("unique" if table.one_row_per_person else "in people")
    elif column.kind in KIND_VALUES:
        parts.append(KIND_VALUES[column.kind])
    # contract.py may describe a column (getattr: ColumnSpec carries no description field yet).
    description = getattr(column, "description", "")
    if description:
        parts.append(f"({description})")
    return " ".join(parts)


def _table_section(table: Any) -> list[str]:
    title = f"## {table.name}" + (f" ({table.description})" if table.description else "")
    facts = []
    if table.date_column:
        facts.append(f"Event date: `{table.date_column}` (a feature at an as-of date reads rows dated before it).")
    facts.append("Optional: an extract may leave this table out." if table.optional else "Required.")
    lines = [title, "", " ".join(facts), "", "| column | type | values |", "|---|---|---|"]
    for column in table.columns:
        kind = KIND_TEXT[column.kind] + (", nullable" if column.nullable else "")
        lines.append(f"| {column.name} | {kind} | {_values(table, column)} |")
    return [*lines, ""]


def contract_markdown() -> str:
    """The whole contract as one Markdown document (ends with a newline)."""
    from extract import contract

    version = getattr(contract, "CONTRACT_VERSION", None)
    tables = contract.TABLES
    lines = [
        "# Data contract: the multi-agency extract",
        "",
        f"<!-- Generated from extract/contract.py by `{REGENERATE}`; do not edit by hand. -->",
        "",
    ]
    if version is not None:
        lines += [f"Version {version}.", ""]
    lines += [
        "An extract is a folder holding one file per table, "
        + " or ".join(f"`<table>.{fmt}`" for fmt in contract.FILE_FORMATS)
        + f", and optionally `{contract.MANIFEST_FILE}`.",
        "",
        "| table | required | event date | rows |",
        "|---|---|---|---|",
    ]
    for table in tables.values():
        lines.append(
            f"| {table.name} | {'no' if table.optional else 'yes'} | "
            f"{table.date_column or '-'} | {'one per person' if table.one_row_per_person else 'one per event'} |"
        )
    lines.append("")
    for table in tables.values():
        lines += _table_section(table)
    lines += [
        "## Protected and audited characteristics",
        "",
        "Protected (audited, never model inputs unless a training configuration asks for them): "
        + ", ".join(f"`{a}`" for a in contract.PROTECTED_ATTRIBUTES) + ".",
        "Sensitive (allowed as inputs, still audited): "
        + ", ".join(f"`{a}`" for a in contract.SENSITIVE_ATTRIBUTES) + ".",
        "",
        f"The cohort is aged {contract.COHORT_MIN_AGE} to {contract.COHORT_MAX_AGE} in whole years at the "
        "as-of date (from `birth_month`); the audit age bands are:",
        "",
        "| age band | from | to |",
        "|---|---|---|",
        *[f"| {label} | {low} | {high} |" for label, low, high in contract.AGE_BANDS],
        "",
        "## The default outcome",
        "",
        contract.DEFAULT_OUTCOME.describe(),
        "",
        "| setting | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in type(contract.DEFAULT_OUTCOME).model_fields.items():
        value = getattr(contract.DEFAULT_OUTCOME, name)
        shown = ", ".join(value) if isinstance(value, tuple) else str(value)
        lines.append(f"| {name} | {shown} | {field.description or ''} |")
    return "\n".join(lines) + "\n"


@app.command()
def contract(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the contract as Markdown.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of printing.")] = None,
) -> None:
    """Print the data contract (tables, columns, allowed values) as Markdown.

    docs/data-contract.md is this command's output; regenerate it after changing
    extract/contract.py.

    Example: svrisk contract --markdown --out docs/data-contract.md
    """
    if not markdown:
        raise typer.BadParameter(ERR_FORMAT, param_hint="--markdown")
    text = contract_markdown()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
