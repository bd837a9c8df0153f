"""The writer and load_extract on real files: formats, layout problems, round trips."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from extract import loader as L
from extract.contract import TABLES
from extract.loader import ExtractValidationError, Violation, extract_from_frames, load_extract
from extract.writer import write_extract

EXTRACTED_ON = "2024-04-01"


def load_violations(path) -> list[Violation]:
    with pytest.raises(ExtractValidationError) as info:
        load_extract(path)
    return info.value.violations


@pytest.fixture
def written(tmp_path, contract_frames):
    out = tmp_path / "extract"
    write_extract(contract_frames(), out, extracted_on=EXTRACTED_ON)
    return out


def test_csv_bytes_are_the_contract_format(tmp_path, contract_frames):
    frames = contract_frames()
    typed = extract_from_frames(frames).tables  # typed values: float ints, datetimes
    write_extract({"people": typed["people"], "exclusions": typed["exclusions"]}, tmp_path)
    assert (tmp_path / "people.csv").read_text() == (
        "person_id,birth_month,sex,ethnicity,imd_decile,sen,local_authority,area_code\n"
        "p01,2008-05-01,male,white,3,none,coventry,E01009876\n"
        "p02,2010-01-01,female,black,,ehcp,wolverhampton,\n"
        "p03,2006-11-01,unknown,unknown,10,unknown,coventry,W01000123\n"
        "p04,2004-02-01,male,asian,1,sen_support,walsall,E01012345\n"
        "p05,2009-09-01,female,mixed,6,none,coventry,\n"
    )
    assert (tmp_path / "exclusions.csv").read_text() == (
        "person_id,excluded_on,exclusion,days\n"
        "p01,2020-02-03,suspension,2\n"
        "p04,2019-05-20,permanent,\n"
    )
    assert not (tmp_path / "manifest.json").exists()


def test_manifest_written_when_extracted_on_given(written):
    assert json.loads((written / "manifest.json").read_text()) == {"extracted_on": EXTRACTED_ON}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_frames_same_bytes(tmp_path, contract_frames, fmt):
    write_extract(contract_frames(), tmp_path / "a", fmt=fmt, extracted_on=EXTRACTED_ON)
    write_extract(contract_frames(), tmp_path / "b", fmt=fmt, extracted_on=EXTRACTED_ON)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(names) == len(TABLES) + 1
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_gives_equal_canonical_frames(tmp_path, contract_frames, fmt):
    frames = contract_frames()
    frames["people"].loc[1, "local_authority"] = 'odd, "quoted" place'  # needs CSV quoting
    expected = extract_from_frames(frames, extracted_on=EXTRACTED_ON)
    write_extract(expected.tables, tmp_path, fmt=fmt, extracted_on=EXTRACTED_ON)
    loaded = load_extract(tmp_path)
    assert loaded.extracted_on == expected.extracted_on
    assert loaded.source == str(tmp_path)
    for name in TABLES:
        pd.testing.assert_frame_equal(loaded[name], expected[name])


def test_writer_refuses_bad_input(tmp_path, contract_frames):
    frames = contract_frames()
    with pytest.raises(ValueError, match="unknown format 'xlsx'"):
        write_extract(frames, tmp_path, fmt="xlsx")
    with pytest.raises(ValueError, match="'pupils' is not a contract table"):
        write_extract({"pupils": frames["people"]}, tmp_path)
    with pytest.raises(ValueError, match="lacks contract column"):
        write_extract({"people": frames["people"].drop(columns=["sex"])}, tmp_path)
    write_extract({"people": frames["people"]}, tmp_path, fmt="parquet")
    with pytest.raises(ValueError, match="two formats"):
        write_extract({"people": frames["people"]}, tmp_path, fmt="csv")


def test_truth_and_other_folders_are_ignored_without_manifest_the_day_after(written):
    (written / "_truth").mkdir()
    (written / "_truth" / "outcomes.csv").write_text("anything")
    (written / "manifest.json").unlink()
    assert load_extract(written).extracted_on == pd.Timestamp("2022-02-03")


def test_unknown_files_and_both_formats_are_named(written, contract_frames):
    (written / "notes.txt").write_text("hello")
    (written / "People.csv").write_text("x")
    write_extract({"health_events": contract_frames()["health_events"]}, written / "pq", "parquet")
    (written / "pq" / "health_events.parquet").rename(written / "health_events.parquet")
    unknown = L.UNKNOWN_FILE.format(allowed=", ".join(TABLES))
    assert load_violations(written) == [
        Violation("health_events", None, None, None, L.BOTH_FORMATS),
        Violation("People.csv", None, None, None, unknown),
        Violation("notes.txt", None, None, None, unknown),
    ]


def test_parquet_tables_are_detected_per_file(written, contract_frames):
    (written / "attendance.csv").unlink()
    write_extract({"attendance": contract_frames()["attendance"]}, written, fmt="parquet")
    assert len(load_extract(written)["attendance"]) == 4


def test_spreadsheet_style_csv_with_bom_and_crlf_loads(written):
    path = written / "people.csv"
    text = path.read_text()
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert load_extract(written)["people"]["person_id"].tolist() == ["p01", "p02", "p03", "p04", "p05"]


def test_missing_table_in_a_folder(written):
    (written / "people.csv").unlink()
    assert load_violations(written) == [
        Violation("people", None, None, None, L.MISSING_TABLE.format(table="people"))
    ]


def test_ragged_rows_keep_file_row_numbers(written):
    path = written / "adversity.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2] + ",extra"  # data row 2
    lines[3] = lines[3].replace("2021-01-15", "15/01/2021")  # data row 3, still parsed
    path.write_text("\n".join(lines) + "\n")
    assert load_violations(written) == [
        Violation("adversity", None, 2, None, L.RAGGED_ROW.format(actual=5, expected=4)),
        Violation("adversity", "recorded_on", 3, "15/01/2021", L.BAD_DATE),
    ]


def test_empty_unreadable_and_duplicate_header_files(written):
    (written / "health_events.csv").write_bytes(b"")
    (written / "referrals.csv").write_bytes(b"person_id,referred_on,referral_source\n\xff\xfe,x,y\n")
    (written / "exclusions.csv").write_text("person_id,person_id,excluded_on,exclusion,days\n")
    (written / "attendance.csv").unlink()
    (written / "attendance.parquet").write_bytes(b"PAR1 not really")
    problems = load_violations(written)
    assert [(v.table, v.column, v.problem.split(":")[0]) for v in problems] == [
        ("attendance", None, "cannot read the file"),
        ("exclusions", "person_id", L.DUPLICATE_COLUMN),
        ("health_events", None, L.EMPTY_FILE),
        ("referrals", None, "cannot read the file"),
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", None),
        ('["2024-04-01"]', L.BAD_MANIFEST.format(reason="unexpected structure")),
        ('{"extracted_on": "2024-04-01", "by": "me"}',
         L.BAD_MANIFEST.format(reason="unexpected structure")),
        ('{"extracted_on": "01/04/2024"}', L.BAD_EXTRACTED_ON),
    ],
)
def test_bad_manifest(written, content, problem):
    (written / "manifest.json").write_text(content)
    (violation,) = load_violations(written)
    assert violation.table == "manifest"
    if problem is None:
        assert violation.problem.startswith("manifest.json must be a JSON object")
    else:
        assert violation.problem == problem


def test_manifest_before_the_records_makes_them_future(written):
    (written / "manifest.json").write_text('{"extracted_on": "2022-01-01"}')
    future = L.FUTURE_RECORD.format(extracted_on="2022-01-01")
    assert load_violations(written) == [
        Violation("police_contacts", "occurred_on", 2, "2022-01-01", future),
        Violation("health_events", "occurred_on", 1, "2022-01-01", future),
        Violation("referrals", "referred_on", 2, "2022-02-02", future),
    ]


def test_not_a_folder(tmp_path):
    assert load_violations(tmp_path / "missing") == [
        Violation("extract", None, None, str(tmp_path / "missing"), L.NOT_A_FOLDER)
    ]

