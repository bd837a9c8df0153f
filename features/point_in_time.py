"""Point-in-time lookups of dated records for many cohort rows at once.

Every feature family asks the same questions of a table: for each cohort row
(person, as_of), how many of this person's records are dated in
``[as_of - window, as_of)``, when was the last one, what do their values add
up to. Instead of joining every record to every cohort row, each record gets
one sortable integer key ``person_code * KEY_STRIDE + day`` and each question
becomes a ``numpy.searchsorted`` of the cohort rows' keys into that sorted
array. A window's records are then a contiguous slice ``[lo, hi)``, so counts
are index differences and integer sums are cumulative-sum differences: exact,
and independent of how many other people are in the extract. That is what
makes the single-case path equal the batch path to the bit.

A record dated on the as-of date is *not* before it (``side="left"``), so it
never leaks into a feature (the contract: features use rows dated strictly
before as_of).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from extract.contract import TABLES, Extract

# Days are offset so that any date the loader accepts (years 1678-2261), minus or plus a
# few years of window, maps to a positive number below the stride.
DAY_OFFSET = 200_000
KEY_STRIDE = 1_000_000

# Code of each category of every categorical event column, in contract order, by (table,
# column): ``weapon`` has different lists in police_contacts and health_events.
CATEGORY_CODES: dict[tuple[str, str], dict[str, int]] = {
    (table.name, col.name): {name: i for i, name in enumerate(col.categories)}
    for table in TABLES.values()
    if table.name != "people"
    for col in table.columns
    if col.kind == "category"
}

# Windows in days for "the last N months" (a record dated as_of - 365 is inside the 12-month window).
DAYS_6_MONTHS = 182
DAYS_12_MONTHS = 365
DAYS_24_MONTHS = 730
# "Earlier" suspect contacts are those 13 to 36 months before as_of.
DAYS_36_MONTHS = 3 * DAYS_12_MONTHS
DAYS_PER_MONTH = 365.25 / 12

UNKNOWN_PERSON = "cohort rows refer to person_id(s) not in the people table: {ids}"

# Up to this many ids (people plus ids looked up), a dict finds person codes faster than
# building pandas hash tables, whose fixed cost (~0.1 ms) dominates a single case; measured
# even at about 1,500 ids.
SMALL_LOOKUP = 1024


def day_numbers(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Whole days since 1970-01-01 as int64 (NaT becomes a meaningless number: mask it)."""
    return np.asarray(dates, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def record_keys(codes: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The sortable key ``person_code * KEY_STRIDE + DAY_OFFSET + day`` of each record."""
    return codes * KEY_STRIDE + DAY_OFFSET + days


def person_codes(people_ids: np.ndarray, person_id: np.ndarray) -> np.ndarray:
    """Position of each ``person_id`` in ``people_ids`` (-1 when absent) as int64.

    Both are object arrays. ``people_ids`` must be unique: with a repeated id pandas
    raises, on either route (the dict route hands duplicates to pandas).
    """
    if len(people_ids) + len(person_id) <= SMALL_LOOKUP:
        position = {pid: i for i, pid in enumerate(people_ids.tolist())}
        if len(position) == len(people_ids):
            return np.fromiter((position.get(pid, -1) for pid in person_id.tolist()),
                               dtype=np.int64, count=len(person_id))
    # dtype=object: an inferred pyarrow "str" index is several times slower to look up.
    index = pd.Index(people_ids, dtype=object)
    return index.get_indexer(pd.Index(person_id, dtype=object)).astype(np.int64)


class CohortClock:
    """The cohort rows as (person code, as-of day) pairs, against an extract's people.

    Every array a family computes from the clock is in *query order* (sorted by
    person, then as_of); :meth:`restore` returns it to cohort order.

    Parameters
    ----------
    extract : Extract
        Its tables are read as arrays (``Extract.columns``); ``people.person_id``
        in table order gives each person's code (its position).
    person_id, as_of : pandas.Series
        The cohort columns (kept as ``person_id`` and ``as_of``).
    """

    def __init__(self, extract: Extract, person_id: pd.Series, as_of: pd.Series) -> None:
        self.extract = extract
        self.person_id = person_id
        self.as_of = as_of
        self._event_tables: dict[str, EventTable] = {}
        people = self.table("people")
        self.people_ids = people.values("person_id", dtype=object)
        # Person codes of the cohort and of every event table in one lookup (one hash
        # probe pass, not one per table).
        names = [name for name in extract.tables if name != "people"]
        ids = [person_id.to_numpy(dtype=object)]
        ids += [self.table(name).values("person_id", dtype=object) for name in names]
        bounds = np.cumsum([0] + [len(values) for values in ids])
        all_codes = person_codes(self.people_ids, np.concatenate(ids))
        codes = all_codes[:bounds[1]]
        if (codes < 0).any():
            missing = sorted(set(person_id[codes < 0]))[:5]
            raise ValueError(UNKNOWN_PERSON.format(ids=missing))
        people.codes = np.arange(len(self.people_ids), dtype=np.int64)
        for i, name in enumerate(names, start=1):
            self._event_tables[name].codes = all_codes[bounds[i]:bounds[i + 1]]
        as_of_days = day_numbers(as_of)
        # Rows are queried in (person, as_of) order: numpy's binary search is several
        # times faster on sorted needles. Family outputs come back in this order and
        # ``restore`` puts them back in cohort order.
        self.order = np.argsort(codes * KEY_STRIDE + as_of_days, kind="stable")
        self.row_codes = codes
        self.codes = codes[self.order]
        self.as_of_days = as_of_days[self.order]
        self.base = self.codes * KEY_STRIDE + DAY_OFFSET
        self.n = len(self.codes)
        # The key of each row's as_of: records with smaller keys are the person's earlier ones.
        self.as_of_keys = self.base + self.as_of_days
        self._window_starts: dict[int, np.ndarray] = {}
        # What ``searchsorted`` gives against no records; shared, so read-only.
        self.no_positions = np.zeros(self.n, dtype=np.intp)
        self.no_positions.flags.writeable = False

    def restore(self, values: np.ndarray) -> np.ndarray:
        """Values computed in query order (last axis), put back in cohort row order."""
        out = np.empty_like(values)
        out[..., self.order] = values
        return out

    def window_start(self, window_days: int) -> np.ndarray:
        """Keys of ``as_of - window_days`` per row (shared by every index of this clock)."""
        if window_days not in self._window_starts:
            self._window_starts[window_days] = self.as_of_keys - window_days
        return self._window_starts[window_days]

    def table(self, name: str) -> EventTable:
        """The numpy view of one table against this cohort (built once, shared by families)."""
        if name not in self._event_tables:
            self._event_tables[name] = EventTable(self, self.extract.columns(name), name)
        return self._event_tables[name]

    def events(self, codes: np.ndarray, days: np.ndarray, values: np.ndarray | None = None,
               *, is_sorted: bool = False) -> EventIndex:
        """An :class:`EventIndex` over records given as person codes and day numbers
        (``is_sorted``: the caller guarantees they are in (code, day) order)."""
        return EventIndex(self, record_keys(codes, days), values, is_sorted=is_sorted)


class EventTable:
    """One table's columns as arrays (person codes, day numbers, category codes, values).

    The columns come from ``Extract.columns``: numpy arrays and ``pandas.Categorical``,
    never a DataFrame, which keeps pandas out of the per-feature work; that is what
    lets one case be built in a few milliseconds. ``codes`` (person codes) is set
    by the clock.
    """

    def __init__(self, clock: CohortClock, columns: Mapping[str, np.ndarray | pd.Categorical],
                 name: str) -> None:
        self.clock = clock
        self.columns = columns
        self.name = name
        self.codes: np.ndarray = np.empty(0, dtype=np.int64)
        self._days: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._keys: dict[str, tuple[np.ndarray, np.ndarray | None, bool]] = {}
        self._categories: dict[str, tuple[np.ndarray, dict[str, int]]] = {}

    def array(self, column: str) -> np.ndarray | pd.Categorical:
        """The column as the extract holds it (shared with the extract: never write to it)."""
        return self.columns[column]

    def values(self, column: str, dtype: object = None) -> np.ndarray:
        """The column as a numpy array (no copy when it already has ``dtype``)."""
        return np.asarray(self.columns[column], dtype=dtype)

    def days(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Day numbers of a date column and the mask of rows where it is present."""
        if column not in self._days:
            values = self.values(column, dtype="datetime64[ns]")
            self._days[column] = (day_numbers(values), ~np.isnat(values))
        return self._days[column]

    def _date_keys(self, column: str) -> tuple[np.ndarray, np.ndarray | None, bool]:
        """Record keys of the rows where the date is present, the mask of those rows
        (None: every row) and whether the keys are already sorted.

        Canonical tables are sorted by person then date, so their keys usually are:
        every subset of them is then sorted too, and no index needs to sort again.
        """
        if column not in self._keys:
            days, present = self.days(column)
            if present.all():
                keys, rows = record_keys(self.codes, days), None
            else:
                keys, rows = record_keys(self.codes[present], days[present]), present
            self._keys[column] = (keys, rows, bool((keys[1:] >= keys[:-1]).all()))
        return self._keys[column]

    def category_codes(self, column: str) -> tuple[np.ndarray, dict[str, int]]:
        """A categorical column's integer codes and the code of each category.

        Canonical tables carry the contract's categories in contract order
        (extract.canonical), so the code of each category comes from the contract.
        """
        if column not in self._categories:
            self._categories[column] = (np.asarray(self.columns[column].codes), CATEGORY_CODES[(self.name, column)])
        return self._categories[column]

    def is_in(self, column: str, categories: tuple[str, ...] | str) -> np.ndarray:
        """Rows whose categorical ``column`` is one of ``categories``."""
        codes, lookup = self.category_codes(column)
        if isinstance(categories, str):
            return codes == lookup[categories]
        mask = np.zeros(len(codes), dtype=bool)
        for name in categories:
            mask |= codes == lookup[name]
        return mask

    def index(self, date_column: str, mask: np.ndarray | None = None,
              values: np.ndarray | None = None) -> EventIndex:
        """An :class:`EventIndex` over the rows where ``mask`` holds and the date is present."""
        keys, rows, is_sorted = self._date_keys(date_column)
        if values is not None:
            values = np.asarray(values) if rows is None else np.asarray(values)[rows]
        if mask is not None:
            if rows is not None:
                mask = mask[rows]
            keys = keys[mask]
            values = None if values is None else values[mask]
        return EventIndex(self.clock, keys, values, is_sorted=is_sorted)


class EventIndex:
    """Sorted record keys of one table (or one subset of it) for windowed queries.

    Records of people not in the people table carry code -1 and sort before
    everyone, so no cohort row ever sees them.

    Parameters
    ----------
    clock : CohortClock
    keys : ndarray
        :func:`record_keys` of the records.
    values : ndarray, optional
        One value per record, for :meth:`float_sum`.
    is_sorted : bool
        The keys are already in order (a stable sort would not move them).
    """

    def __init__(self, clock: CohortClock, keys: np.ndarray, values: np.ndarray | None = None,
                 *, is_sorted: bool = False) -> None:
        # Sort by key then value so that float sums add in the same order whatever
        # order the records arrived in.
        if values is not None:
            order = np.lexsort((values, keys))
        elif is_sorted:
            order = None  # what a stable argsort of sorted keys gives: the identity
        else:
            order = np.argsort(keys, kind="stable")
        self.clock = clock
        self.order = order
        self.keys = keys if order is None else keys[order]
        self.values = None if values is None else values[order]
        if len(self.keys):
            self.first = np.searchsorted(self.keys, clock.base, side="left")
            self.before = np.searchsorted(self.keys, clock.as_of_keys, side="left")
        else:  # no records (most tables of a single case): every position is 0
            self.first = self.before = clock.no_positions

    def lower(self, window_days: int | None) -> np.ndarray:
        """Position of the first record dated on or after ``as_of - window_days`` (or the person's first)."""
        if window_days is None or not len(self.keys):
            return self.first
        return np.searchsorted(self.keys, self.clock.window_start(window_days), side="left")

    def count(self, window_days: int | None = None) -> np.ndarray:
        """Records dated in ``[as_of - window_days, as_of)`` (all before as_of when None)."""
        return (self.before - self.lower(window_days)).astype(np.float64)

    def count_from(self, horizon_days: int) -> np.ndarray:
        """Records dated in ``[as_of, as_of + horizon_days)``: the outcome window, never a feature."""
        upper = np.searchsorted(self.keys, self.clock.as_of_keys + horizon_days, side="left")
        return (upper - self.before).astype(np.float64)

    def days_since_last(self) -> np.ndarray:
        """Days from the latest record before as_of to as_of; NaN when there is none."""
        has = self.before > self.first
        out = np.full(self.clock.n, np.nan)
        last_day = self.keys[self.before[has] - 1] - self.clock.base[has]
        out[has] = (self.clock.as_of_days[has] - last_day).astype(np.float64)
        return out

    def int_sum(self, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Exact sum of integer ``values`` over sorted positions ``[lo, hi)``.

        ``values`` has one entry per record this index was built from, in that order.
        """
        values = np.asarray(values, dtype=np.int64)
        if self.order is not None:
            values = values[self.order]
        cumulative = np.concatenate(([0], np.cumsum(values)))
        return (cumulative[hi] - cumulative[lo]).astype(np.float64)

    def float_sum(self, window_days: int | None = None) -> np.ndarray:
        """Sum of values (NaN counted as 0) of records in the window, added record by record.

        Each cohort row's records are summed in key order by ``np.bincount``, so
        the result does not depend on the other people in the extract.
        """
        lo = self.lower(window_days)
        lengths = self.before - lo
        rows = np.repeat(np.arange(self.clock.n), lengths)
        starts = np.repeat(lo - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        positions = np.arange(len(rows)) + starts
        weights = np.nan_to_num(self.values[positions].astype(np.float64), nan=0.0)
        return np.bincount(rows, weights=weights, minlength=self.clock.n)


def flag(counts: np.ndarray) -> np.ndarray:
    """1.0 where a count is positive, else 0.0 (float64 like every model input)."""
    return (counts > 0).astype(np.float64)
