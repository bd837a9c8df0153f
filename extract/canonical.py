"""Canonical in-memory dtypes for contract tables.

Every path that builds an :class:`~extract.contract.Extract` (CSV, Parquet,
the generator, one JSON case from the service) ends here, so that the feature
pipeline sees bit-identical inputs whichever way the records arrived. Call it
only on frames that already passed validation: it converts, it does not check.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from extract.contract import TABLES, ColumnSpec, frame_columns

DATE_DTYPE = "datetime64[ns]"
# A column as the loader and the feature builder pass it: a numpy array, a pandas.Categorical
# or a TextColumn (a Series is accepted wherever a column comes in from a caller's DataFrame).
ColumnValues = Any


@dataclass(frozen=True)
class TextColumn:
    """A parsed text column: ``codes`` (-1 for empty) into ``categories``, the distinct
    values in string order.

    The loader's form of text before canonical dtypes: like a ``pandas.Categorical``
    without its category validation, which costs more than parsing one case's cells.
    """

    codes: np.ndarray
    categories: Sequence[str]

    def __len__(self) -> int:
        return len(self.codes)

    def value(self, position: int) -> str | None:
        """The text at one row, None where empty."""
        code = int(self.codes[position])
        return None if code < 0 else self.categories[code]

    def to_categorical(self) -> pd.Categorical:
        """The same column as a pandas.Categorical (for pandera)."""
        return pd.Categorical.from_codes(self.codes, categories=pd.Index(list(self.categories), dtype=object))


@lru_cache(maxsize=None)
def canonical_dtype(col: ColumnSpec) -> object:
    """The in-memory dtype of one contract column (built once per process: a categorical
    dtype validates its categories each time it is made)."""
    if col.kind == "date":
        return DATE_DTYPE
    if col.kind == "category":
        return pd.CategoricalDtype(list(col.categories), ordered=False)
    if col.kind == "int":
        return "float64" if col.nullable else "int64"
    if col.kind == "number":
        return "float64"
    return object


@lru_cache(maxsize=None)
def _category_codes(col: ColumnSpec) -> dict[str, int]:
    """Position of each of a category column's values in its canonical dtype."""
    return {label: i for i, label in enumerate(canonical_dtype(col).categories)}


def empty_table(name: str) -> pd.DataFrame:
    """A zero-row frame with the table's canonical columns and dtypes."""
    # A shallow copy of one frame per table: copy-on-write keeps callers' changes apart.
    return _empty_table(name).copy(deep=False)


@lru_cache(maxsize=None)
def _empty_table(name: str) -> pd.DataFrame:
    spec = TABLES[name]
    return pd.DataFrame(
        {c.name: pd.Series([], dtype=canonical_dtype(c)) for c in spec.columns}
    )


def to_canonical(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` restricted to the table's columns, in contract order, with canonical dtypes.

    Rows are sorted by person_id then the table's date column (stable), and
    the index is reset, so identical records give identical frames whatever
    their original order.
    """
    if not len(frame):  # every conversion ends in the canonical dtype: nothing to convert
        return empty_table(name)
    return table_frame(canonical_columns(name, dict(frame.items()), len(frame)))


def canonical_columns(name: str, columns: Mapping[str, ColumnValues], n_rows: int) -> dict[str, ColumnValues]:
    """The table's columns in contract order and canonical dtypes, sorted as :func:`to_canonical` sorts.

    ``columns`` maps column names to Series, numpy arrays or ``pandas.Categorical``
    (the loader's parsed columns); contract columns it lacks are empty, others
    are dropped. The result holds numpy arrays (``object`` for text, as
    :func:`table_frame` keeps it) and ``pandas.Categorical`` for categories.
    """
    if not n_rows:
        return _empty_columns(name)
    spec = TABLES[name]
    source = columns.get("person_id")
    out: dict[str, ColumnValues] = {}
    for col in spec.columns:
        values = columns.get(col.name)
        if values is None:
            values = np.full(n_rows, None, dtype=object)
        out[col.name] = _convert(values, col)
    order = _sort_order(source, out, spec.date_column)
    if order is not None:
        out = {key: values[order] for key, values in out.items()}  # canonical: arrays, Categorical
    return out


def table_frame(columns: Mapping[str, ColumnValues]) -> pd.DataFrame:
    """A DataFrame of canonical columns (text stays ``object``, never inferred as Arrow ``str``)."""
    return pd.DataFrame(
        {
            key: pd.Series(values, dtype=object, copy=False) if values.dtype == object else values
            for key, values in columns.items()
        },
        copy=False,
    )


@lru_cache(maxsize=None)
def _empty_columns_cached(name: str) -> tuple[tuple[str, ColumnValues], ...]:
    return tuple(frame_columns(_empty_table(name)).items())


def _empty_columns(name: str) -> dict[str, ColumnValues]:
    return dict(_empty_columns_cached(name))


class CanonicalTables(Mapping[str, pd.DataFrame]):
    """Every contract table held as canonical column arrays; each DataFrame is built on first use.

    One person's case is scored from the arrays alone (:meth:`columns`):
    building a DataFrame per table would cost more than its features.

    A validated extract does not change: the arrays are read-only, and each
    ``tables[name]`` is a new shallow copy of the table's frame, so a caller that
    edits its frame (copy-on-write) changes neither the arrays nor what the
    next reader gets. Two threads reading a table for the first time at once
    may both build its frame; both get equal frames over the same arrays.
    """

    def __init__(self, columns: Mapping[str, Mapping[str, ColumnValues]]) -> None:
        for table in columns.values():
            for values in table.values():
                if isinstance(values, np.ndarray):
                    values.flags.writeable = False
        self._columns = {name: MappingProxyType(dict(table)) for name, table in columns.items()}
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            columns = self._columns[name]  # KeyError for a name that is not a table, as a dict
            frame = table_frame(columns) if len(next(iter(columns.values()))) else empty_table(name)
            self._frames[name] = frame
        return self._frames[name].copy(deep=False)

    def __getstate__(self) -> dict[str, object]:
        # Frames are rebuilt from the arrays when read: pickling them too would double the size.
        return {"_columns": {name: dict(table) for name, table in self._columns.items()}}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["_columns"])

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def columns(self, name: str) -> Mapping[str, ColumnValues]:
        """One table's canonical column arrays (read-only: shared, not copied)."""
        return self._columns[name]


def _categorical(values: ColumnValues) -> pd.Categorical | TextColumn | None:
    """``values`` as codes and categories (a pandas.Categorical or a TextColumn) when it is
    one or a categorical Series, else None."""
    if isinstance(values, pd.Categorical | TextColumn):
        return values
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return values.array
    return None


def _sort_order(
    source: ColumnValues | None, result: dict[str, ColumnValues], date_column: str | None
) -> np.ndarray | None:
    """Stable row order (None when already in order) by person_id then date (missing last), as
    ``sort_values(kind="mergesort")`` would give, computed on integer keys: the loader hands
    person_id over as a categorical with sorted categories, whose codes are the order.

    ``source`` is the person_id column before conversion, ``result`` the converted columns.
    """
    if len(result["person_id"]) < 2:
        return None  # one row is always in order
    person = None
    categorical = None if source is None else _categorical(source)
    if categorical is not None and _increasing(categorical.categories):
        person = categorical.codes.astype(np.int64)
    if person is None or (person < 0).any():  # missing ids sort as the text "nan" does
        person, _ = pd.factorize(result["person_id"], sort=True, use_na_sentinel=True)
    last = int(person.max()) + 1 if len(person) else 0
    person = np.where(person < 0, last, person)  # missing ids sort last
    if date_column is None:
        key = person
    else:
        dates = result[date_column]
        key = _day_key(person, dates, last + 1)
        if key is None:  # times of day or a huge span: two keys
            when = np.where(np.isnat(dates), np.iinfo(np.int64).max, dates.view("int64"))
            return np.lexsort((when, person))
    if not len(key) or bool((key[1:] >= key[:-1]).all()):
        return None  # already in order, as extracts usually are: no copy
    return np.argsort(key, kind="stable")


def _increasing(categories: Sequence[str]) -> bool:
    if isinstance(categories, pd.Index):
        return categories.is_monotonic_increasing
    return all(a <= b for a, b in zip(categories[:-1], categories[1:]))


_DAY_NS = 86_400 * 10**9


def _day_key(person: np.ndarray, dates: np.ndarray, people: int) -> np.ndarray | None:
    """One int64 key ``person * span + day`` (NaT last within a person), or None when the
    dates carry a time of day or the product would not fit."""
    ns = dates.view("int64")
    missing = np.isnat(dates)
    valid = ns[~missing]
    if len(valid) and (valid % _DAY_NS != 0).any():
        return None
    days = np.where(missing, 0, ns // _DAY_NS)
    first = int(days[~missing].min()) if len(valid) else 0
    span = (int(days[~missing].max()) - first + 2) if len(valid) else 1
    if people * span >= 2**62:
        return None
    return person * span + np.where(missing, span - 1, days - first)


def _convert(values: ColumnValues, col: ColumnSpec) -> ColumnValues:
    """One column in its canonical dtype: a numpy array, or a pandas.Categorical for categories."""
    dtype = canonical_dtype(col)
    categorical = _categorical(values)
    if col.kind == "date":
        if isinstance(values, np.ndarray) and values.dtype == DATE_DTYPE:
            return values
        series = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series, format="%Y-%m-%d")
        if getattr(series.dtype, "tz", None) is not None:
            series = series.dt.tz_localize(None)  # the local calendar day, as the loader reads it
        return series.to_numpy(dtype=DATE_DTYPE)
    if col.kind == "category":
        if categorical is not None:
            # Recode on the categories, not the rows: values outside the contract become NaN,
            # exactly as building the categorical from the values would.
            lookup = _category_codes(col)
            where = np.array([lookup.get(c, -1) for c in list(categorical.categories)] + [-1])
            return pd.Categorical.from_codes(where[categorical.codes], dtype=dtype, validate=False)
        return pd.Categorical(np.asarray(values, dtype=object), dtype=dtype)
    if col.kind in ("int", "number"):
        if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
            return values.astype(dtype)
        series = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
        plain = series.dtype.kind in "iuf"  # already numbers: to_numeric would return them
        numeric = series if plain else pd.to_numeric(series, errors="raise")
        return numeric.to_numpy(dtype=dtype)
    # id and string columns: plain Python str objects, never the pyarrow string dtype,
    # so that equality and hashing behave the same on every path.
    # A nullable text column (area_code, programme) keeps an empty cell as None.
    empty = None if col.nullable else str(np.nan)
    if categorical is not None:
        # Convert the distinct values once, then spread them over the rows by code.
        labels = np.array([str(v) for v in categorical.categories] + [empty], dtype=object)
        return labels[categorical.codes]
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object, copy=False)
    if col.nullable:
        missing = series.isna().to_numpy()
        out = np.asarray(series.astype(str), dtype=object)
        out[missing] = None
        return out
    return np.asarray(series.astype(str), dtype=object)
