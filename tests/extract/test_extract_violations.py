"""Every violation class on tiny hand-made frames, with the exact Violation reported."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from extract import loader as L
from extract import schemas as S
from extract.canonical import canonical_dtype
from extract.contract import TABLES, UNKNOWN_TABLE
from extract.loader import ExtractValidationError, Violation, extract_from_frames

EXTRACTED_ON = "2024-04-01"
VALID_NHS = "9434765919"  # the NHS's own published example number: valid check digit
VALID_UPN = "B801200005001"  # check letter B: (8*2 + 1*4 + 2*5 + 5*10 + 1*13) % 23 = 1


def violations_of(frames, **kwargs) -> list[Violation]:
    with pytest.raises(ExtractValidationError) as info:
        extract_from_frames(frames, **kwargs)
    return info.value.violations


def test_good_frames_load_with_canonical_dtypes(contract_frames):
    extract = extract_from_frames(contract_frames(), extracted_on=EXTRACTED_ON, source="unit")
    assert extract.extracted_on == pd.Timestamp(EXTRACTED_ON)
    assert extract.source == "unit" and extract.has_referrals
    for name, spec in TABLES.items():
        frame = extract[name]
        assert list(frame.columns) == list(spec.column_names)
        for col in spec.columns:
            assert frame[col.name].dtype == canonical_dtype(col), (name, col.name)
    assert extract["people"]["imd_decile"].isna().sum() == 1
    assert extract["attendance"]["sessions_possible"].tolist() == [140, 120, 140, 118]


def test_without_extracted_on_the_day_after_the_latest_record(contract_frames):
    extract = extract_from_frames(contract_frames())
    assert extract.extracted_on == pd.Timestamp("2022-02-03")


def test_optional_referrals_may_be_absent(contract_frames):
    frames = contract_frames()
    del frames["referrals"]
    extract = extract_from_frames(frames)
    assert not extract.has_referrals
    assert len(extract["referrals"]) == 0
    assert extract["referrals"]["referral_source"].dtype == canonical_dtype(
        TABLES["referrals"].column("referral_source")
    )


def test_typed_frames_give_the_same_extract_as_text(contract_frames):
    text = contract_frames()
    typed = {}
    for name, frame in text.items():
        out = frame.copy()
        for col in TABLES[name].columns:
            values = frame[col.name].replace("", None)
            if col.kind == "date":
                out[col.name] = pd.to_datetime(values, format="%Y-%m-%d")
            elif col.kind in ("int", "number"):
                out[col.name] = pd.to_numeric(values)
            elif col.kind == "category":
                out[col.name] = values.astype("category")
        typed[name] = out
    typed["people"]["birth_month"] = [dt.date(2008, 5, 1), dt.date(2010, 1, 1), dt.date(2006, 11, 1),
                                      dt.date(2004, 2, 1), dt.date(2009, 9, 1)]
    a = extract_from_frames(text, extracted_on=EXTRACTED_ON)
    b = extract_from_frames(typed, extracted_on=pd.Timestamp(EXTRACTED_ON))
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_rows_are_sorted_by_person_then_date(contract_frames):
    frames = contract_frames()
    frames["adversity"] = frames["adversity"].iloc[::-1]
    extract = extract_from_frames(frames)
    got = extract["adversity"][["person_id", "recorded_on"]].astype(str).values.tolist()
    assert got == [["p01", "2019-03-04"], ["p01", "2021-01-15"], ["p02", "2020-06-01"],
                   ["p04", "2018-07-09"]]


def set_cell(frames, table, column, row, value):
    frames[table].loc[row - 1, column] = value
    return frames


CATEGORY_SEX = S.UNKNOWN_CATEGORY.format(allowed="female, male, unknown")

CELL_CASES = [
    # (table, column, row, value, problem, reported value)
    ("people", "birth_month", 2, "2010-1-01", L.BAD_DATE, "2010-1-01"),
    ("people", "birth_month", 2, "01/01/2010", L.BAD_DATE, "01/01/2010"),
    ("adversity", "recorded_on", 3, "2021-02-30", L.BAD_DATE, "2021-02-30"),
    ("care_episodes", "end_on", 1, "yesterday", L.BAD_DATE, "yesterday"),
    ("people", "sex", 3, "m", CATEGORY_SEX, "m"),
    ("people", "sex", 3, "Male", L.CLOSEST_CATEGORY.format(problem=CATEGORY_SEX, suggestion="male"),
     "Male"),
    ("police_contacts", "category", 2, "stabbing",
     S.UNKNOWN_CATEGORY.format(allowed=", ".join(TABLES["police_contacts"].column("category").categories)),
     "stabbing"),
    ("people", "imd_decile", 1, "11", S.ABOVE_MAXIMUM.format(bound=10), "11"),
    ("people", "imd_decile", 1, "0", S.BELOW_MINIMUM.format(bound=1), "0"),
    ("attendance", "sessions_possible", 2, "0", S.BELOW_MINIMUM.format(bound=1), "0"),
    ("attendance", "unauthorised_absences", 2, "-1", S.BELOW_MINIMUM.format(bound=0), "-1"),
    ("exclusions", "days", 1, "-0.5", L.DAYS_NOT_POSITIVE, "-0.5"),
    ("exclusions", "days", 1, "0", L.DAYS_NOT_POSITIVE, "0"),
    ("exclusions", "days", 1, "", L.SUSPENSION_WITHOUT_DAYS, None),
    ("exclusions", "days", 2, "3", L.PERMANENT_WITH_DAYS, "3"),
    ("people", "area_code", 1, "E0100987", L.NOT_AN_AREA_CODE, "E0100987"),
    ("police_contacts", "area_code", 1, "S01000001", L.NOT_AN_AREA_CODE, "S01000001"),
    ("police_contacts", "weapon", 1, "Knife or sharp",
     L.CLOSEST_CATEGORY.format(problem=S.UNKNOWN_CATEGORY.format(
         allowed=", ".join(TABLES["police_contacts"].column("weapon").categories)),
         suggestion="knife_or_sharp"), "Knife or sharp"),
    ("referrals", "engaged_on", 1, "2021-05-31", L.ENGAGED_BEFORE_REFERRED.format(referred="2021-06-01"),
     "2021-05-31"),
    ("attendance", "term_end", 2, "2020-01-05", L.TERM_END_BEFORE_START.format(start="2020-01-06"),
     "2020-01-05"),
    ("attendance", "term_end", 1, "", L.EMPTY_REQUIRED, None),
    ("attendance", "term_end", 1, EXTRACTED_ON, L.FUTURE_RECORD.format(extracted_on=EXTRACTED_ON),
     EXTRACTED_ON),
    ("exclusions", "days", 1, "two", L.NOT_NUMERIC, "two"),
    ("people", "imd_decile", 4, "3.5", L.NOT_WHOLE, "3.5"),
    ("attendance", "sessions_attended", 1, "inf", L.NOT_NUMERIC, "inf"),
    ("referrals", "person_id", 1, "", L.EMPTY_REQUIRED, None),
    ("adversity", "person_id", 2, "  ", L.EMPTY_REQUIRED, None),
    ("people", "sex", 2, "", L.EMPTY_REQUIRED, None),
    ("health_events", "occurred_on", 1, "", L.EMPTY_REQUIRED, None),
    ("attendance", "sessions_possible", 3, "", L.EMPTY_REQUIRED, None),
    ("people", "birth_month", 5, "2009-09-15", S.NOT_FIRST_OF_MONTH, "2009-09-15"),
    ("people", "local_authority", 2, VALID_NHS, L.IDENTIFYING_NHS_NUMBER, L.WITHHELD),
    ("police_contacts", "person_id", 1, "943 476 5919", L.IDENTIFYING_NHS_NUMBER, L.WITHHELD),
    ("people", "sex", 1, "943-476-5919", L.IDENTIFYING_NHS_NUMBER, L.WITHHELD),
    ("people", "local_authority", 3, VALID_UPN, L.IDENTIFYING_UPN, L.WITHHELD),
    ("people", "area_code", 1, "CV1 2WT", L.IDENTIFYING_POSTCODE, L.WITHHELD),
    ("referrals", "programme", 1, "cirv (contact jo.bloggs@example.org)", L.IDENTIFYING_EMAIL,
     L.WITHHELD),
    ("health_events", "person_id", 2, "07700 900123", L.IDENTIFYING_TELEPHONE, L.WITHHELD),
    ("adversity", "person_id", 1, "p99", L.UNKNOWN_PERSON, "p99"),
    ("care_episodes", "end_on", 1, "2019-03-31", L.END_BEFORE_START.format(start="2019-04-01"),
     "2019-03-31"),
    ("attendance", "sessions_attended", 2, "121",
     L.ATTENDED_OVER_POSSIBLE.format(possible=120), 121),
    ("attendance", "unauthorised_absences", 1, "11",
     L.UNAUTHORISED_OVER_MISSED.format(missed=10), 11),
    ("health_events", "occurred_on", 2, EXTRACTED_ON,
     L.FUTURE_RECORD.format(extracted_on=EXTRACTED_ON), EXTRACTED_ON),
    ("care_episodes", "end_on", 2, "2030-01-01",
     L.FUTURE_RECORD.format(extracted_on=EXTRACTED_ON), "2030-01-01"),
]


@pytest.mark.parametrize(("table", "column", "row", "value", "problem", "shown"), CELL_CASES)
def test_one_bad_cell_one_exact_violation(contract_frames, table, column, row, value, problem, shown):
    frames = set_cell(contract_frames(), table, column, row, value)
    assert violations_of(frames, extracted_on=EXTRACTED_ON) == [
        Violation(table, column, row, shown, problem)
    ]


def test_nullable_cells_may_be_empty(contract_frames):
    frames = contract_frames()
    set_cell(frames, "people", "imd_decile", 1, "")
    set_cell(frames, "people", "area_code", 1, "")
    set_cell(frames, "care_episodes", "end_on", 1, "")
    set_cell(frames, "referrals", "outcome", 1, "")
    assert extract_from_frames(frames)["people"]["imd_decile"].isna().sum() == 2


def test_ten_digits_with_a_wrong_check_digit_are_not_an_nhs_number(contract_frames):
    frames = contract_frames()
    frames["people"]["person_id"] = frames["people"]["person_id"].replace("p01", "9434765918")
    for name in TABLES:
        if name != "people":
            frames[name]["person_id"] = frames[name]["person_id"].replace("p01", "9434765918")
    assert (extract_from_frames(frames)["people"]["person_id"] == "9434765918").any()


def test_duplicate_person_names_the_first_row(contract_frames):
    frames = contract_frames()
    people = frames["people"]
    frames["people"] = pd.concat([people, people.iloc[[1]]], ignore_index=True)
    assert violations_of(frames) == [
        Violation("people", "person_id", 6, "p02", L.DUPLICATE_PERSON.format(first=2))
    ]


def test_duplicate_term_names_the_first_row(contract_frames):
    frames = contract_frames()
    attendance = frames["attendance"]
    repeat = attendance.iloc[[0]].assign(sessions_attended="120")
    frames["attendance"] = pd.concat([attendance, repeat, repeat], ignore_index=True)
    assert violations_of(frames) == [
        Violation("attendance", "term_start", 5, "2019-09-01", L.DUPLICATE_TERM.format(first=1)),
        Violation("attendance", "term_start", 6, "2019-09-01", L.DUPLICATE_TERM.format(first=1)),
    ]


def test_missing_required_table_and_unknown_table(contract_frames):
    frames = contract_frames()
    del frames["attendance"]
    frames["pupils"] = pd.DataFrame({"a": [1]})
    assert violations_of(frames) == [
        Violation("attendance", None, None, None, L.MISSING_TABLE.format(table="attendance")),
        Violation("pupils", None, None, None, UNKNOWN_TABLE.format(table="pupils", allowed=", ".join(TABLES))),
    ]


def test_missing_and_extra_columns(contract_frames):
    frames = contract_frames()
    frames["exclusions"] = frames["exclusions"].drop(columns=["exclusion"]).assign(notes="x")
    assert violations_of(frames) == [
        Violation("exclusions", "exclusion", None, None, L.MISSING_COLUMN),
        Violation("exclusions", "notes", None, None, L.EXTRA_COLUMN),
    ]


@pytest.mark.parametrize(
    ("column", "what"),
    [
        ("name", "a name"), ("first_name", "a name"), ("Surname", "a name"),
        ("forename", "a name"), ("full_name", "a name"), ("address", "an address"),
        ("postcode", "an address"), ("nhs_number", "an NHS number"),
        ("nhs_no", "an NHS number"), ("upn", "a unique pupil number"),
        ("dob", "a date of birth"), ("date_of_birth", "a date of birth"),
        ("email", "contact details"), ("phone", "contact details"),
        ("Home Address", "an address"),
    ],
)
def test_identifying_column_names_are_refused(contract_frames, column, what):
    frames = contract_frames()
    frames["people"][column] = "x"
    assert violations_of(frames) == [
        Violation("people", column, None, None, L.IDENTIFYING_COLUMN.format(what=what))
    ]


def test_future_extracted_on_is_refused(contract_frames):
    utc_today = pd.Timestamp.now(tz="UTC").normalize().tz_localize(None)
    tomorrow = utc_today + pd.Timedelta(days=1)
    today = utc_today.strftime("%Y-%m-%d")
    assert violations_of(contract_frames(), extracted_on=tomorrow) == [
        Violation("manifest", "extracted_on", None, tomorrow.strftime("%Y-%m-%d"),
                  L.FUTURE_EXTRACTED_ON.format(today=today))
    ]


def test_extracted_on_is_a_day(contract_frames):
    aware = pd.Timestamp("2024-04-01 23:30", tz="Europe/London")
    assert extract_from_frames(contract_frames(), extracted_on=aware).extracted_on == pd.Timestamp(
        "2024-04-01"
    )
    assert extract_from_frames(
        contract_frames(), extracted_on=dt.date(2024, 4, 1)
    ).extracted_on == pd.Timestamp("2024-04-01")


def test_bad_extracted_on_argument(contract_frames):
    assert violations_of(contract_frames(), extracted_on="1 April 2024") == [
        Violation("manifest", "extracted_on", None, "1 April 2024", L.BAD_EXTRACTED_ON)
    ]


def test_not_a_frame(contract_frames):
    frames = contract_frames()
    frames["health_events"] = [{"person_id": "p01"}]
    assert violations_of(frames) == [
        Violation("health_events", None, None, None, L.NOT_A_FRAME.format(kind="list"))
    ]


def test_not_a_mapping():
    assert violations_of([pd.DataFrame()]) == [
        Violation("extract", None, None, None, L.NOT_A_MAPPING.format(kind="list"))
    ]


def test_all_violations_reported_together_and_listed_one_per_line(contract_frames):
    frames = contract_frames()
    set_cell(frames, "people", "sex", 3, "m")
    set_cell(frames, "people", "birth_month", 2, "2010-13-01")
    set_cell(frames, "attendance", "sessions_possible", 4, "x")
    set_cell(frames, "exclusions", "days", 2, "-3")
    frames["police_contacts"]["postcode"] = "CV1"
    with pytest.raises(ExtractValidationError) as info:
        extract_from_frames(frames)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.violations == [
        Violation("people", "birth_month", 2, "2010-13-01", L.BAD_DATE),
        Violation("people", "sex", 3, "m", CATEGORY_SEX),
        Violation("attendance", "sessions_possible", 4, "x", L.NOT_NUMERIC),
        Violation("exclusions", "days", 2, "-3", L.PERMANENT_WITH_DAYS),
        Violation("police_contacts", "postcode", None, None,
                  L.IDENTIFYING_COLUMN.format(what="an address")),
    ]
    lines = str(err).splitlines()
    assert lines[0] == "the extract breaks the data contract in 5 place(s):"
    assert lines[2] == (
        "  people, column sex, row 3: unknown category; allowed values: female, male, unknown"
        " (value: 'm')"
    )
    assert len(lines) == 6


def test_schemas_are_derived_from_the_contract():
    for name, spec in TABLES.items():
        schema = S.table_schema(name)
        assert schema.strict is True
        assert list(schema.columns) == list(spec.column_names)
        for col in spec.columns:
            assert schema.columns[col.name].nullable == col.nullable
