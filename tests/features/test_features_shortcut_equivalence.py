"""The feature builder's shortcuts give what the general path gives.

Single cases take shortcuts in features/point_in_time.py and features/families/context.py:
person codes by dict for small lookups, no re-sort of record keys already in order, no
column reads or searches on empty tables, age bands from a per-range lookup table. Each
test runs the shortcut and the general path on the same records and wants equal results.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.errors import InvalidIndexError

from extract.contract import EVENT_TABLES, age_band
from features import point_in_time
from features.families.context import AGE_BAND_CATEGORIES, age_bands
from features.pipeline import FeatureBuilder
from features.point_in_time import person_codes

AS_OF = pd.Timestamp("2024-04-01")
_ID = st.text(alphabet="abc", min_size=1, max_size=2)


def _table(extract, cohort):
    return FeatureBuilder({"include_protected": ["sex", "age_band"]}).transform(extract, cohort)


def _assert_same_tables(left, right):
    for a, b in ((left.keys, right.keys), (left.X, right.X), (left.audit, right.audit)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert left.feature_names == right.feature_names


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(people=st.lists(_ID, unique=True, max_size=8), ids=st.lists(_ID | st.just("zz"), max_size=12))
def test_person_codes_by_dict_equal_the_pandas_lookup(people, ids):
    people_ids, wanted = np.array(people, dtype=object), np.array(ids, dtype=object)
    expected = pd.Index(people_ids, dtype=object).get_indexer(pd.Index(wanted, dtype=object))
    with pytest.MonkeyPatch.context() as patch:
        for small in (0, 10_000):  # the pandas route, then the dict route
            patch.setattr(point_in_time, "SMALL_LOOKUP", small)
            codes = person_codes(people_ids, wanted)
            assert codes.dtype == np.int64
            np.testing.assert_array_equal(codes, expected)


@pytest.mark.parametrize("small", [0, 10_000])
def test_repeated_people_ids_are_refused_on_either_route(small, monkeypatch):
    monkeypatch.setattr(point_in_time, "SMALL_LOOKUP", small)
    with pytest.raises(InvalidIndexError):
        person_codes(np.array(["a", "a"], dtype=object), np.array(["a"], dtype=object))


def test_rows_out_of_order_and_records_of_unknown_people_change_nothing(generated):
    _, extract = generated
    people = extract["people"]["person_id"].iloc[::40].to_numpy(dtype=object)
    cohort = pd.DataFrame({"person_id": np.repeat(people, 2),
                           "as_of": np.tile(pd.to_datetime(["2021-04-01", "2023-04-01"]), len(people))})
    rng = np.random.default_rng(5)
    shuffled = {}
    for name, frame in extract.tables.items():
        if name in EVENT_TABLES and len(frame):
            # Another person's records: keys that sort before everyone's, in the middle of the table.
            ghost = frame.iloc[: min(3, len(frame))].assign(person_id="not-in-people")
            frame = pd.concat([frame, ghost], ignore_index=True)
            frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
        shuffled[name] = frame
    _assert_same_tables(_table(extract, cohort), _table(dataclasses.replace(extract, tables=shuffled), cohort))


def test_a_person_without_records_gets_the_same_features_from_empty_tables(tiny, make_extract):
    """b's features from tables holding only a's records (searched) equal those from empty tables."""
    others = {name: frame[frame["person_id"] != "b"] if name != "people" else frame
              for name, frame in tiny.items()}
    alone = {"people": tiny["people"]}
    cohort = pd.DataFrame({"person_id": ["b", "b"], "as_of": [AS_OF, pd.Timestamp("2019-01-01")]})
    searched, empty = _table(make_extract(others), cohort), _table(make_extract(alone), cohort)
    _assert_same_tables(searched, empty)
    assert (empty.X["police_suspect_serious_violence_ever"] == 0).all()
    assert empty.X["no_school_record"].eq(1).all() and empty.X["attendance_3t"].isna().all()


@pytest.mark.parametrize(
    "ages",
    [[], [15], [9, 10, 13, 14, 24, 25], list(range(-3, 40)), [130, 2, 17, 17]],
    ids=["none", "one", "band edges", "a range", "unsorted"],
)
def test_age_bands_equal_the_contract_age_band(ages):
    age = np.array(ages, dtype=np.int64)
    expected = pd.Categorical(age_band(pd.Series(age)), categories=AGE_BAND_CATEGORIES)
    got = age_bands(age)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.codes, expected.codes)


def test_tables_do_not_share_a_mutable_column_index(tiny, make_extract):
    extract = make_extract(tiny)
    cohort = pd.DataFrame({"person_id": ["a"], "as_of": [AS_OF]})
    first = FeatureBuilder().transform(extract, cohort)
    first.X.columns.name = "renamed by a caller"
    second = FeatureBuilder().transform(extract, cohort)
    assert second.X.columns.name is None
    assert list(second.X.columns) == first.feature_names


def test_feature_names_are_the_columns_of_x_with_protected_inputs(tiny, make_extract):
    cohort = pd.DataFrame({"person_id": ["a", "b"], "as_of": [AS_OF, AS_OF]})
    table = FeatureBuilder({"include_protected": ["sex", "age_band", "sex"]}).transform(make_extract(tiny), cohort)
    assert table.feature_names == list(table.X.columns)
    assert table.feature_names[-2:] == ["sex", "age_band"]
