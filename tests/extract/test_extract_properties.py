"""Property-based tests: corrupt a good extract and get exactly the matching Violation(s);
garbage of any kind gives an ExtractValidationError, never another exception."""

from __future__ import annotations

import datetime as dt
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import loader as L
from extract import schemas as S
from extract.canonical import canonical_dtype, to_canonical
from extract.contract import REQUIRED_TABLES, TABLES, Extract
from extract.loader import ExtractValidationError, Violation, extract_from_frames, load_extract
from extract.writer import write_extract

pytestmark = pytest.mark.property

EXTRACTED_ON = pd.Timestamp("2024-04-01")
# Each example validates a whole (tiny) extract; modest counts keep the file near 15 s.
PROPERTY = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
IDENTIFYING = {
    "name": "a name", "first_name": "a name", "surname": "a name", "forename": "a name",
    "full_name": "a name", "address": "an address", "postcode": "an address",
    "nhs_number": "an NHS number", "nhs_no": "an NHS number", "upn": "a unique pupil number",
    "dob": "a date of birth", "date_of_birth": "a date of birth", "email": "contact details",
    "phone": "contact details",
}
IDENTIFYING_PARTS = ("name", "address", "postcode", "nhs", "upn", "dob", "birth", "email",
                     "phone", "mobile")


def iso_day(value: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return day if len(value) == 10 and 1678 <= day.year <= 2261 else None


bad_dates = st.one_of(
    st.sampled_from(["2020-13-01", "2021-02-29", "20200101", "01/02/2020", "2020-1-01",
                     "2020-01-01T00:00", "1600-01-01", "yesterday", "2020/01/01"]),
    st.text(alphabet="0123456789-/ .T", min_size=1, max_size=12),
).filter(lambda v: v.strip() != "" and iso_day(v) is None)


@st.composite
def nhs_numbers(draw) -> str:
    digits = draw(st.lists(st.integers(0, 9), min_size=9, max_size=9))
    check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
    check = 0 if check == 11 else check
    if check == 10:  # no valid number with these nine digits: nudge one
        digits[0] = (digits[0] + 1) % 10
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
        check = 0 if check == 11 else check
    text = "".join(map(str, digits)) + str(check)
    sep = draw(st.sampled_from(["", " ", "-"]))
    return f"{text[:3]}{sep}{text[3:6]}{sep}{text[6:]}"


def columns_of(table: str, *kinds: str, required: bool | None = None) -> list[str]:
    return [
        c.name for c in TABLES[table].columns
        if (not kinds or c.kind in kinds) and (required is None or c.nullable != required)
    ]


def pick_row(draw, frames, table) -> int:
    return draw(st.integers(0, len(frames[table]) - 1))


def put(frames, table, column, pos, value) -> None:
    frames[table].loc[pos, column] = value


# Each corruption changes one place in `table` and returns the exact violations expected.
def bad_date(draw, frames, table):
    column = draw(st.sampled_from(columns_of(table, "date")))
    pos, value = pick_row(draw, frames, table), draw(bad_dates)
    put(frames, table, column, pos, value)
    return [Violation(table, column, pos + 1, value, L.BAD_DATE)]


def unknown_category(draw, frames, table):
    column = draw(st.sampled_from(columns_of(table, "category")))
    allowed = TABLES[table].column(column).categories
    value = draw(st.text(alphabet=string.ascii_letters + "_ ", min_size=1, max_size=12)
                 .filter(lambda v: v not in allowed and v.strip() != ""))
    pos = pick_row(draw, frames, table)
    put(frames, table, column, pos, value)
    problem = S.UNKNOWN_CATEGORY.format(allowed=", ".join(allowed))
    suggestion = L.closest_category(value, allowed)
    if suggestion is not None:
        problem = L.CLOSEST_CATEGORY.format(problem=problem, suggestion=suggestion)
    return [Violation(table, column, pos + 1, value, problem)]


def out_of_range(draw, frames, table):
    column = draw(st.sampled_from([c for c in columns_of(table, "int", "number")
                                   if TABLES[table].column(c).minimum is not None]))
    spec = TABLES[table].column(column)
    below = spec.maximum is None or draw(st.booleans())
    if below:
        number = spec.minimum - draw(st.integers(1, 10_000))
        problem = S.BELOW_MINIMUM.format(bound=spec.minimum)
    else:
        number = spec.maximum + draw(st.integers(1, 10_000))
        problem = S.ABOVE_MAXIMUM.format(bound=spec.maximum)
    value = str(number) if spec.kind == "int" else f"{number}.5" if below else str(number)
    pos = pick_row(draw, frames, table)
    put(frames, table, column, pos, value)
    return [Violation(table, column, pos + 1, value, problem)]


def not_numeric(draw, frames, table):
    column = draw(st.sampled_from(columns_of(table, "int", "number")))
    value = draw(st.one_of(
        st.text(alphabet=string.ascii_letters + ",", min_size=1, max_size=8),
        st.sampled_from(["1,000", "nan", "inf", "-inf", "1e999", "3 ", "1_000", "--1"]),
    ).filter(lambda v: v.strip() != ""))
    pos = pick_row(draw, frames, table)
    put(frames, table, column, pos, value)
    return [Violation(table, column, pos + 1, value, L.NOT_NUMERIC)]


def empty_required(draw, frames, table):
    candidates = columns_of(table, required=True)
    if table == "people":  # an empty people.person_id orphans that person's events
        candidates.remove("person_id")
    column = draw(st.sampled_from(candidates))
    pos = pick_row(draw, frames, table)
    put(frames, table, column, pos, draw(st.sampled_from(["", " ", "\t"])))
    return [Violation(table, column, pos + 1, None, L.EMPTY_REQUIRED)]


def duplicate_person(draw, frames, table):
    people = frames["people"]
    pos = pick_row(draw, frames, "people")
    frames["people"] = pd.concat([people, people.iloc[[pos]]], ignore_index=True)
    return [Violation("people", "person_id", len(people) + 1, people["person_id"].iloc[pos],
                      L.DUPLICATE_PERSON.format(first=pos + 1))]


def unknown_person(draw, frames, table):
    value = "zz" + draw(st.text(alphabet=string.ascii_lowercase, max_size=5))
    pos = pick_row(draw, frames, table)
    put(frames, table, "person_id", pos, value)
    return [Violation(table, "person_id", pos + 1, value, L.UNKNOWN_PERSON)]


def end_before_start(draw, frames, table):
    care = frames["care_episodes"]
    pos = pick_row(draw, frames, "care_episodes")
    start = pd.Timestamp(care["start_on"].iloc[pos])
    value = (start - pd.Timedelta(days=draw(st.integers(1, 3000)))).strftime("%Y-%m-%d")
    put(frames, "care_episodes", "end_on", pos, value)
    return [Violation("care_episodes", "end_on", pos + 1, value,
                      L.END_BEFORE_START.format(start=care["start_on"].iloc[pos]))]


def attended_over_possible(draw, frames, table):
    att = frames["attendance"]
    pos = pick_row(draw, frames, "attendance")
    possible = int(att["sessions_possible"].iloc[pos])
    value = possible + draw(st.integers(1, 500))
    put(frames, "attendance", "sessions_attended", pos, str(value))
    return [Violation("attendance", "sessions_attended", pos + 1, value,
                      L.ATTENDED_OVER_POSSIBLE.format(possible=possible))]


def unauthorised_over_missed(draw, frames, table):
    att = frames["attendance"]
    pos = pick_row(draw, frames, "attendance")
    missed = int(att["sessions_possible"].iloc[pos]) - int(att["sessions_attended"].iloc[pos])
    value = missed + draw(st.integers(1, 500))
    put(frames, "attendance", "unauthorised_absences", pos, str(value))
    return [Violation("attendance", "unauthorised_absences", pos + 1, value,
                      L.UNAUTHORISED_OVER_MISSED.format(missed=missed))]


def future_record(draw, frames, table):
    # A start in the future would also put the end before it; birth_month has its own rule.
    column = draw(st.sampled_from([c for c in columns_of(table, "date")
                                   if c not in ("start_on", "term_start", "referred_on", "birth_month")]))
    value = (EXTRACTED_ON + pd.Timedelta(days=draw(st.integers(0, 3000)))).strftime("%Y-%m-%d")
    pos = pick_row(draw, frames, table)
    put(frames, table, column, pos, value)
    return [Violation(table, column, pos + 1, value,
                      L.FUTURE_RECORD.format(extracted_on=EXTRACTED_ON.strftime("%Y-%m-%d")))]


def birth_month_not_first(draw, frames, table):
    pos = pick_row(draw, frames, "people")
    value = frames["people"]["birth_month"].iloc[pos][:8] + f"{draw(st.integers(2, 28)):02d}"
    put(frames, "people", "birth_month", pos, value)
    return [Violation("people", "birth_month", pos + 1, value, S.NOT_FIRST_OF_MONTH)]


def identifying_column(draw, frames, table):
    column = draw(st.sampled_from(sorted(IDENTIFYING)))
    frames[table][column] = "x"
    return [Violation(table, column, None, None,
                      L.IDENTIFYING_COLUMN.format(what=IDENTIFYING[column]))]


@st.composite
def upns(draw) -> str:
    body = "".join(map(str, draw(st.lists(st.integers(0, 9), min_size=11, max_size=11))))
    last = draw(st.sampled_from("0123456789" + "ABCDEFGHJKLMNPQRTUVWXYZ"))
    total = sum((int(c) if c.isdigit() else "ABCDEFGHJKLMNPQRTUVWXYZ".index(c)) * w
                for c, w in zip(body + last, range(2, 14)))
    return "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23] + body + last


def identifier_value(draw, frames, table):
    column = draw(st.sampled_from(
        ["local_authority", "area_code"] if table == "people"
        else columns_of(table, "id", "category", "string")
    ))
    value, problem = draw(st.sampled_from([
        (nhs_numbers(), L.IDENTIFYING_NHS_NUMBER), (upns(), L.IDENTIFYING_UPN),
        (st.sampled_from(["CV1 2WT", "B33 8TH", "SW1A 1AA", "w1a0ax"]), L.IDENTIFYING_POSTCODE),
        (st.emails(), L.IDENTIFYING_EMAIL),
        (st.sampled_from(["07700 900123", "+44 7700 900123", "(020) 7946 0958", "01632960001"]),
         L.IDENTIFYING_TELEPHONE),
    ]))
    pos = pick_row(draw, frames, table)
    put(frames, table, column, pos, draw(value))
    return [Violation(table, column, pos + 1, L.WITHHELD, problem)]


def duplicate_term(draw, frames, table):
    att = frames["attendance"]
    pos = pick_row(draw, frames, "attendance")
    frames["attendance"] = pd.concat([att, att.iloc[[pos]]], ignore_index=True)
    return [Violation("attendance", "term_start", len(att) + 1, att["term_start"].iloc[pos],
                      L.DUPLICATE_TERM.format(first=pos + 1))]


def engaged_before_referred(draw, frames, table):
    ref = frames["referrals"]
    pos = pick_row(draw, frames, "referrals")
    referred = ref["referred_on"].iloc[pos]
    value = (pd.Timestamp(referred) - pd.Timedelta(days=draw(st.integers(1, 3000)))).strftime("%Y-%m-%d")
    put(frames, "referrals", "engaged_on", pos, value)
    return [Violation("referrals", "engaged_on", pos + 1, value,
                      L.ENGAGED_BEFORE_REFERRED.format(referred=referred))]


def extra_column(draw, frames, table):
    column = draw(st.from_regex(r"[a-z][a-z_]{2,12}", fullmatch=True).filter(
        lambda c: c not in TABLES[table].column_names
        and not any(part in c for part in IDENTIFYING_PARTS)
        and not set(c.split("_")) & {"surname", "forename", "forenames", "names", "telephone"}
    ))
    frames[table][column] = "1"
    return [Violation(table, column, None, None, L.EXTRA_COLUMN)]


def missing_column(draw, frames, table):
    # A column new in 1.1 may be missing: the table is then read as contract 1.0.
    column = draw(st.sampled_from([c.name for c in TABLES[table].columns if c.added_in == "1.0"]))
    frames[table] = frames[table].drop(columns=[column])
    return [Violation(table, column, None, None, L.MISSING_COLUMN)]


def missing_table(draw, frames, table):
    del frames[table]
    return [Violation(table, None, None, None, L.MISSING_TABLE.format(table=table))]


def applicable(table: str) -> list:
    spec = TABLES[table]
    kinds = {c.kind for c in spec.columns}
    out = [bad_date, empty_required, identifying_column, extra_column, missing_column]
    if "category" in kinds:
        out.append(unknown_category)
    if {"int", "number"} & kinds:
        out.append(not_numeric)
    if any(c.minimum is not None for c in spec.columns):
        out.append(out_of_range)
    if table == "people":
        out += [duplicate_person, birth_month_not_first, identifier_value]
    else:
        out += [unknown_person, future_record, identifier_value]
    if table == "care_episodes":
        out.append(end_before_start)
    if table == "attendance":
        out += [attended_over_possible, unauthorised_over_missed, duplicate_term]
    if table == "referrals":
        out.append(engaged_before_referred)
    if table in REQUIRED_TABLES:
        out.append(missing_table)
    return out


def one_corruption(draw, frames) -> tuple[str, list[Violation]]:
    table = draw(st.sampled_from(list(TABLES)))
    kind = draw(st.sampled_from(applicable(table)))
    return kind.__name__, kind(draw, frames, table)


@PROPERTY
@given(data=st.data())
def test_each_corruption_gives_exactly_its_violation(contract_frames, data):
    frames = contract_frames()
    kind, expected = one_corruption(data.draw, frames)
    with pytest.raises(ExtractValidationError) as info:
        extract_from_frames(frames, extracted_on=EXTRACTED_ON)
    assert info.value.violations == expected, kind


@PROPERTY
@given(data=st.data())
def test_all_corruptions_are_reported_together(contract_frames, data):
    frames = contract_frames()
    tables = data.draw(st.lists(st.sampled_from(list(TABLES)), min_size=2, max_size=4, unique=True))
    expected = []
    for table in tables:
        kinds = applicable(table)
        if table == "people":  # without people ids no event can be checked against them
            kinds = [k for k in kinds if k not in (missing_column, missing_table)]
        kind = data.draw(st.sampled_from(kinds))
        expected += kind(data.draw, frames, table)
    with pytest.raises(ExtractValidationError) as info:
        extract_from_frames(frames, extracted_on=EXTRACTED_ON)
    assert sorted(map(str, info.value.violations)) == sorted(map(str, expected))


@PROPERTY
@given(data=st.data(), fmt=st.sampled_from(["csv", "parquet"]))
def test_corruptions_survive_a_trip_through_files(contract_frames, data, fmt):
    frames = contract_frames()
    kind, expected = one_corruption(data.draw, frames)
    if kind in ("missing_column", "identifying_column", "extra_column"):
        return  # the writer writes exactly the contract columns
    with tempfile.TemporaryDirectory() as tmp:
        write_extract(frames, Path(tmp), fmt=fmt, extracted_on=EXTRACTED_ON)
        with pytest.raises(ExtractValidationError) as info:
            load_extract(tmp)
    got = [(v.table, v.column, v.row, v.problem) for v in info.value.violations]
    assert got == [(v.table, v.column, v.row, v.problem) for v in expected], kind


garbage_cells = st.one_of(
    st.text(max_size=12), st.integers(), st.floats(), st.none(), st.booleans(),
    st.binary(max_size=4), st.dates(), st.datetimes(), st.just(pd.NaT),
    st.sampled_from(["", "nan", "NaT", "None", "2020-02-30", "9999-12-31", "\x00", "é"]),
)


@PROPERTY
@given(data=st.data())
def test_garbage_cells_only_ever_raise_validation_errors(contract_frames, data):
    frames = contract_frames()
    for _ in range(data.draw(st.integers(1, 6))):
        table = data.draw(st.sampled_from(list(frames)))
        column = data.draw(st.sampled_from(list(frames[table].columns)))
        pos = data.draw(st.integers(0, len(frames[table]) - 1))
        frames[table][column] = frames[table][column].astype(object)
        frames[table].loc[pos, column] = data.draw(garbage_cells)
    if data.draw(st.booleans()):
        table = data.draw(st.sampled_from(list(frames)))
        frames[table][data.draw(st.one_of(st.text(max_size=6), st.integers()))] = 1
    try:
        result = extract_from_frames(frames, extracted_on=data.draw(st.one_of(
            st.none(), st.just(EXTRACTED_ON), st.text(max_size=10), st.dates())))
    except ExtractValidationError as err:
        assert err.violations and str(err)
    else:
        assert isinstance(result, Extract)


@PROPERTY
@given(
    name=st.sampled_from([*TABLES, "manifest"]),
    suffix=st.sampled_from(["csv", "parquet"]),
    content=st.one_of(
        st.binary(max_size=200),
        st.text(alphabet=',"\n\r ab1-\x00é', max_size=200).map(lambda t: t.encode("utf-8")),
    ),
)
def test_garbage_files_only_ever_raise_validation_errors(contract_frames, name, suffix, content):
    with tempfile.TemporaryDirectory() as tmp:
        write_extract(contract_frames(), tmp, extracted_on=EXTRACTED_ON)
        target = Path(tmp) / ("manifest.json" if name == "manifest" else f"{name}.{suffix}")
        if target.suffix == ".parquet":
            (Path(tmp) / f"{name}.csv").unlink()
        target.write_bytes(content)
        try:
            load_extract(tmp)
        except ExtractValidationError as err:
            assert err.violations


@PROPERTY
@given(
    rows=st.lists(st.tuples(st.sampled_from(["a", "b", "B", "ab", "é", "a1"]),
                            st.one_of(st.none(), st.integers(0, 5))), max_size=25),
    categorical=st.booleans(),
    with_time=st.booleans(),
)
def test_canonical_order_matches_a_stable_sort(rows, categorical, with_time):
    frame = pd.DataFrame({
        "person_id": [p for p, _ in rows],
        "recorded_on": pd.Series(
            [None if d is None else pd.Timestamp(2020, 1, 1 + d, 4 * d if with_time else 0)
             for _, d in rows], dtype="datetime64[ns]"),
        "ace_type": "domestic_abuse",
        "source": "police",
    })
    if categorical:
        frame["person_id"] = pd.Categorical(
            frame["person_id"], categories=sorted(set(frame["person_id"]))
        )
    got = to_canonical("adversity", frame)
    reference = pd.DataFrame({
        "person_id": np.asarray(frame["person_id"].astype(str), dtype=object),
        "recorded_on": frame["recorded_on"],
        "row": np.arange(len(frame)),
    }).sort_values(["person_id", "recorded_on"], kind="mergesort")
    assert got["person_id"].tolist() == reference["person_id"].tolist()
    assert got["recorded_on"].astype(object).tolist() == reference["recorded_on"].astype(object).tolist()
    assert got["ace_type"].dtype == canonical_dtype(TABLES["adversity"].column("ace_type"))


def test_to_canonical_reads_zoned_dates_as_their_local_day():
    from extract.canonical import to_canonical as canonical

    frame = pd.DataFrame({
        "person_id": ["p1", "p2"],
        "ace_type": ["physical_abuse", "physical_abuse"],
        "recorded_on": pd.to_datetime(["2021-06-01", "2021-06-02"]).tz_localize("Europe/London"),
        "source": ["police", "police"],
    })
    got = canonical("adversity", frame)
    assert got["recorded_on"].tolist() == [pd.Timestamp("2021-06-01"), pd.Timestamp("2021-06-02")]
