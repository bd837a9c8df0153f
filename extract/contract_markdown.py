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
    elif column.pattern:
        parts.append(f"matches `{column.pattern}`")
    elif column.kind == "id":
        parts.append("unique" if table.one_row_per_person else "in people")
    elif column.kind in KIND_VALUES:
        parts.append(KIND_VALUES[column.kind])
    # The description, unless it only repeats what the values already say ("in people").
    if column.description and parts and column.description.startswith(parts[-1]):
        parts[-1] = column.description
    elif column.description:
        parts.append(f"({column.description})" if parts else column.description)
    if column.added_in != contract_version():
        return " ".join(parts)
    return " ".join([*parts, f"*new in {column.added_in}*"])


def contract_version() -> str:
    from extract.contract import CONTRACT_VERSION

    return CONTRACT_VERSION


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
    from extract.identifiers import EMAIL, NHS_NUMBER, POSTCODE, TELEPHONE, UPN
    from extract.loader import DERIVED_TERM_END, LAST_TERM_DAYS

    lines += [
        "An extract is a folder holding one file per table, "
        + " or ".join(f"`<table>.{fmt}`" for fmt in contract.FILE_FORMATS)
        + f", and optionally `{contract.MANIFEST_FILE}`.",
        "",
        "## Rules for every table",
        "",
        *[f"- {rule}" for rule in contract.RULES],
        "",
        "A value is refused as a direct identifier when it contains "
        + ", ".join([NHS_NUMBER, UPN, POSTCODE, EMAIL]) + " or " + TELEPHONE + ".",
        "",
        "## Tables",
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
        f"A case outside ages {contract.COHORT_MIN_AGE}-{contract.COHORT_MAX_AGE} on its as-of date is "
        "refused for scoring (the error names the age); a batch reports how many rows it left out and why.",
        "",
        f"## Reading a {contract.PREVIOUS_VERSION} extract",
        "",
        f"Columns new in {version} may be absent from an extract written to {contract.PREVIOUS_VERSION}: "
        "nullable ones are read empty, and the loader says so once per load. "
        + DERIVED_TERM_END.format(days=LAST_TERM_DAYS).capitalize() + ".",
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
