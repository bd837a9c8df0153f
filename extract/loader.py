"""The one loader and validator of contract extracts.

First increment: table and column checks, then canonical coercion. Full
cell-level validation follows behind the same signatures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from extract.canonical import empty_table, to_canonical
from extract.contract import REQUIRED_TABLES, TABLES, Extract

MISSING_TABLE = "required table is missing"
UNKNOWN_TABLE = "not a contract table; contract tables: {allowed}"
MISSING_COLUMN = "required column is missing"
EXTRA_COLUMN = "column is not in the contract and is refused, not silently read"


@dataclass(frozen=True)
class Violation:
    """One breach of the data contract.

    ``row`` is the 1-based data row as a person counts it in the file (header
    excluded), or None for a table- or column-level problem.
    """

    table: str
    column: str | None
    row: int | None
    value: Any
    problem: str

    def __str__(self) -> str:
        where = self.table
        if self.column is not None:
            where += f".{self.column}"
        if self.row is not None:
            where += f" row {self.row}"
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.problem}{value}"


class ExtractValidationError(ValueError):
    """An extract breaks the data contract; ``violations`` lists every problem found."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = list(violations)
        lines = [f"the extract breaks the data contract in {len(self.violations)} place(s):"]
        lines += [f"  {v}" for v in self.violations]
        super().__init__("\n".join(lines))


def extract_from_frames(
    frames: Mapping[str, pd.DataFrame],
    *,
    extracted_on: str | pd.Timestamp | None = None,
    source: str | None = None,
) -> Extract:
    """Validate in-memory contract tables and return a canonical :class:`Extract`."""
    violations: list[Violation] = []
    for name in frames:
        if name not in TABLES:
            violations.append(
                Violation(name, None, None, None, UNKNOWN_TABLE.format(allowed=", ".join(TABLES)))
            )
    for name in REQUIRED_TABLES:
        if name not in frames:
            violations.append(Violation(name, None, None, None, MISSING_TABLE))
    for name, frame in frames.items():
        if name not in TABLES:
            continue
        expected = TABLES[name].column_names
        for col in expected:
            if col not in frame.columns:
                violations.append(Violation(name, col, None, None, MISSING_COLUMN))
        for col in frame.columns:
            if col not in expected:
                violations.append(Violation(name, str(col), None, None, EXTRA_COLUMN))
    if violations:
        raise ExtractValidationError(violations)
    tables = {
        name: to_canonical(name, frames[name]) if name in frames else empty_table(name)
        for name in TABLES
    }
    if extracted_on is None:
        latest = max(
            (
                tables[name][col.name].max()
                for name, spec in TABLES.items()
                for col in spec.columns
                if col.kind == "date" and len(tables[name])
            ),
            default=pd.NaT,
        )
        extracted_on = latest + pd.Timedelta(days=1)
    return Extract(
        tables=tables,
        extracted_on=pd.Timestamp(extracted_on),
        source=source,
        has_referrals="referrals" in frames,
    )
