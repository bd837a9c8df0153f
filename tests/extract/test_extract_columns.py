"""Tables given as columns (one JSON case) go through the same parsing and checks as frames,
and the loader's extract hands out canonical arrays without building DataFrames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from extract.canonical import CanonicalTables, canonical_dtype
from extract.contract import TABLES, UNKNOWN_TABLE
from extract.loader import (
    RAGGED_COLUMNS,
    ExtractValidationError,
    extract_from_columns,
    extract_from_frames,
)

EXTRACTED_ON = "2024-04-01"


def as_columns(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """Text frames as the single-case path sends them: object arrays of str or None."""
    return {
        name: {
            col: np.array([None if pd.isna(v) or v == "" else v for v in frame[col]], dtype=object)
            for col in frame.columns
        }
        for name, frame in frames.items()
    }


def test_columns_give_the_same_extract_as_frames(contract_frames):
    frames = contract_frames()
    from_frames = extract_from_frames(frames, extracted_on=EXTRACTED_ON)
    from_columns = extract_from_columns(as_columns(frames), extracted_on=EXTRACTED_ON)
    assert from_columns.has_referrals == from_frames.has_referrals
    assert from_columns.extracted_on == from_frames.extracted_on
    for name in TABLES:
        pd.testing.assert_frame_equal(from_columns[name], from_frames[name], check_exact=True)


def test_columns_report_the_same_violations_as_frames(contract_frames):
    frames = contract_frames()
    frames["people"].loc[0, "birth_month"] = "2010-13-01"
    frames["adversity"].loc[0, "person_id"] = "nobody"
    frames["attendance"].loc[0, "sessions_attended"] = "999"
    with pytest.raises(ExtractValidationError) as from_frames:
        extract_from_frames(frames, extracted_on=EXTRACTED_ON)
    with pytest.raises(ExtractValidationError) as from_columns:
        extract_from_columns(as_columns(frames), extracted_on=EXTRACTED_ON)
    assert from_columns.value.violations == from_frames.value.violations
    assert len(from_frames.value.violations) == 3


def test_numbers_as_float_arrays_are_read_as_numbers(contract_frames):
    columns = as_columns(contract_frames())
    attendance = columns["attendance"]
    for col in ("sessions_possible", "sessions_attended", "unauthorised_absences"):
        attendance[col] = attendance[col].astype(np.float64)
    extract = extract_from_columns(columns, extracted_on=EXTRACTED_ON)
    assert extract["attendance"]["sessions_possible"].tolist() == [140, 120, 140, 118]
    attendance["sessions_attended"][0] = 0.5
    with pytest.raises(ExtractValidationError, match="not a whole number"):
        extract_from_columns(columns, extracted_on=EXTRACTED_ON)


def test_columns_of_unequal_length_are_a_clear_error(contract_frames):
    columns = as_columns(contract_frames())
    columns["adversity"]["ace_type"] = columns["adversity"]["ace_type"][:-1]
    with pytest.raises(ValueError) as info:
        extract_from_columns(columns, extracted_on=EXTRACTED_ON)
    assert not isinstance(info.value, ExtractValidationError)
    assert str(info.value).startswith(RAGGED_COLUMNS.split("{")[0])


def test_unknown_table_is_a_violation(contract_frames):
    columns = as_columns(contract_frames())
    columns["school_meals"] = {"person_id": np.array(["p1"], dtype=object)}
    with pytest.raises(ExtractValidationError) as info:
        extract_from_columns(columns, extracted_on=EXTRACTED_ON)
    [violation] = info.value.violations
    assert violation.table == "school_meals"
    assert violation.problem == UNKNOWN_TABLE.format(table="school_meals", allowed=", ".join(TABLES))


def test_extract_columns_equal_its_frames_and_frames_are_built_once(contract_frames):
    extract = extract_from_frames(contract_frames(), extracted_on=EXTRACTED_ON)
    assert isinstance(extract.tables, CanonicalTables)
    assert list(extract.tables) == list(TABLES) and len(extract.tables) == len(TABLES)
    for name, spec in TABLES.items():
        columns = extract.columns(name)
        assert list(columns) == list(spec.column_names)
        frame = extract[name]
        assert name in extract.tables._frames  # built on first use, then kept
        pd.testing.assert_frame_equal(extract[name], frame)  # each read: a shallow copy
        for col in spec.columns:
            values = columns[col.name]
            if col.kind == "category":
                assert isinstance(values, pd.Categorical) and values.dtype == canonical_dtype(col)
                assert values.equals(frame[col.name].array)
            else:
                np.testing.assert_array_equal(values, frame[col.name].to_numpy())
                assert values.dtype == frame[col.name].dtype
    with pytest.raises(KeyError):
        extract.tables["school_meals"]


def test_extract_of_plain_frames_reads_columns_from_them(contract_frames):
    loaded = extract_from_frames(contract_frames(), extracted_on=EXTRACTED_ON)
    plain = type(loaded)(tables={name: loaded[name] for name in TABLES},
                         extracted_on=loaded.extracted_on)
    for name in TABLES:
        for col, values in plain.columns(name).items():
            expected = loaded.columns(name)[col]
            if isinstance(expected, pd.Categorical):
                assert values.equals(expected)
            else:
                np.testing.assert_array_equal(values, expected)


def test_a_repeated_row_index_with_an_extra_column_is_a_violation_not_a_crash(contract_frames):
    frames = contract_frames()
    people = frames["people"].assign(notes="x")
    frames["people"] = people.set_axis([0] * len(people), axis=0)
    with pytest.raises(ExtractValidationError) as info:
        extract_from_frames(frames, extracted_on=EXTRACTED_ON)
    [violation] = info.value.violations
    assert (violation.table, violation.column) == ("people", "notes")


def test_columns_not_a_mapping_is_a_violation():
    with pytest.raises(ExtractValidationError) as info:
        extract_from_columns([("people", {})], extracted_on=EXTRACTED_ON)
    assert info.value.violations[0].problem.startswith("expected a mapping of table name")


def test_a_loaded_extract_cannot_be_edited_through_its_frames_or_arrays(contract_frames):
    extract = extract_from_frames(contract_frames(), extracted_on=EXTRACTED_ON)
    before = extract.columns("people")["imd_decile"].copy()
    frame = extract["people"]
    frame.loc[0, "imd_decile"] = 99.0  # the caller's copy only (copy-on-write)
    frame["imd_decile"] = 1.0
    np.testing.assert_array_equal(extract.columns("people")["imd_decile"], before)
    np.testing.assert_array_equal(extract["people"]["imd_decile"].to_numpy(), before)
    with pytest.raises(ValueError, match="read-only"):
        extract.columns("people")["imd_decile"][0] = 99.0
    with pytest.raises(TypeError):
        extract.columns("people")["imd_decile"] = before


def test_a_loaded_extract_pickles_without_its_frames(contract_frames):
    import pickle

    extract = extract_from_frames(contract_frames(), extracted_on=EXTRACTED_ON)
    for name in TABLES:
        extract[name]  # build every frame
    copy = pickle.loads(pickle.dumps(extract))
    assert not copy.tables._frames
    for name in TABLES:
        pd.testing.assert_frame_equal(copy[name], extract[name])
