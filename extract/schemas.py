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

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from extract.canonical import TextColumn
from extract.contract import TABLES, ColumnSpec

if TYPE_CHECKING:
    import pandera.pandas as pa

UNKNOWN_CATEGORY = "unknown category; allowed values: {allowed}"
BELOW_MINIMUM = "out of range: must be at least {bound:g}"
ABOVE_MAXIMUM = "out of range: must be at most {bound:g}"
NOT_FIRST_OF_MONTH = "birth_month must be the first day of the month (only the month is kept)"

FIRST_OF_MONTH = "first_of_month"

# Parsed (pre-canonical) dtypes per contract kind; text columns are checked as values.
_PARSED_DTYPES = {"date": "datetime64[ns]", "int": "float64", "number": "float64"}


def _is_first_of_month(values: np.ndarray) -> np.ndarray:
    """Which datetime64 values fall on the first day of their month (NaT: False)."""
    days = values.astype("datetime64[D]")
    return days == days.astype("datetime64[M]").astype("datetime64[D]")


def _first_of_month(series: pd.Series) -> pd.Series:
    return pd.Series(_is_first_of_month(series.to_numpy(dtype="datetime64[ns]")), index=series.index)


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
            (pa.Check(_first_of_month, name=FIRST_OF_MONTH), NOT_FIRST_OF_MONTH)
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


# --- screening: can the schema find anything? -----------------------------------------------
# Pandera's lazy validation costs about a millisecond per table whatever its size, which is
# most of the time of one single case. ``schema_may_fail`` evaluates the same schema (its
# columns, dtypes, nullability and each check's parameters, read from the pandera objects
# above) with numpy; only when it finds something, or meets a check it cannot evaluate, does
# the loader run pandera itself, which then reports the failure cases exactly as before.

# Array predicates of pandera's built-in checks, from the check's own statistics.
_BUILT_IN: dict[str, Callable[[dict], Callable[[np.ndarray], np.ndarray]]] = {
    "isin": lambda stats: (lambda v, allowed=frozenset(stats["allowed_values"]):
                           np.fromiter((x in allowed for x in v), dtype=bool, count=len(v))),
    "greater_than_or_equal_to": lambda stats: (lambda v, low=stats["min_value"]: v >= low),
    "less_than_or_equal_to": lambda stats: (lambda v, high=stats["max_value"]: v <= high),
}
# Array versions of this module's own checks (the pandera check above wraps the same function).
_CUSTOM: dict[str, Callable[[np.ndarray], np.ndarray]] = {FIRST_OF_MONTH: _is_first_of_month}

_Screen = tuple[str | None, bool, tuple[Callable[[np.ndarray], np.ndarray], ...] | None]


@lru_cache(maxsize=None)
def _screens(name: str) -> dict[str, _Screen]:
    """Per schema column: expected dtype, nullable, and array predicates of its checks
    (None when a check has no array predicate here: the frame then goes to pandera)."""
    schema = table_schema(name)
    screens: dict[str, _Screen] = {}
    for column, spec in schema.columns.items():
        predicates: list[Callable[[np.ndarray], np.ndarray]] | None = []
        if spec.unique or spec.coerce or spec.regex or not spec.required:
            predicates = None
        for check in spec.checks if predicates is not None else ():
            usable = check.ignore_na and not check.element_wise and check.groupby is None
            if usable and check.name in _BUILT_IN:
                predicates.append(_BUILT_IN[check.name](check.statistics))
            elif usable and check.name in _CUSTOM:
                predicates.append(_CUSTOM[check.name])
            else:
                predicates = None
                break
        dtype = None if spec.dtype is None else str(spec.dtype)
        screens[column] = (dtype, spec.nullable,
                           None if predicates is None else tuple(predicates))
    return screens


def schema_may_fail(name: str, frame: Mapping[str, pd.Series | np.ndarray | TextColumn]) -> bool:
    """False only when :func:`table_schema` (``name``) certainly accepts ``frame``.

    ``frame`` maps each column name to its values, in the frame's column order
    (the loader's parsed columns: numpy arrays and TextColumns, or a
    DataFrame's ``dict(frame.items())``).

    True when a column is missing or not in the schema, a dtype differs, a
    non-nullable column holds a missing value, or any check fails on the present
    values (categoricals are checked on the categories in use).
    """
    screens = _screens(name)
    if len(frame) != len(screens) or any(c not in screens for c in frame):
        return True
    if schema_frame_unchecked(name):
        return True
    for column, (dtype, nullable, predicates) in screens.items():
        series = frame[column]
        kind = "category" if isinstance(series, TextColumn) else str(series.dtype)
        if predicates is None or (dtype is not None and kind != dtype):
            return True
        values = series.array if isinstance(series, pd.Series) else series
        if isinstance(values, pd.Categorical | TextColumn):
            codes = values.codes
            missing = codes < 0
            if predicates:
                used = np.bincount(codes[~missing], minlength=len(values.categories)) > 0
                present = np.asarray(values.categories, dtype=object)[used]
        else:
            values = np.asarray(values)
            missing = pd.isna(values) if values.dtype == object else (
                np.isnat(values) if values.dtype.kind in "mM" else
                np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool))
            if predicates:
                present = values[~missing]
        if not nullable and missing.any():
            return True
        for predicate in predicates:
            if not predicate(present).all():
                return True
    return False


@lru_cache(maxsize=None)
def schema_frame_unchecked(name: str) -> bool:
    """Whether the table schema has anything :func:`schema_may_fail` does not evaluate
    (dataframe-level checks, index, uniqueness, coercion, added columns)."""
    schema = table_schema(name)
    return bool(schema.checks or schema.index is not None or schema.unique or schema.coerce
                or schema.add_missing_columns or schema.strict is not True
                or schema.unique_column_names)
