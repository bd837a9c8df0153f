"""One person's case, as the service receives it in JSON, through the batch code path.

``SingleCase`` is generated from the data contract (``extract.contract.TABLES``):
``as_of``, the ``person`` (a ``people`` row) and one list of records per event
table, each record a contract row without ``person_id``. Unknown fields are
refused and categories are ``Literal`` types of the contract's values.

``case_to_extract`` turns a case into contract columns of plain JSON values
(ISO date strings, numbers, strings: the same as a CSV cell), runs them through
the loader (``extract.loader.extract_from_columns``, the same parsing and checks
as every other path) and returns the extract with a one-row
cohort, so ``FeatureBuilder.transform`` computes the features with the same
code as a batch run.

What a case may hold: records dated on or after ``as_of`` are allowed (a
partner's system sends what it has) and are ignored by the point-in-time
rules. The case is treated as an extract taken today (``extracted_on`` =
today), so the loader's own rule applies: a record dated today or later is an
error (a day's records are complete only once it is over), and an ``as_of``
after today is refused here. Labels are never built from a single case.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, create_model

from extract.contract import (
    COHORT_MAX_AGE,
    COHORT_MIN_AGE,
    EVENT_TABLES,
    TABLES,
    ColumnSpec,
    Extract,
    TableSpec,
    age_in_years,
)
from extract.loader import ExtractValidationError, Violation, extract_from_columns

NO_CASES = "give at least one case"
SAME_PERSON_TWICE = (
    "person_id(s) {ids} appear in more than one case; score each of a person's cases in a separate call"
)
AS_OF_IN_FUTURE = "as_of {as_of} is after today ({today}): a case is scored on or before today"
# Contract, "Who may be scored": the service and the pyfunc refuse such a case (the service's 422).
AGE_OUT_OF_RANGE = (
    "the person is {age} on as_of; the model is built for ages {low} to {high}, so the case is "
    "refused, not scored"
)
CASE_KIND = "case"
_STRICT = ConfigDict(extra="forbid", frozen=True)

_KIND_TEXT = {
    "id": "pseudonymised person identifier",
    "date": "ISO date YYYY-MM-DD",
    "int": "whole number",
    "number": "number",
    "string": "lower-case text",
}


# Bounds for what a contract column leaves open, so that a request cannot carry a number
# that overflows later (a 400-digit count) or a megabyte identifier into the audit trail.
MAX_COUNT = 100_000
# The audit trail's person_id column holds 200 characters (PostgreSQL enforces it).
MAX_TEXT_LENGTH = 200
# No control characters (NUL fails a PostgreSQL insert; none belongs in an id or a name).
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


def _field(table: TableSpec, col: ColumnSpec) -> tuple[Any, Any]:
    """The pydantic (type, Field) of one contract column."""
    if col.kind == "category":
        annotation: Any = Literal[col.categories]
        text = "one of: " + ", ".join(col.categories)
    else:
        annotation = {"id": str, "string": str, "date": dt.date, "int": int, "number": float}[col.kind]
        text = _KIND_TEXT[col.kind]
    bounds: dict[str, Any] = {}
    if col.minimum is not None:
        bounds["ge"] = col.minimum
    if col.kind in ("int", "number"):
        bounds["le"] = col.maximum if col.maximum is not None else MAX_COUNT
    if col.kind == "number":
        bounds["allow_inf_nan"] = False
    if col.kind in ("id", "string"):
        bounds["max_length"] = MAX_TEXT_LENGTH
        # A contract pattern (area codes) is checked by the loader, with its own message.
        if col.pattern is None:
            bounds["pattern"] = NO_CONTROL_CHARACTERS
    description = f"{table.name}.{col.name} ({text})"
    if col.nullable:
        return annotation | None, Field(None, description=description + "; null when not recorded", **bounds)
    if col.kind in ("id", "string"):
        bounds["min_length"] = 1
    return annotation, Field(..., description=description, **bounds)


def _record_model(table: TableSpec, with_person_id: bool) -> type[BaseModel]:
    fields = {
        col.name: _field(table, col)
        for col in table.columns
        if with_person_id or col.name != "person_id"
    }
    model_name = "".join(part.title() for part in table.name.split("_")) + "Record"
    return create_model(model_name, __config__=_STRICT, __doc__=table.description or table.name, **fields)


PersonRecord = _record_model(TABLES["people"], with_person_id=True)
RECORD_MODELS: dict[str, type[BaseModel]] = {
    name: _record_model(TABLES[name], with_person_id=False) for name in EVENT_TABLES
}

SingleCase = create_model(
    "SingleCase",
    __config__=_STRICT,
    __doc__="One young person's records as the service receives them, scored at as_of.",
    as_of=(dt.date, Field(..., description="The assessment date; only records dated before it are used.")),
    person=(PersonRecord, Field(..., description="The person's row of the people table.")),
    **{
        name: (
            list[model],  # type: ignore[valid-type]
            Field(default_factory=list, description=f"{name} records ({TABLES[name].description or name}), without person_id."),
        )
        for name, model in RECORD_MODELS.items()
    },
)


def parse_case(case: BaseModel | dict | str) -> BaseModel:
    """A validated :data:`SingleCase` from a model, a dict or JSON text."""
    if isinstance(case, SingleCase):
        return case
    if isinstance(case, str):
        return SingleCase.model_validate_json(case)
    return SingleCase.model_validate(case)


def case_to_extract(
    case: BaseModel | dict | str, *, today: dt.date | None = None
) -> tuple[Extract, pd.DataFrame]:
    """The case as a validated one-person :class:`Extract` and its one-row cohort.

    Raises
    ------
    pydantic.ValidationError
        If the case does not follow the contract (unknown fields or categories).
    ValueError
        If ``as_of`` is after today; the loader's ``ExtractValidationError``
        (a ``ValueError``) if a record is dated today or later.
    """
    return cases_to_extract([case], today=today)


def cases_to_extract(
    cases: Sequence[BaseModel | dict | str], *, today: dt.date | None = None
) -> tuple[Extract, pd.DataFrame]:
    """Several cases (of different people) as one validated extract and a cohort of one row per case.

    The loader validates all the cases in one call, so a batch of service
    requests pays its fixed cost once. Each row's features depend only on its
    own person's records, so the result equals scoring each case alone.

    Raises
    ------
    ValueError
        For no cases, two cases of the same person, an ``as_of`` after today;
        ``ExtractValidationError`` (a ``ValueError``) for a record the loader refuses
        or a person aged outside 10-24 on as_of (``AGE_OUT_OF_RANGE``, on the case's
        ``people.birth_month``), every such problem of every case listed together.
    """
    if not cases:
        raise ValueError(NO_CASES)
    today = today or dt.datetime.now(dt.UTC).date()
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    cohort_ids: list[str] = []
    cohort_as_of: list[dt.date] = []
    for case in cases:
        parsed = parse_case(case)
        if parsed.as_of > today:
            raise ValueError(AS_OF_IN_FUTURE.format(as_of=parsed.as_of, today=today))
        data = parsed.model_dump(mode="json")
        person_id = data["person"]["person_id"]
        rows["people"].append(data["person"])
        for name in EVENT_TABLES:
            rows[name].extend({"person_id": person_id, **record} for record in data[name])
        cohort_ids.append(person_id)
        cohort_as_of.append(parsed.as_of)
    repeated = sorted(pid for pid, n in Counter(cohort_ids).items() if n > 1)
    if repeated:
        raise ValueError(SAME_PERSON_TWICE.format(ids=repeated[:5]))
    columns = {name: _columns(TABLES[name], table_rows) for name, table_rows in rows.items()}
    too_young_or_old = _age_violations(columns["people"]["birth_month"], cohort_as_of)
    try:
        extract = extract_from_columns(columns, extracted_on=pd.Timestamp(today), source=CASE_KIND)
    except ExtractValidationError as exc:
        raise ExtractValidationError(too_young_or_old + exc.violations) from None
    if too_young_or_old:
        raise ExtractValidationError(too_young_or_old)
    # Built from numpy arrays: inferring dtypes from Python lists costs more than the features.
    cohort = pd.DataFrame(
        {
            "person_id": pd.Series(np.array(cohort_ids, dtype=object), dtype=object, copy=False),
            "as_of": np.array(cohort_as_of, dtype="datetime64[D]").astype("datetime64[ns]"),
            "kind": pd.Series(np.full(len(cohort_ids), CASE_KIND, dtype=object), dtype=object,
                              copy=False),
        },
        copy=False,
    )
    return extract, cohort


def _age_violations(birth_month: np.ndarray, as_of: list[dt.date]) -> list[Violation]:
    """One violation per case whose person is outside the cohort's ages on its as_of
    (row n: the n-th case's people row). ``birth_month`` holds the validated cases' ISO
    dates, so numpy parses them directly (a few microseconds for one case)."""
    birth = pd.Series(np.array(birth_month.tolist(), dtype="datetime64[D]").astype("datetime64[ns]"),
                      copy=False)
    ref = pd.Series(np.array(as_of, dtype="datetime64[D]").astype("datetime64[ns]"), copy=False)
    ages = age_in_years(birth, ref).to_numpy()
    return [
        Violation("people", "birth_month", int(row) + 1, None,
                  AGE_OUT_OF_RANGE.format(age=int(ages[row]), low=COHORT_MIN_AGE, high=COHORT_MAX_AGE))
        for row in np.flatnonzero((ages < COHORT_MIN_AGE) | (ages > COHORT_MAX_AGE))
    ]


def _columns(table: TableSpec, rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Contract columns of JSON records: numbers as float64 (None as NaN), the rest as text
    (``object`` arrays of str or None), as the loader reads a CSV's cells."""
    columns = {}
    for col in table.columns:
        values = [row[col.name] for row in rows]
        dtype = np.float64 if col.kind in ("int", "number") else object
        columns[col.name] = np.array(values, dtype=dtype) if values else np.empty(0, dtype=dtype)
    return columns


def case_from_extract(extract: Extract, person_id: str, as_of: str | pd.Timestamp) -> BaseModel:
    """A :data:`SingleCase` holding every record of one person in an extract (for examples and tests)."""
    cohort = pd.DataFrame({"person_id": [person_id], "as_of": [pd.Timestamp(as_of)]})
    return cases_from_extract(extract, cohort)[0]


def cases_from_extract(extract: Extract, cohort: pd.DataFrame) -> list[BaseModel]:
    """One :data:`SingleCase` per cohort row, holding every record of its person in the extract.

    Records dated on or after the row's as_of are included, as a partner's
    system would send them; the point-in-time rules ignore them.
    """
    records: dict[str, list[dict[str, Any]]] = {}
    positions: dict[str, dict[str, np.ndarray]] = {}
    for name in ("people", *EVENT_TABLES):
        table = extract[name]
        columns = [c for c in TABLES[name].column_names if name == "people" or c != "person_id"]
        records[name] = [_json_record(row, columns, TABLES[name]) for row in table[columns].itertuples(index=False)]
        positions[name] = table.groupby("person_id", sort=False).indices
    cases = []
    for person_id, as_of in zip(cohort["person_id"], cohort["as_of"], strict=True):
        data: dict[str, Any] = {"as_of": pd.Timestamp(as_of).date()}
        for name in ("people", *EVENT_TABLES):
            picked = [records[name][i] for i in positions[name].get(person_id, ())]
            if name == "people":
                data["person"] = picked[0]
            else:
                data[name] = picked
        cases.append(SingleCase.model_validate(data))
    return cases


def _json_record(row: Any, columns: list[str], table: TableSpec) -> dict[str, Any]:
    record = {}
    for name in columns:
        value = getattr(row, name)
        kind = table.column(name).kind
        if pd.isna(value):
            record[name] = None
        elif kind == "date":
            record[name] = pd.Timestamp(value).date()
        elif kind == "int":
            record[name] = int(value)
        elif kind == "number":
            record[name] = float(value)
        else:
            record[name] = str(value)
    return record
