"""The one loader and validator of contract extracts.

Every path that reads records (``svrisk validate``, training, batch scoring,
the single-case service path) goes through :func:`load_extract` or
:func:`extract_from_frames`. Both parse every cell, collect *every* breach of
the data contract as a :class:`Violation` and raise one
:class:`ExtractValidationError` listing them all, or return an
:class:`~extract.contract.Extract` with canonical dtypes.

How it stays fast on ~10M rows: each column is factorised once (the values of
a real extract repeat a lot: a few thousand dates, a handful of categories,
one id per person), parsing and identifier checks run on the distinct values
only, and text columns travel as codes into their distinct values
(:class:`~extract.canonical.TextColumn`) so that the category checks and the
cross-table person check work on the distinct values too.

Columns stay numpy arrays from parsing to the returned extract (pandera sees a
DataFrame only when the array screen says one of its checks may fail), and the
extract builds each table's DataFrame on first use: one person's case, whose
features are read from the arrays, never pays for a DataFrame at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from extract.canonical import (
    DATE_DTYPE,
    CanonicalTables,
    ColumnValues,
    TextColumn,
    canonical_columns,
)
from extract import identifiers
from extract.partitioned import is_partitioned, partition_folders, person_partition
from extract.contract import (
    CONTRACT_VERSION,
    FILE_FORMATS,
    MANIFEST_FILE,
    REQUIRED_TABLES,
    TABLES,
    UNKNOWN_TABLE,
    ColumnSpec,
    Extract,
)

# One table before parsing: its columns by name (Series from a DataFrame, or 1-D arrays from
# a JSON case) and its number of rows.
RawTable = tuple[dict[str, Any], int]

# --- messages a data officer reads ------------------------------------------------------
NOT_A_FOLDER = "not a folder: an extract is a folder with one file per contract table"
MISSING_TABLE = "required table is missing (expected {table}.csv or {table}.parquet)"
BAD_PARTITION_INDEX = "partition {index} does not exist; this extract has partitions 0 to {last}"
WRONG_PARTITION = (
    "{count:,} person_id value(s) in {folder} belong to another partition (first: {first!r}); "
    "a person's rows must all be in partition hash(person_id) mod {partitions}"
)
NOT_A_FRAME = "expected a table (pandas DataFrame), got {kind}"
NOT_A_MAPPING = "expected a mapping of table name to table (a DataFrame, or its columns), got {kind}"
BOTH_FORMATS = "table is present as both CSV and Parquet; keep exactly one file per table"
UNKNOWN_FILE = (
    "file is not part of the contract; an extract holds only <table>.csv or <table>.parquet "
    "per contract table ({allowed}) and an optional manifest.json"
)
UNREADABLE_FILE = "cannot read the file: {reason}"
EMPTY_FILE = "file is empty; a table needs at least its header row"
RAGGED_ROW = "row has {actual} cell(s) but the header has {expected}"
DUPLICATE_COLUMN = "column appears more than once in the header"
MISSING_COLUMN = "required column is missing"
EXTRA_COLUMN = "column is not in the contract and is refused, not silently read"
IDENTIFYING_COLUMN = (
    "column name looks like a direct identifier ({what}); extracts must be pseudonymised "
    "(no names, addresses, dates of birth, NHS numbers or UPNs), so it is refused"
)
IDENTIFYING_VALUE = (
    "value looks like {what}; extracts must be pseudonymised, so it is refused and not "
    "repeated here"
)
IDENTIFYING_NHS_NUMBER = IDENTIFYING_VALUE.format(what=identifiers.NHS_NUMBER)
IDENTIFYING_UPN = IDENTIFYING_VALUE.format(what=identifiers.UPN)
IDENTIFYING_POSTCODE = IDENTIFYING_VALUE.format(what=identifiers.POSTCODE)
IDENTIFYING_EMAIL = IDENTIFYING_VALUE.format(what=identifiers.EMAIL)
IDENTIFYING_TELEPHONE = IDENTIFYING_VALUE.format(what=identifiers.TELEPHONE)
_IDENTIFYING_PROBLEMS = {
    identifiers.NHS_NUMBER: IDENTIFYING_NHS_NUMBER,
    identifiers.UPN: IDENTIFYING_UPN,
    identifiers.POSTCODE: IDENTIFYING_POSTCODE,
    identifiers.EMAIL: IDENTIFYING_EMAIL,
    identifiers.TELEPHONE: IDENTIFYING_TELEPHONE,
}
WITHHELD = "<withheld>"
_WITHHELD_PROBLEMS = frozenset(_IDENTIFYING_PROBLEMS.values())
# What an unknown category value is closest to, added to the schema's message.
CLOSEST_CATEGORY = "{problem}; the closest listed value is {suggestion}"
NOT_AN_AREA_CODE = "not an LSOA 2021 code (E01 or W01 followed by 6 digits)"
DUPLICATE_TERM = "person_id and term_start appear together more than once in attendance (first at row {first})"
TERM_END_BEFORE_START = "term_end is before term_start ({start})"
SUSPENSION_WITHOUT_DAYS = "a suspension needs its length in days (> 0)"
DAYS_NOT_POSITIVE = "a suspension's days must be more than 0"
PERMANENT_WITH_DAYS = "days must be empty for a permanent exclusion"
ENGAGED_BEFORE_REFERRED = "engaged_on is before referred_on ({referred})"
# Notices: what the loader did that is no violation; printed once per load by the CLIs.
DERIVED_TERM_END = (
    "attendance has no term_end column (a contract 1.0 extract): each term's end is taken as "
    "the day before the person's next term_start, or term_start + {days} days for their last term"
)
ABSENT_NEW_COLUMNS = "{table} has no {columns} column(s) (a contract 1.0 extract): read as empty"
# A 1.0 extract's last term of a person ends this many days after it starts (the contract).
LAST_TERM_DAYS = 91
BAD_DATE = "not a valid ISO date YYYY-MM-DD (years 1678-2261)"
NOT_NUMERIC = "not a number"
NOT_WHOLE = "not a whole number"
EMPTY_REQUIRED = "empty cell in a required column"
DUPLICATE_PERSON = "person_id appears more than once in people (first at row {first})"
UNKNOWN_PERSON = "person_id is not in people"
END_BEFORE_START = "end_on is before start_on ({start})"
ATTENDED_OVER_POSSIBLE = "sessions_attended is more than sessions_possible ({possible})"
UNAUTHORISED_OVER_MISSED = (
    "unauthorised_absences is more than the sessions missed "
    "(sessions_possible - sessions_attended = {missed})"
)
FUTURE_RECORD = (
    "dated on or after extracted_on ({extracted_on}); an extract cannot hold records "
    "from after it was taken"
)
BAD_MANIFEST = 'manifest.json must be a JSON object {{"extracted_on": "YYYY-MM-DD"}}: {reason}'
BAD_EXTRACTED_ON = "extracted_on is not a valid ISO date YYYY-MM-DD"
FUTURE_EXTRACTED_ON = "extracted_on is in the future (today is {today})"
CHECK_FAILED = "failed check {check}"
RAGGED_COLUMNS = "table {table}: columns must all have the same length, got lengths {lengths}"
PARTITION_LACKS_TABLE = "the table is missing from {count} partition folder(s) (first: {first})"

MANIFEST = "manifest"
EXTRACT = "extract"

_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Years a datetime64[ns] holds whole (its range is 1677-09-21 to 2262-04-11).
_FIRST_YEAR, _LAST_YEAR = 1678, 2261
# From this many distinct values on, text screening runs vectorised in Arrow; below it,
# plain Python avoids pandas' per-call overhead on small (single-case) frames.
_VECTORISE_FROM = 2000
# Up to this many cells, a text column is factorised in plain Python (see _small_text_codes).
_SMALL_COLUMN = 256
_IDENTIFYING_TOKENS = {
    "name": "a name",
    "names": "a name",
    "forename": "a name",
    "forenames": "a name",
    "surname": "a name",
    "address": "an address",
    "postcode": "an address",
    "nhs": "an NHS number",
    "upn": "a unique pupil number",
    "dob": "a date of birth",
    "email": "contact details",
    "phone": "contact details",
    "telephone": "contact details",
    "mobile": "contact details",
}
_IDENTIFYING_PHRASES = {"date_of_birth": "a date of birth", "birth_date": "a date of birth"}


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
            where += f", column {self.column}"
        if self.row is not None:
            where += f", row {self.row}"
        value = "" if self.value is None else f" (value: {self.value!r})"
        return f"{where}: {self.problem}{value}"


@dataclass
class _LoadNotes:
    """What one load did besides checking: ``notices`` for the user (no violations) and the
    ``derived`` (table, column) pairs it filled in itself, which are not records' dates."""

    notices: list[str] = field(default_factory=list)
    derived: set[tuple[str, str]] = field(default_factory=set)


class ExtractValidationError(ValueError):
    """An extract breaks the data contract; ``violations`` lists every problem found."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = list(violations)
        lines = [f"the extract breaks the data contract in {len(self.violations)} place(s):"]
        lines += [f"  {v}" for v in self.violations]
        super().__init__("\n".join(lines))


# --- public entry points -----------------------------------------------------------------


def load_extract(path: str | Path) -> Extract:
    """Load and validate the extract in folder ``path``.

    Each table is ``<table>.csv`` or ``<table>.parquet`` (detected per file).
    Sub-folders (such as the generator's ``_truth/``) are ignored; any other
    file is refused. ``manifest.json`` is optional.

    Raises
    ------
    ExtractValidationError
        Listing every violation found in every file.
    """
    root = Path(path)
    if not root.is_dir():
        raise ExtractValidationError([Violation(EXTRACT, None, None, str(path), NOT_A_FOLDER)])
    violations: list[Violation] = []
    found: dict[str, list[Path]] = {}
    manifest: Path | None = None
    # The whole of a partitioned extract (extract/partitioned.py): each table read from every partition.
    across_partitions = _partitioned_files(root, violations) if is_partitioned(root) else None
    for entry in sorted(root.iterdir()) if across_partitions is None else ():
        if entry.is_dir():
            continue
        stem, _, suffix = entry.name.partition(".")
        if entry.name == MANIFEST_FILE:
            manifest = entry
        elif stem in TABLES and suffix in FILE_FORMATS:
            found.setdefault(stem, []).append(entry)
        else:
            violations.append(
                Violation(entry.name, None, None, None,
                          UNKNOWN_FILE.format(allowed=", ".join(TABLES)))
            )
    if across_partitions is not None:
        found = {name: paths[:1] for name, paths in across_partitions.items()}
        manifest = root / MANIFEST_FILE if (root / MANIFEST_FILE).is_file() else None
    raw: dict[str, RawTable] = {}
    rows: dict[str, np.ndarray] = {}
    unreadable: set[str] = set()
    for name, paths in found.items():
        if len(paths) > 1:
            violations.append(Violation(name, None, None, None, BOTH_FORMATS))
            unreadable.add(name)
            continue
        reader = _read_csv if paths[0].suffix == ".csv" else _read_parquet
        source = across_partitions[name] if across_partitions is not None else paths[0]
        frame, row_numbers, problems = reader(name, source)
        violations += problems
        if frame is None:
            unreadable.add(name)
        else:
            raw[name] = _frame_table(name, frame, violations)
            rows[name] = row_numbers
    extracted_on: pd.Timestamp | None = None
    if manifest is not None:
        extracted_on, problems = _read_manifest(manifest)
        violations += problems
    return _validate(
        raw,
        rows=rows,
        present=set(raw) | unreadable,
        extracted_on=extracted_on,
        violations=violations,
        source=str(root),
    )


def load_partition(path: str | Path, index: int) -> Extract:
    """Load and validate partition ``index`` of the partitioned extract at ``path``.

    Besides the contract's checks, every person of the partition must hash to
    it: that is what lets each partition be processed alone.

    Raises
    ------
    ValueError
        For a partition that does not exist or holds another partition's person.
    extract.loader.ExtractValidationError
        For any breach of the data contract inside the partition.
    """
    folders = partition_folders(path)
    if isinstance(index, bool) or not 0 <= index < len(folders):
        raise ValueError(BAD_PARTITION_INDEX.format(index=index, last=len(folders) - 1))
    extract = load_extract(folders[index])
    ids = extract.tables["people"]["person_id"].to_numpy(dtype=object)
    strays = np.flatnonzero(person_partition(ids, len(folders)) != index)
    if len(strays):
        raise ValueError(WRONG_PARTITION.format(
            count=len(strays), folder=folders[index].name, first=ids[strays[0]], partitions=len(folders)
        ))
    return extract


def extract_from_frames(
    frames: Mapping[str, pd.DataFrame],
    *,
    extracted_on: str | pd.Timestamp | None = None,
    source: str | None = None,
) -> Extract:
    """Validate in-memory contract tables and return a canonical :class:`Extract`.

    Frames may hold strings (as read from a file or a JSON case) or typed
    values. Row numbers in violations are 1-based positions in each frame.
    ``extracted_on`` plays the role of the manifest date.

    Raises
    ------
    ExtractValidationError
        Listing every violation found.
    """
    return _extract_from_memory(frames, _given_frame, extracted_on=extracted_on, source=source)


def extract_from_columns(
    tables: Mapping[str, Mapping[str, np.ndarray]],
    *,
    extracted_on: str | pd.Timestamp | None = None,
    source: str | None = None,
) -> Extract:
    """:func:`extract_from_frames` for tables given as columns: each table a mapping of
    column name to a 1-D numpy array (text and dates as ``object`` arrays of str or None,
    numbers as ``float64`` with NaN for missing), all of one table the same length.

    This is how one JSON case reaches the loader: the same parsing and checks,
    without building a DataFrame per table.

    Raises
    ------
    ExtractValidationError
        Listing every violation found (``tables`` not a mapping is one).
    ValueError
        If one table's columns differ in length (a caller's error, not the data's).
    """
    return _extract_from_memory(tables, _given_columns, extracted_on=extracted_on, source=source)


def _extract_from_memory(
    tables: Mapping[str, Any],
    read: Callable[[str, Any, list[Violation]], RawTable | None],
    *,
    extracted_on: str | pd.Timestamp | None,
    source: str | None,
) -> Extract:
    """The in-memory entry points: ``read`` turns one given table into a RawTable (or
    reports why it cannot, returning None)."""
    if not isinstance(tables, Mapping):
        raise ExtractValidationError([Violation(EXTRACT, None, None, None, NOT_A_MAPPING.format(
            kind=type(tables).__name__))])
    violations: list[Violation] = []
    raw: dict[str, RawTable] = {}
    for name, table in tables.items():
        if name not in TABLES:
            violations.append(Violation(str(name), None, None, None,
                                        UNKNOWN_TABLE.format(table=str(name), allowed=", ".join(TABLES))))
            continue
        read_table = read(name, table, violations)
        if read_table is not None:
            raw[name] = read_table
    day = None if extracted_on is None else _parse_extracted_on(extracted_on, violations)
    return _validate(raw, rows={}, present={name for name in tables if name in TABLES},
                     extracted_on=day, violations=violations, source=source)


def _given_frame(name: str, frame: Any, violations: list[Violation]) -> RawTable | None:
    if not isinstance(frame, pd.DataFrame):
        violations.append(Violation(name, None, None, None,
                                    NOT_A_FRAME.format(kind=type(frame).__name__)))
        return None
    return _frame_table(name, frame, violations)


def _given_columns(name: str, columns: Mapping[str, np.ndarray], _violations: list[Violation]) -> RawTable:
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(RAGGED_COLUMNS.format(table=name, lengths=sorted(lengths)))
    return dict(columns), lengths.pop() if lengths else 0


def _frame_table(name: str, frame: pd.DataFrame, violations: list[Violation]) -> RawTable:
    """A DataFrame's columns by (text) name; a repeated column is reported and read once.

    Rows are read by position (row numbers count from the top), so the caller's
    index is dropped: a column kept as given (one outside the contract) must not be
    aligned on labels later.
    """
    if not (isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1):
        frame = frame.reset_index(drop=True)
    names = [str(c) for c in frame.columns]
    columns: dict[str, Any] = {}
    reported: set[str] = set()
    for position, column in enumerate(names):
        if column in columns:
            if column not in reported:
                violations.append(Violation(name, column, None, None, DUPLICATE_COLUMN))
                reported.add(column)
            continue
        columns[column] = frame.iloc[:, position]
    return columns, len(frame)


# --- reading files ---------------------------------------------------------------------


def _read_csv(name: str, path: Path) -> tuple[pd.DataFrame | None, np.ndarray | None, list]:
    """Read a CSV with every cell as text; ragged rows are reported and skipped."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        return None, None, [Violation(name, None, None, None,
                                      UNREADABLE_FILE.format(reason=exc))]
    if not header:
        return None, None, [Violation(name, None, None, None, EMPTY_FILE)]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        return None, None, [Violation(name, h, None, None, DUPLICATE_COLUMN) for h in duplicated]

    ragged: list[tuple[int | None, int, int]] = []

    def on_invalid_row(row) -> str:
        ragged.append((row.number, row.actual_columns, row.expected_columns))
        return "skip"

    def read(use_threads: bool):
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=use_threads, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pacsv.ConvertOptions(
                # Dictionary-encoded text: the parser finds the distinct values while reading,
                # and they arrive in pandas as categoricals that later steps reuse.
                column_types={h: pa.dictionary(pa.int32(), pa.string()) for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )

    try:
        table = read(use_threads=True)
        if ragged:
            # Only single-threaded parsing knows line numbers; rare, so read again.
            ragged.clear()
            table = read(use_threads=False)
    except (pa.ArrowException, OSError) as exc:
        return None, None, [Violation(name, None, None, None,
                                      UNREADABLE_FILE.format(reason=exc))]
    frame = table.to_pandas()
    problems = [
        Violation(name, None, number - 1, None,
                  RAGGED_ROW.format(actual=actual, expected=expected))
        for number, actual, expected in ragged
    ]
    row_numbers = np.arange(1, len(frame) + 1, dtype=np.int64)
    for number, _, _ in sorted(ragged):
        # Later rows keep the number a person sees in the file.
        row_numbers[row_numbers >= number - 1] += 1
    return frame, row_numbers, problems


def _partitioned_files(root: Path, violations: list[Violation]) -> dict[str, list[Path]]:
    """Each table's files across the partitions of a partitioned extract, in partition order.

    A table present in some partitions but not all is a violation (it would
    silently lose people); a table in none is left for the missing-table check.
    """
    try:
        folders = partition_folders(root)
    except ValueError as err:
        violations.append(Violation(EXTRACT, None, None, None, str(err)))
        return {}
    files: dict[str, list[Path]] = {}
    for name in TABLES:
        paths = [folder / f"{name}.parquet" for folder in folders]
        missing = [path.parent.name for path in paths if not path.is_file()]
        if len(missing) == len(paths):
            continue
        if missing:
            violations.append(Violation(name, None, None, None, PARTITION_LACKS_TABLE.format(
                count=len(missing), first=missing[0])))
            continue
        files[name] = paths
    return files


def _read_parquet(
    name: str, path: Path | list[Path]
) -> tuple[pd.DataFrame | None, np.ndarray | None, list]:
    """One Parquet file, or the files of one table across partitions (read as one table)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path[0] if isinstance(path, list) else path)
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        # Text as dictionaries (categoricals in pandas), as from the CSV reader; dates travel
        # as ISO text, so Parquet and CSV share one parsing path.
        table = pq.read_table(path, read_dictionary=text)
        table = pa.table(
            [
                column.cast(pa.string()).dictionary_encode()
                if pa.types.is_date(column.type) else column
                for column in table.columns
            ],
            names=table.column_names,
        )
        frame = table.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        return None, None, [Violation(name, None, None, None,
                                      UNREADABLE_FILE.format(reason=exc))]
    return frame, None, []


def _read_manifest(path: Path) -> tuple[pd.Timestamp | None, list[Violation]]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [Violation(MANIFEST, None, None, None, BAD_MANIFEST.format(reason=exc))]
    if not isinstance(content, dict) or set(content) != {"extracted_on"}:
        return None, [Violation(MANIFEST, None, None, None,
                                BAD_MANIFEST.format(reason="unexpected structure"))]
    problems: list[Violation] = []
    return _parse_extracted_on(content["extracted_on"], problems), problems


def _today() -> pd.Timestamp:
    """Today's date in UTC, as a naive midnight timestamp (the service's clock is UTC too)."""
    return pd.Timestamp.now(tz="UTC").normalize().tz_localize(None)


def _parse_extracted_on(value: object, violations: list[Violation]) -> pd.Timestamp | None:
    if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "isoformat"):
        day = pd.Timestamp(value)
    elif isinstance(value, str) and _ISO_DATE_RE.fullmatch(value):
        day = pd.to_datetime(value, format="%Y-%m-%d", errors="coerce")
    else:
        day = pd.NaT
    if pd.isna(day):
        violations.append(Violation(MANIFEST, "extracted_on", None, value, BAD_EXTRACTED_ON))
        return None
    if day.tzinfo is not None:
        day = day.tz_convert("UTC").tz_localize(None)
    day = day.normalize()  # a date: records are complete for every day before it
    today = _today()
    if day > today:
        violations.append(Violation(MANIFEST, "extracted_on", None, day.strftime("%Y-%m-%d"),
                                    FUTURE_EXTRACTED_ON.format(today=today.strftime("%Y-%m-%d"))))
    return day


# --- validation ---------------------------------------------------------------------------


def _validate(
    raw: dict[str, RawTable],
    *,
    rows: dict[str, np.ndarray],
    present: set[str],
    extracted_on: pd.Timestamp | None,
    violations: list[Violation],
    source: str | None,
) -> Extract:
    for name in REQUIRED_TABLES:
        if name not in present:
            violations.append(Violation(name, None, None, None, MISSING_TABLE.format(table=name)))
    parsed: dict[str, dict[str, ColumnValues]] = {}
    row_numbers: dict[str, np.ndarray] = {}
    n_rows: dict[str, int] = {}
    notes = _LoadNotes()
    for name in TABLES:
        if name not in raw:
            continue
        columns, n = raw[name]
        numbers = rows.get(name)
        if numbers is None:
            numbers = np.arange(1, n + 1, dtype=np.int64)
        row_numbers[name] = numbers
        n_rows[name] = n
        parsed[name] = _validate_table(name, columns, n, numbers, violations, notes)
    _cross_table_checks(parsed, row_numbers, violations, notes.derived)
    if extracted_on is None:
        extracted_on = _latest_date(parsed, notes.derived) + pd.Timedelta(days=1)
    else:
        _future_checks(parsed, row_numbers, extracted_on, violations, notes.derived)
    if violations:
        raise ExtractValidationError(sorted(violations, key=_order))
    tables = CanonicalTables({
        name: canonical_columns(name, parsed.get(name, {}), n_rows.get(name, 0)) for name in TABLES
    })
    return Extract(tables=tables, extracted_on=extracted_on, source=source,
                   has_referrals="referrals" in parsed, notices=tuple(notes.notices))


def _validate_table(
    name: str,
    columns: dict[str, Any],
    n_rows: int,
    numbers: np.ndarray,
    violations: list[Violation],
    notes: _LoadNotes,
) -> dict[str, ColumnValues]:
    """Parse every contract column, run the table's pandera schema, return the parsed columns.

    Parsed columns hold dates as datetime64[ns] arrays, numbers as float64 arrays
    and text as :class:`~extract.canonical.TextColumn`; cells that failed parsing are left empty
    (and already reported). Columns outside the contract are passed through as
    given (the schema reports them).
    """
    if not n_rows and tuple(columns) == TABLES[name].column_names:
        # No cells, exactly the contract's columns: nothing to report, and parsing gives the
        # same typed columns whatever the input dtypes.
        return dict(_empty_parsed(name))
    return _parse_table(name, columns, n_rows, numbers, violations, notes)


@lru_cache(maxsize=None)
def _empty_parsed(name: str) -> tuple[tuple[str, ColumnValues], ...]:
    """The parsed columns of a zero-row table with the contract's columns (built once)."""
    columns = {c: np.empty(0, dtype=object) for c in TABLES[name].column_names}
    violations: list[Violation] = []
    typed = _parse_table(name, columns, 0, np.empty(0, dtype=np.int64), violations, _LoadNotes())
    if violations:  # cannot happen with the contract's own columns; never hide it if it does
        raise ExtractValidationError(violations)
    return tuple(typed.items())


def _parse_table(
    name: str,
    columns: dict[str, Any],
    n_rows: int,
    numbers: np.ndarray,
    violations: list[Violation],
    notes: _LoadNotes,
) -> dict[str, ColumnValues]:
    """:func:`_validate_table` for any table."""
    spec = TABLES[name]
    parsed: dict[str, ColumnValues] = {}
    reported: dict[str, np.ndarray] = {}
    for col, values in columns.items():
        what = None if col in spec.column_names else _identifying(col)
        if what is not None:
            violations.append(Violation(name, col, None, None,
                                        IDENTIFYING_COLUMN.format(what=what)))
        elif col in spec.column_names:
            parsed[col], reported[col] = _parse_column(name, spec.column(col), values, numbers,
                                                       violations)
        else:
            parsed[col] = values  # extra column: the schema reports it
    _fill_previous_version(name, parsed, reported, n_rows, notes)
    failed = _run_schema(name, parsed, n_rows, columns, numbers, reported, violations)
    for column, positions in failed.items():
        # A cell already reported takes no part in cross-column checks: one fault, one message.
        parsed[column] = _emptied(parsed[column], positions)
    if name == "exclusions" and "days" in reported:
        _exclusion_days_checks(parsed, columns, reported["days"], numbers, violations)
    return parsed


def _emptied(values: ColumnValues, positions: list[int]) -> ColumnValues:
    """A copy of a parsed column with the cells at ``positions`` empty."""
    if isinstance(values, TextColumn):
        codes = values.codes.copy()
        codes[positions] = -1
        return TextColumn(codes, values.categories)
    out = np.array(values, copy=True)
    out[positions] = np.datetime64("NaT", "ns") if out.dtype.kind == "M" else np.nan
    return out


def _fill_previous_version(
    name: str,
    parsed: dict[str, ColumnValues],
    reported: dict[str, np.ndarray],
    n_rows: int,
    notes: _LoadNotes,
) -> None:
    """Read a table written to contract 1.0 as 1.1: the nullable columns it lacks as empty,
    a lacking ``attendance.term_end`` derived as the contract says; each said once."""
    absent = [col for col in TABLES[name].columns
              if col.added_in == CONTRACT_VERSION and col.name not in parsed]
    empty_ones = [col.name for col in absent if col.nullable]
    for col in absent:
        if col.nullable:
            parsed[col.name] = _empty_column(col, n_rows)
            reported[col.name] = np.zeros(n_rows, dtype=bool)
    if empty_ones:
        notes.notices.append(ABSENT_NEW_COLUMNS.format(table=name, columns=", ".join(empty_ones)))
    if (name == "attendance" and "term_end" not in parsed
            and {"person_id", "term_start"} <= set(parsed)):
        start = parsed["term_start"]
        parsed["term_end"] = derived_term_end(parsed["person_id"].codes, start)
        reported["term_end"] = np.isnat(start)  # an empty or bad term_start is reported already
        notes.derived.add(("attendance", "term_end"))
        notes.notices.append(DERIVED_TERM_END.format(days=LAST_TERM_DAYS))


def derived_term_end(person: np.ndarray, term_start: np.ndarray) -> np.ndarray:
    """A 1.0 extract's term ends (contract, "Changes from 1.0"): the day before the same
    person's next term_start, or term_start + 91 days for their last term.

    ``person`` holds integer person codes (-1 for empty), ``term_start`` datetime64[ns]
    (NaT where empty: the end is then NaT too). Vectorised: one sort by (person, start).
    """
    start = np.asarray(term_start, dtype="datetime64[ns]")
    valid = (person >= 0) & ~np.isnat(start)
    end = np.full(len(start), np.datetime64("NaT"), dtype="datetime64[ns]")
    rows = np.flatnonzero(valid)
    order = rows[np.lexsort((start[rows], person[rows]))]
    one_day = np.timedelta64(1, "D")
    ends = start[order] + np.timedelta64(LAST_TERM_DAYS, "D")
    same_person_next = person[order][1:] == person[order][:-1]
    ends[:-1] = np.where(same_person_next, start[order][1:] - one_day, ends[:-1])
    end[order] = ends
    return end


def _empty_column(col: ColumnSpec, n_rows: int) -> ColumnValues:
    """A parsed column of ``n_rows`` empty cells."""
    if col.kind == "date":
        return np.full(n_rows, np.datetime64("NaT"), dtype="datetime64[ns]")
    if col.kind in ("int", "number"):
        return np.full(n_rows, np.nan)
    return TextColumn(np.full(n_rows, -1, dtype=np.int64), [])


def _identifying(column: str) -> str | None:
    """What a column name suggests it identifies, or None."""
    normal = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")
    for phrase, what in _IDENTIFYING_PHRASES.items():
        if phrase in normal:
            return what
    for token in normal.split("_"):
        if token in _IDENTIFYING_TOKENS:
            return _IDENTIFYING_TOKENS[token]
    if normal in ("nhs_no", "nhsnumber", "firstname", "lastname", "fullname"):
        return "a name" if "name" in normal else "an NHS number"
    return None


def _parse_column(
    table: str,
    col: ColumnSpec,
    values: Any,
    numbers: np.ndarray,
    violations: list[Violation],
) -> tuple[ColumnValues, np.ndarray]:
    """Parse one column on its distinct values; return the typed column (a numpy array, or a
    :class:`~extract.canonical.TextColumn` for text) and a mask of cells already reported (so that schema
    failures on them are not reported twice).

    ``values`` is a Series, or a 1-D ``object`` or ``float64`` array (one JSON case).
    """
    if not isinstance(values, pd.Series) and not (
        isinstance(values, np.ndarray) and values.dtype.kind in "Of"
    ):
        values = pd.Series(values, copy=False)
    if col.kind in ("int", "number") and _is_plain_numeric(values):
        floats = (np.asarray(values, dtype=np.float64) if isinstance(values, np.ndarray)
                  else values.to_numpy(dtype="float64", na_value=np.nan))
        infinite = np.isinf(floats)
        fraction = np.zeros(len(floats), dtype=bool)
        if col.kind == "int":
            finite = np.isfinite(floats)
            fraction[finite] = np.floor(floats[finite]) != floats[finite]
        bad = infinite | fraction
        positions = np.flatnonzero(bad)
        _report(table, col.name, values, numbers, positions,
                [NOT_NUMERIC if infinite[p] else NOT_WHOLE for p in positions], violations)
        floats = np.where(bad, np.nan, floats)
        return floats, bad
    if col.kind == "date" and pd.api.types.is_datetime64_any_dtype(values):
        dates = values.dt.tz_localize(None) if values.dt.tz is not None else values
        first, last = dates.min(), dates.max()
        if pd.isna(first) or (_FIRST_YEAR <= first.year and last.year <= _LAST_YEAR):
            return dates.to_numpy(dtype=DATE_DTYPE), np.zeros(len(values), dtype=bool)
        values = dates.dt.strftime("%Y-%m-%d")  # beyond the ns range: judged as text below

    small = _small_text_codes(values)
    if small is not None:  # a few cells of text (one JSON case): factorised in plain Python
        codes, text = small
        uniques = None
        unused = np.zeros(len(text), dtype=bool)
    elif isinstance(values.dtype, pd.CategoricalDtype):  # as read from CSV: codes are ready
        codes = values.cat.codes.to_numpy(dtype=np.int64)
        uniques = values.cat.categories
        unused = np.bincount(codes + 1, minlength=len(uniques) + 1)[1:] == 0
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        unused = np.zeros(len(uniques), dtype=bool)
    # The distinct values are few (dates, categories) or one per person (ids): plain Python
    # over them is cheap and costs no per-call pandas overhead on tiny single-case frames.
    if uniques is None:
        pass
    elif isinstance(uniques.dtype, pd.StringDtype):
        text = uniques.tolist()
    else:
        text = [_as_text(u) for u in uniques]
    empty = _blank(text)
    problem = np.full(len(text), None, dtype=object)
    if col.kind == "date":
        out_u, problem[:] = _parse_dates(text, empty)
        fill = np.datetime64("NaT", "ns")
    elif col.kind in ("int", "number"):
        out_u, problem[:] = _parse_numbers(text, empty, whole=col.kind == "int")
        fill = np.nan
    else:
        found = identifiers.identifiers(text)
        identifying = pd.notna(found)
        for i in np.flatnonzero(identifying):
            problem[i] = _IDENTIFYING_PROBLEMS[found[i]]
        if col.pattern is not None:
            for i in np.flatnonzero(~empty & ~identifying):
                if not _pattern(col.pattern).fullmatch(text[i]):
                    problem[i] = NOT_AN_AREA_CODE
        out_u = None
        fill = None
    bad_unique = np.array([p is not None for p in problem], dtype=bool)
    bad = np.append(bad_unique, False)[codes]  # code -1 (missing) is never bad here
    positions = np.flatnonzero(bad)
    _report(table, col.name, values, numbers, positions, problem[codes[positions]], violations)

    drop = bad_unique | empty | unused
    if out_u is None:  # text: categorical over the distinct good values
        keep = np.flatnonzero(~drop)
        # Sorted categories: their codes then order rows as the strings do (to_canonical).
        if uniques is None:  # distinct Python strings: sorted as Arrow and pandas sort them
            kept = [text[i] for i in keep]
            order = sorted(range(len(kept)), key=kept.__getitem__)
            categories = [kept[i] for i in order]
            inverse = np.empty(len(keep), dtype=np.int64)
            inverse[order] = np.arange(len(keep))
        elif isinstance(uniques.dtype, pd.StringDtype):  # distinct already: an Arrow sort will do
            kept = pd.Index(uniques[keep])
            order = np.asarray(kept.argsort())
            categories = kept[order].astype(object)
            inverse = np.empty(len(keep), dtype=np.int64)
            inverse[order] = np.arange(len(keep))
        else:  # text made from other values may repeat (1 and "1")
            inverse, categories = pd.factorize(np.array(text, dtype=object)[keep], sort=True)
        remap = np.full(len(text) + 1, -1, dtype=np.int64)
        remap[keep] = inverse
        return TextColumn(remap[codes], categories), bad
    out_u = np.append(out_u, fill)
    out_u[np.flatnonzero(drop)] = fill
    return out_u[codes], bad


def _small_text_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    """``pd.factorize`` of a short column of text and missing values, in plain Python:
    codes (-1 for missing) and the distinct strings in order of appearance. None for
    long columns or any other kind of value (pandas factorises those)."""
    if len(values) > _SMALL_COLUMN or not (
        values.dtype == object or isinstance(values.dtype, pd.StringDtype)
    ):
        return None
    lookup: dict[str, int] = {}
    codes = []
    for value in values.tolist():
        if type(value) is str:
            codes.append(lookup.setdefault(value, len(lookup)))
        elif value is None or (type(value) is float and math.isnan(value)):
            codes.append(-1)
        else:
            return None
    return np.array(codes, dtype=np.int64), list(lookup)


def _is_plain_numeric(values: pd.Series | np.ndarray) -> bool:
    dtype = values.dtype
    return (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype)) and not (
        pd.api.types.is_bool_dtype(dtype)
    )


def _as_text(value: object) -> str:
    """A distinct cell value as the text a person would have typed."""
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    if hasattr(value, "isoformat") and not hasattr(value, "hour"):  # datetime.date
        return value.isoformat()
    if isinstance(value, bytes):
        return repr(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _parse_dates(text: list[str], empty: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """Strict ISO dates within the datetime64[ns] range; NaT and a problem for the others."""
    out = np.full(len(text), np.datetime64("NaT", "ns"))
    problems: list[str | None] = [None] * len(text)
    good, where = [], []
    for i, value in enumerate(text):
        if empty[i]:
            continue
        day = None
        if _ISO_DATE_RE.fullmatch(value):
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:  # shaped like a date but not one, such as 2021-02-30
                day = None
        if day is None or not _FIRST_YEAR <= day.year <= _LAST_YEAR:
            problems[i] = BAD_DATE
        else:
            good.append(value)
            where.append(i)
    if good:
        out[where] = np.array(good, dtype="datetime64[ns]")
    return out, problems


def _parse_numbers(
    text: list[str], empty: np.ndarray, *, whole: bool
) -> tuple[np.ndarray, list[str | None]]:
    """Plain decimal numbers (no thousands separators, no inf/nan); whole ones for ints."""
    out = np.full(len(text), np.nan)
    problems: list[str | None] = [None] * len(text)
    for i, value in enumerate(text):
        if empty[i]:
            continue
        number = float(value) if _NUMBER_RE.fullmatch(value) else math.nan
        if not math.isfinite(number):
            problems[i] = NOT_NUMERIC
        elif whole and not number.is_integer():
            problems[i] = NOT_WHOLE
        else:
            out[i] = number
    return out, problems


def _blank(text: list[str]) -> np.ndarray:
    """Which values are empty or only whitespace."""
    if len(text) >= _VECTORISE_FROM:
        return pd.Series(text, dtype="str").str.strip().eq("").to_numpy(dtype=bool)
    return np.array([not t.strip() for t in text], dtype=bool)


@lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _report(
    table: str,
    column: str,
    values: pd.Series | np.ndarray,
    numbers: np.ndarray,
    positions: np.ndarray,
    problems,
    violations: list[Violation],
) -> None:
    """Add one Violation per bad cell (``problems`` aligned with ``positions``)."""
    if not len(positions):
        return
    raw = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    for pos, problem in zip(positions, problems, strict=True):
        value = WITHHELD if problem in _WITHHELD_PROBLEMS else _display(raw[pos])
        violations.append(Violation(table, column, int(numbers[pos]), value, problem))


def _display(value: object) -> object:
    """A cell value as shown in a violation: text as typed, numbers as numbers."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return _as_text(value)
    return value


def _run_schema(
    name: str,
    parsed: dict[str, ColumnValues],
    n_rows: int,
    raw: dict[str, Any],
    numbers: np.ndarray,
    reported: dict[str, np.ndarray],
    violations: list[Violation],
) -> dict[str, list[int]]:
    """Run the contract's pandera schema lazily and map every failure case to a Violation.

    Returns the positions of the failing cells per column. The parsed columns
    become a DataFrame only when the schema screen says a check may fail.
    """
    import pandera.errors

    from extract.schemas import check_message, schema_may_fail, table_schema

    if not schema_may_fail(name, parsed):
        return {}
    typed = pd.DataFrame(
        {key: pd.Series(values.to_categorical() if isinstance(values, TextColumn) else values,
                        copy=False)
         for key, values in parsed.items()},
        index=pd.RangeIndex(n_rows),
    )
    try:
        table_schema(name).validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return {}
    failed: dict[str, list[int]] = {}
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if check == "column_in_dataframe":
            violations.append(Violation(name, str(case.failure_case), None, None, MISSING_COLUMN))
            continue
        if check == "column_in_schema":
            violations.append(Violation(name, str(case.failure_case), None, None, EXTRA_COLUMN))
            continue
        column = str(case.column)
        position = None if pd.isna(case.index) else int(case.index)
        if position is not None and reported[column][position]:
            continue
        if check == "not_nullable":
            problem, value = EMPTY_REQUIRED, None
        elif case.check_number is not None and not pd.isna(case.check_number):
            problem = check_message(name, column, int(case.check_number))
            value = _display(_cell(raw[column], position)) if position is not None else None
            spec = TABLES[name].column(column)
            if spec.kind == "category" and isinstance(value, str):
                suggestion = closest_category(value, spec.categories)
                if suggestion is not None:
                    problem = CLOSEST_CATEGORY.format(problem=problem, suggestion=suggestion)
        else:  # a dtype failure: the parser guarantees dtypes, so this names the check
            problem, value = CHECK_FAILED.format(check=check), _display(case.failure_case)
        row = None
        if position is not None:
            row = int(numbers[position])
            failed.setdefault(column, []).append(position)
        violations.append(Violation(name, column, row, value, problem))
    return failed


def closest_category(value: str, categories: tuple[str, ...]) -> str | None:
    """The listed category ``value`` most resembles, or None when none is close.

    Case, spaces and hyphens are folded first ("Male" -> male, "SEN support" ->
    sen_support); otherwise the closest by difflib's ratio (at least 0.6).
    """
    import difflib

    folded = re.sub(r"[\s-]+", "_", value.strip().lower())
    if folded in categories:
        return folded
    close = difflib.get_close_matches(folded, categories, n=1, cutoff=0.6)
    return close[0] if close else None


def _cross_table_checks(
    parsed: dict[str, dict[str, ColumnValues]],
    numbers: dict[str, np.ndarray],
    violations: list[Violation],
    derived: set[tuple[str, str]],
) -> None:
    people = parsed.get("people")
    known: set[str] | None = None
    if people is not None and "person_id" in people:
        pid = people["person_id"]  # a TextColumn, as every parsed text column
        codes = pid.codes.astype(np.int64)
        valid = codes >= 0
        _, first_of = np.unique(codes, return_index=True)
        duplicated = valid.copy()
        duplicated[first_of] = False
        if duplicated.any():
            first_pos = np.full(len(pid.categories) + 1, -1, dtype=np.int64)
            first_pos[codes[first_of]] = first_of  # code -1 (missing) lands in the spare slot
            for pos in np.flatnonzero(duplicated):
                first = int(numbers["people"][first_pos[codes[pos]]])
                violations.append(Violation("people", "person_id", int(numbers["people"][pos]),
                                            pid.value(pos), DUPLICATE_PERSON.format(first=first)))
        known = set(pid.categories)
    for name, columns in parsed.items():
        if name == "people" or known is None or "person_id" not in columns:
            continue
        pid = columns["person_id"]
        unknown_cat = np.fromiter((c not in known for c in pid.categories), dtype=bool,
                                  count=len(pid.categories))
        if unknown_cat.any():
            codes = pid.codes
            mask = (codes >= 0) & np.append(unknown_cat, False)[codes]
            for pos in np.flatnonzero(mask):
                violations.append(Violation(name, "person_id", int(numbers[name][pos]),
                                            pid.value(pos), UNKNOWN_PERSON))
    care = parsed.get("care_episodes")
    if care is not None and {"start_on", "end_on"} <= set(care):
        start, end = care["start_on"], care["end_on"]
        for pos in np.flatnonzero(end < start):  # NaT compares False
            violations.append(Violation(
                "care_episodes", "end_on", int(numbers["care_episodes"][pos]),
                _day_text(end[pos]), END_BEFORE_START.format(start=_day_text(start[pos])),
            ))
    att = parsed.get("attendance")
    needed = {"sessions_possible", "sessions_attended", "unauthorised_absences"}
    if att is not None and needed <= set(att):
        possible = att["sessions_possible"]
        attended = att["sessions_attended"]
        unauthorised = att["unauthorised_absences"]
        over = attended > possible
        for pos in np.flatnonzero(over):
            violations.append(Violation(
                "attendance", "sessions_attended", int(numbers["attendance"][pos]),
                int(attended[pos]), ATTENDED_OVER_POSSIBLE.format(possible=int(possible[pos])),
            ))
        missed = possible - attended
        for pos in np.flatnonzero(~over & (unauthorised > missed)):
            violations.append(Violation(
                "attendance", "unauthorised_absences", int(numbers["attendance"][pos]),
                int(unauthorised[pos]), UNAUTHORISED_OVER_MISSED.format(missed=int(missed[pos])),
            ))
    if att is not None:
        _term_checks(att, numbers.get("attendance"), violations,
                     derived=("attendance", "term_end") in derived)
    ref = parsed.get("referrals")
    if ref is not None and {"referred_on", "engaged_on"} <= set(ref):
        referred, engaged = ref["referred_on"], ref["engaged_on"]
        for pos in np.flatnonzero(engaged < referred):  # NaT compares False
            violations.append(Violation(
                "referrals", "engaged_on", int(numbers["referrals"][pos]), _day_text(engaged[pos]),
                ENGAGED_BEFORE_REFERRED.format(referred=_day_text(referred[pos])),
            ))


def _term_checks(
    att: dict[str, ColumnValues], numbers: np.ndarray, violations: list[Violation], *, derived: bool
) -> None:
    """At most one row per (person_id, term_start); a given term_end not before term_start."""
    if not {"person_id", "term_start"} <= set(att):
        return
    person, start = att["person_id"].codes, att["term_start"]
    rows = np.flatnonzero((person >= 0) & ~np.isnat(start))
    if len(rows):
        order = rows[np.lexsort((rows, start[rows], person[rows]))]  # stable: first row first
        same = (person[order][1:] == person[order][:-1]) & (start[order][1:] == start[order][:-1])
        if same.any():
            # Each repeat points at the first row of its run of equal (person, start).
            run_first = order[np.maximum.accumulate(np.where(np.append(False, same), 0,
                                                             np.arange(len(order))))]
            for i in np.flatnonzero(same) + 1:
                pos = order[i]
                violations.append(Violation(
                    "attendance", "term_start", int(numbers[pos]), _day_text(start[pos]),
                    DUPLICATE_TERM.format(first=int(numbers[run_first[i]])),
                ))
    if not derived and "term_end" in att:
        end = att["term_end"]
        for pos in np.flatnonzero(end < start):  # NaT compares False
            violations.append(Violation(
                "attendance", "term_end", int(numbers[pos]), _day_text(end[pos]),
                TERM_END_BEFORE_START.format(start=_day_text(start[pos])),
            ))


def _exclusion_days_checks(
    parsed: dict[str, ColumnValues],
    raw: dict[str, Any],
    reported: np.ndarray,
    numbers: np.ndarray,
    violations: list[Violation],
) -> None:
    """days: > 0 for a suspension, empty for a permanent exclusion (contract 1.1). Cells
    already reported (``reported``: not a number) take no part."""
    if not {"exclusion", "days"} <= set(parsed):
        return
    exclusion, days = parsed["exclusion"], parsed["days"]
    codes = np.asarray(exclusion.codes)
    kinds = list(exclusion.categories)

    def rows_of(kind: str) -> np.ndarray:
        return codes == kinds.index(kind) if kind in kinds else np.zeros(len(codes), dtype=bool)

    suspension, permanent = rows_of("suspension") & ~reported, rows_of("permanent") & ~reported
    missing = np.isnan(days)
    shown = lambda pos: _display(_cell(raw["days"], pos))  # noqa: E731 (the cell as typed)
    for pos in np.flatnonzero(suspension & missing):
        violations.append(Violation("exclusions", "days", int(numbers[pos]), None,
                                    SUSPENSION_WITHOUT_DAYS))
    for pos in np.flatnonzero(suspension & ~missing & (days <= 0)):
        violations.append(Violation("exclusions", "days", int(numbers[pos]), shown(pos),
                                    DAYS_NOT_POSITIVE))
    for pos in np.flatnonzero(permanent & ~missing):
        violations.append(Violation("exclusions", "days", int(numbers[pos]), shown(pos),
                                    PERMANENT_WITH_DAYS))


def _day_text(value: np.datetime64) -> str:
    """A parsed date cell as the text a person would have typed."""
    return _as_text(pd.Timestamp(value))


def _cell(values: pd.Series | np.ndarray, position: int) -> object:
    """One cell of a column as given (Series or array)."""
    return values.iloc[position] if isinstance(values, pd.Series) else values[position]


def _date_columns(parsed: dict[str, dict[str, ColumnValues]], derived: set[tuple[str, str]]):
    """Every given date column (not one the loader derived: that is no record's date)."""
    for name, columns in parsed.items():
        for col in TABLES[name].columns:
            if col.kind == "date" and col.name in columns and (name, col.name) not in derived:
                yield name, col.name, columns[col.name]


def _latest_date(parsed: dict[str, dict[str, ColumnValues]], derived: set[tuple[str, str]]) -> pd.Timestamp:
    latest = [dates[~np.isnat(dates)].max() for _, _, dates in _date_columns(parsed, derived)
              if not np.isnat(dates).all()]
    return pd.Timestamp(max(latest)) if latest else _today()


def _future_checks(
    parsed: dict[str, dict[str, ColumnValues]],
    numbers: dict[str, np.ndarray],
    extracted_on: pd.Timestamp,
    violations: list[Violation],
    derived: set[tuple[str, str]],
) -> None:
    label = extracted_on.strftime("%Y-%m-%d")
    limit = extracted_on.to_datetime64()
    for name, column, dates in _date_columns(parsed, derived):
        for pos in np.flatnonzero(dates >= limit):  # NaT compares False
            violations.append(Violation(name, column, int(numbers[name][pos]),
                                        _day_text(dates[pos]),
                                        FUTURE_RECORD.format(extracted_on=label)))


_TABLE_ORDER = {name: i for i, name in enumerate((EXTRACT, MANIFEST, *TABLES))}


def _order(v: Violation) -> tuple:
    table_rank = _TABLE_ORDER.get(v.table, len(_TABLE_ORDER))
    columns = TABLES[v.table].column_names if v.table in TABLES else ()
    col_rank = columns.index(v.column) if v.column in columns else len(columns)
    return (table_rank, v.table, -1 if v.row is None else v.row, col_rank)
