"""Pandera schemas derived from the data contract (``extract.contract.TABLES``).

Nothing here is copied by hand from the contract: columns, nullability,
category lists and numeric bounds all come from the :class:`ColumnSpec`
entries, so a change to the contract changes validation with it.

The schemas check *parsed* frames, as the loader builds them: dates already
``datetime64[ns]`` (unparseable cells are reported by the loader and left
empty), numbers ``float64``, text and categories as text. Each check carries
the message the loader reports when it fails; see :func:`check_message`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from extract.contract import TABLES, ColumnSpec

if TYPE_CHECKING:
    import pandera.pandas as pa

UNKNOWN_CATEGORY = "unknown category; allowed values: {allowed}"
BELOW_MINIMUM = "out of range: must be at least {bound:g}"
ABOVE_MAXIMUM = "out of range: must be at most {bound:g}"
NOT_FIRST_OF_MONTH = "birth_month must be the first day of the month (only the month is kept)"

# Parsed (pre-canonical) dtypes per contract kind; text columns are checked as values.
_PARSED_DTYPES = {"date": "datetime64[ns]", "int": "float64", "number": "float64"}


def _column_checks(col: ColumnSpec) -> list[tuple[pa.Check, str]]:
    """The pandera checks of one column, each with the violation message it reports."""
    import pandera.pandas as pa

    checks: list[tuple[pa.Check, str]] = []
    if col.kind == "category":
        checks.append(
            (pa.Check.isin(list(col.categories)),
             UNKNOWN_CATEGORY.format(allowed=", ".join(col.categories)))
        )
    if col.minimum is not None:
        checks.append((pa.Check.ge(col.minimum), BELOW_MINIMUM.format(bound=col.minimum)))
    if col.maximum is not None:
        checks.append((pa.Check.le(col.maximum), ABOVE_MAXIMUM.format(bound=col.maximum)))
    if col.name == "birth_month":
        checks.append(
            (pa.Check(lambda s: s.dt.day == 1, name="first_of_month"), NOT_FIRST_OF_MONTH)
        )
    return checks


@lru_cache(maxsize=None)
def table_schema(name: str) -> pa.DataFrameSchema:
    """The strict pandera schema of contract table ``name`` (extra or missing columns fail)."""
    import pandera.pandas as pa

    spec = TABLES[name]
    columns = {
        col.name: pa.Column(
            _PARSED_DTYPES.get(col.kind),
            checks=[check for check, _ in _column_checks(col)],
            nullable=col.nullable,
            coerce=False,
        )
        for col in spec.columns
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=False, name=name)


@lru_cache(maxsize=None)
def check_message(table: str, column: str, check_number: int) -> str:
    """The violation message of check number ``check_number`` on ``table.column``."""
    col = TABLES[table].column(column)
    return _column_checks(col)[check_number][1]
