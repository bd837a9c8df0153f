"""Canonical in-memory dtypes for contract tables.

Every path that builds an :class:`~extract.contract.Extract` (CSV, Parquet,
the generator, one JSON case from the service) ends here, so that the feature
pipeline sees bit-identical inputs whichever way the records arrived. Call it
only on frames that already passed validation: it converts, it does not check.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from extract.contract import TABLES, ColumnSpec

DATE_DTYPE = "datetime64[ns]"


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
    spec = TABLES[name]
    present = set(frame.columns)
    source = frame["person_id"] if "person_id" in present else None
    out = {}
    for col in spec.columns:
        if col.name == "person_id" and source is not None:
            values = source
        elif col.name in present:
            values = frame[col.name]
        else:
            values = pd.Series([None] * len(frame), index=frame.index)
        out[col.name] = _convert(values, col)
    order = _sort_order(source, out, spec.date_column)
    result = pd.DataFrame(out, index=frame.index)
    if order is not None:
        result = result.take(order)
    elif _is_default_index(result.index):
        return result  # already in order and numbered 0..n-1: reset_index would only copy
    return result.reset_index(drop=True)


def _is_default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _sort_order(
    source: pd.Series | None, result: dict[str, pd.Series], date_column: str | None
) -> np.ndarray | None:
    """Stable row order (None when already in order) by person_id then date (missing last), as
    ``sort_values(kind="mergesort")`` would give, computed on integer keys: the loader hands
    person_id over as a categorical with sorted categories, whose codes are the order.

    ``source`` is the person_id column before conversion, ``result`` the converted columns.
    """
    if len(result["person_id"]) < 2:
        return None  # one row is always in order
    person = None
    if (
        source is not None
        and isinstance(source.dtype, pd.CategoricalDtype)
        and source.cat.categories.is_monotonic_increasing
    ):
        person = source.cat.codes.to_numpy(dtype=np.int64)
    if person is None or (person < 0).any():  # missing ids sort as the text "nan" does
        person, _ = pd.factorize(result["person_id"], sort=True, use_na_sentinel=True)
    last = int(person.max()) + 1 if len(person) else 0
    person = np.where(person < 0, last, person)  # missing ids sort last
    if date_column is None:
        key = person
    else:
        key = _day_key(person, result[date_column], last + 1)
        if key is None:  # times of day or a huge span: two keys
            dates = result[date_column]
            when = np.where(dates.isna().to_numpy(), np.iinfo(np.int64).max,
                            dates.to_numpy().view("int64"))
            return np.lexsort((when, person))
    if not len(key) or bool((key[1:] >= key[:-1]).all()):
        return None  # already in order, as extracts usually are: no copy
    return np.argsort(key, kind="stable")


_DAY_NS = 86_400 * 10**9


def _day_key(person: np.ndarray, dates: pd.Series, people: int) -> np.ndarray | None:
    """One int64 key ``person * span + day`` (NaT last within a person), or None when the
    dates carry a time of day or the product would not fit."""
    ns = dates.to_numpy().view("int64")
    missing = dates.isna().to_numpy()
    valid = ns[~missing]
    if len(valid) and (valid % _DAY_NS != 0).any():
        return None
    days = np.where(missing, 0, ns // _DAY_NS)
    first = int(days[~missing].min()) if len(valid) else 0
    span = (int(days[~missing].max()) - first + 2) if len(valid) else 1
    if people * span >= 2**62:
        return None
    return person * span + np.where(missing, span - 1, days - first)


def _convert(values: pd.Series, col: ColumnSpec) -> pd.Series:
    dtype = canonical_dtype(col)
    if col.kind == "date":
        if values.dtype == DATE_DTYPE:
            return values
        if pd.api.types.is_datetime64_any_dtype(values):
            return values.astype(DATE_DTYPE)
        return pd.to_datetime(values, format="%Y-%m-%d").astype(DATE_DTYPE)
    if col.kind == "category":
        if isinstance(values.dtype, pd.CategoricalDtype):
            # Recode on the categories, not the rows: values outside the contract become NaN,
            # exactly as building the categorical from the values would.
            lookup = _category_codes(col)
            where = np.array([lookup.get(c, -1) for c in values.cat.categories.tolist()] + [-1])
            codes = where[values.cat.codes.to_numpy()]
            return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False),
                             index=values.index)
        return pd.Series(pd.Categorical(values.astype(object), dtype=dtype), index=values.index)
    if col.kind in ("int", "number"):
        plain = values.dtype.kind in "iuf"  # already numbers: to_numeric would return them
        numeric = values if plain else pd.to_numeric(values, errors="raise")
        return numeric.astype(dtype)
    # id and string columns: plain Python str objects, never the pyarrow string dtype,
    # so that equality and hashing behave the same on every path.
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Convert the distinct values once, then spread them over the rows by code.
        labels = np.array([str(v) for v in values.cat.categories] + [str(np.nan)], dtype=object)
        return pd.Series(labels[values.cat.codes.to_numpy()], index=values.index, dtype=object)
    return pd.Series(np.asarray(values.astype(str), dtype=object), index=values.index, dtype=object)
