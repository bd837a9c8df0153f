"""Point-in-time correctness: known values, records on/after as_of ignored, moved records counted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract.contract import (
    ACE_TYPES,
    ADVERSITY_SOURCES,
    CARE_EPISODES,
    EDUCATION_STATUSES,
    EXCLUSION_TYPES,
    HEALTH_EVENTS,
    POLICE_CATEGORIES,
    POLICE_ROLES,
)
from features.cohort import referral_cohort, snapshot_cohort
from features.pipeline import FeatureBuilder

AS_OF = pd.Timestamp("2024-04-01")


def features_of(extract, person: str = "a", as_of: pd.Timestamp = AS_OF) -> pd.Series:
    cohort = pd.DataFrame({"person_id": [person], "as_of": [as_of]})
    return FeatureBuilder().transform(extract, cohort).X.iloc[0]


def test_known_values_of_a_hand_built_history(tiny, make_extract):
    x = features_of(make_extract(tiny))
    # ACEs: physical abuse (2020) and domestic abuse (2023-05, within 24 months); sexual abuse is after as_of.
    assert x["ace_physical_abuse"] == 1 and x["ace_domestic_abuse"] == 1 and x["ace_sexual_abuse"] == 0
    assert x["ace_count"] == 2 and x["ace_4plus"] == 0 and x["ace_new_24m"] == 1
    # Care: CIN ended before as_of; CPP open (no end); early help ends ON as_of, so it was open then.
    assert x["care_child_in_need_open"] == 0 and x["care_child_in_need_ever"] == 1
    assert x["care_child_protection_plan_open"] == 1
    assert x["care_early_help_open"] == 1
    assert math.isnan(x["care_looked_after_months_since"])
    assert x["care_child_protection_plan_months_since"] == pytest.approx((AS_OF - pd.Timestamp("2023-01-01")).days / (365.25 / 12))
    # Attendance: 5 terms before as_of within 2 years; last 3 = 85, 80, 70 of 100 each.
    assert x["attendance_3t"] == (85 + 80 + 70) / 300
    assert x["attendance_6t"] == (95 + 90 + 85 + 80 + 70) / 500
    assert x["attendance_trend"] == (85 + 80 + 70) / 300 - (95 + 90) / 200
    assert x["persistent_absence_3t"] == 1 and x["severe_absence_3t"] == 0 and x["no_school_record"] == 0
    # Exclusions: 2 suspensions in 12 months, 3.5 days; the permanent exclusion is ON as_of.
    assert x["suspensions_12m"] == 2 and x["suspension_days_12m"] == 3.5
    assert x["permanent_exclusion_ever"] == 0
    assert x["police_suspect_serious_violence_6m"] == 1
    assert x["police_suspect_days_since_last"] == (AS_OF - pd.Timestamp("2024-01-01")).days
    assert x["police_victim_serious_violence_ever"] == 0 and math.isnan(x["police_victim_days_since_last"])
    # Summaries across categories and tables: the robbery is recent serious violence; a care
    # episode started in 2023; no exploitation concern or missing episode.
    assert x["police_suspect_any_12m"] == 1 and x["police_suspect_any_13_36m"] == 0
    assert x["serious_violence_recorded_12m"] == 1 and x["serious_violence_recorded_earlier"] == 0
    assert x["care_started_24m"] == 1 and x["exploitation_or_missing_12m"] == 0 and x["neet_12m"] == 0
    assert x["age"] == 16 and x["imd_decile"] == 3


def test_missing_school_record_is_explicit_not_zero(tiny, make_extract):
    x = features_of(make_extract(tiny), person="b")
    assert x["no_school_record"] == 1  # b's only term is from 2016
    for name in ("attendance_3t", "attendance_6t", "unauthorised_absence_3t", "persistent_absence_3t",
                 "severe_absence_3t", "attendance_trend"):
        assert math.isnan(x[name]), name
    assert math.isnan(x["imd_decile"])
    assert x["neet_ever"] == 1 and x["ed_self_harm_ever"] == 1
    assert x["neet_12m"] == 0  # recorded NEET in January 2023, more than 12 months before as_of


@pytest.mark.parametrize(("offset", "recent", "earlier"), [
    (-1, 1, 0), (-365, 1, 0), (-366, 0, 1), (-1095, 0, 1), (-1096, 0, 0),
])
def test_suspect_contacts_fall_in_exactly_one_of_the_last_year_and_13_to_36_months(
    tiny, make_extract, offset, recent, earlier
):
    frames = {name: frame.copy() for name, frame in tiny.items()}
    # Person b has no police contacts; one drugs contact (not serious violence) at the offset.
    row = {"person_id": "b", "occurred_on": _date(offset), "role": "suspect", "category": "drugs_supply"}
    frames["police_contacts"] = pd.concat([frames["police_contacts"], pd.DataFrame([row])], ignore_index=True)
    x = features_of(make_extract(frames), person="b")
    assert (x["police_suspect_any_12m"], x["police_suspect_any_13_36m"]) == (recent, earlier)
    assert x["serious_violence_recorded_12m"] == 0 and x["serious_violence_recorded_earlier"] == 0


@pytest.mark.parametrize(("table", "record"), [
    ("police_contacts", {"role": "victim", "category": "weapon_possession"}),
    ("health_events", {"event": "ed_assault_injury"}),
])
@pytest.mark.parametrize(("offset", "recent", "earlier"), [(-365, 1, 0), (-366, 0, 1), (-3000, 0, 1)])
def test_serious_violence_recorded_by_either_agency(tiny, make_extract, table, record, offset, recent, earlier):
    frames = {name: frame.copy() for name, frame in tiny.items()}
    row = {"person_id": "b", **record, "occurred_on": _date(offset)}
    frames[table] = pd.concat([frames[table], pd.DataFrame([row])], ignore_index=True)
    x = features_of(make_extract(frames), person="b")
    assert (x["serious_violence_recorded_12m"], x["serious_violence_recorded_earlier"]) == (recent, earlier)


# A record strategy per event table, dated some days on or after as_of.
_OFFSET = st.integers(min_value=0, max_value=900)


def _date(offset: int) -> str:
    return (AS_OF + pd.Timedelta(days=offset)).strftime("%Y-%m-%d")


RECORDS = st.one_of(
    st.tuples(st.just("adversity"), _OFFSET, st.sampled_from(ACE_TYPES), st.sampled_from(ADVERSITY_SOURCES)).map(
        lambda t: (t[0], {"recorded_on": _date(t[1]), "ace_type": t[2], "source": t[3]})),
    st.tuples(st.just("care_episodes"), _OFFSET, st.none() | st.integers(0, 400), st.sampled_from(CARE_EPISODES)).map(
        lambda t: (t[0], {"start_on": _date(t[1]), "end_on": None if t[2] is None else _date(t[1] + t[2]),
                          "episode": t[3]})),
    st.tuples(st.just("attendance"), _OFFSET, st.integers(1, 150), st.data()).map(
        lambda t: (t[0], {"term_start": _date(t[1]), "term_end": _date(t[1] + t[3].draw(st.integers(0, 120))),
                          "sessions_possible": t[2],
                          "sessions_attended": t[3].draw(st.integers(0, t[2])), "unauthorised_absences": 0})),
    st.tuples(st.just("exclusions"), _OFFSET, st.sampled_from(EXCLUSION_TYPES), st.none() | st.floats(0, 30)).map(
        lambda t: (t[0], {"excluded_on": _date(t[1]), "exclusion": t[2], "days": t[3]})),
    st.tuples(st.just("education_status"), _OFFSET, st.sampled_from(EDUCATION_STATUSES)).map(
        lambda t: (t[0], {"recorded_on": _date(t[1]), "status": t[2]})),
    st.tuples(st.just("police_contacts"), _OFFSET, st.sampled_from(POLICE_ROLES), st.sampled_from(POLICE_CATEGORIES)).map(
        lambda t: (t[0], {"occurred_on": _date(t[1]), "role": t[2], "category": t[3]})),
    st.tuples(st.just("health_events"), _OFFSET, st.sampled_from(HEALTH_EVENTS)).map(
        lambda t: (t[0], {"occurred_on": _date(t[1]), "event": t[2]})),
)


@pytest.mark.property
@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(st.sampled_from(["a", "b"]), RECORDS), min_size=1, max_size=12))
def test_records_on_or_after_as_of_never_change_features(tiny, make_extract, records):
    cohort = pd.DataFrame({"person_id": ["a", "b"], "as_of": [AS_OF, AS_OF]})
    before = FeatureBuilder().transform(make_extract(tiny), cohort).X
    frames = {name: frame.copy() for name, frame in tiny.items()}
    for person, (table, record) in records:
        row = pd.DataFrame([{"person_id": person, **record}])
        frames[table] = pd.concat([frames[table], row], ignore_index=True)
    after = FeatureBuilder().transform(make_extract(frames), cohort).X
    pd.testing.assert_frame_equal(before, after, check_exact=True)


MOVES = [
    ("police_contacts", {"role": "suspect", "category": "robbery"}, "occurred_on",
     {"police_suspect_serious_violence_6m", "police_suspect_serious_violence_12m",
      "police_suspect_serious_violence_24m", "police_suspect_serious_violence_ever",
      "police_suspect_days_since_last", "police_suspect_any_12m"}),
    ("police_contacts", {"role": "missing_person", "category": "other"}, "occurred_on",
     {"missing_episodes_12m", "missing_episodes_ever", "exploitation_or_missing_12m"}),
    ("police_contacts", {"role": "victim", "category": "criminal_exploitation_concern"}, "occurred_on",
     {"police_victim_exploitation_6m", "police_victim_exploitation_12m", "police_victim_exploitation_24m",
      "police_victim_exploitation_ever", "police_victim_days_since_last", "exploitation_or_missing_12m"}),
    ("exclusions", {"exclusion": "suspension", "days": 3.0}, "excluded_on",
     {"suspensions_12m", "suspension_days_12m", "suspensions_ever"}),
    ("adversity", {"ace_type": "parental_separation", "source": "school"}, "recorded_on",
     {"ace_parental_separation", "ace_count", "ace_new_24m"}),
    ("care_episodes", {"episode": "looked_after", "end_on": None}, "start_on",
     {"care_looked_after_open", "care_looked_after_ever", "care_looked_after_months_since"}),
    ("health_events", {"event": "ed_assault_injury"}, "occurred_on",
     {"ed_assault_injury_12m", "ed_assault_injury_ever", "ed_assault_injury_days_since_last"}),
    ("education_status", {"status": "school_move"}, "recorded_on", {"school_moves_24m"}),
    ("education_status", {"status": "neet"}, "recorded_on", {"neet_ever", "neet_12m"}),
]


@pytest.mark.parametrize(("table", "record", "date_column", "expected"), MOVES,
                         ids=[m[0] + ":" + "/".join(map(str, m[1].values())) for m in MOVES])
def test_moving_one_record_before_as_of_changes_exactly_its_features(
    tiny, make_extract, table, record, date_column, expected
):
    def with_record(offset_days: int) -> pd.Series:
        frames = {name: frame.copy() for name, frame in tiny.items()}
        row = {"person_id": "a", **record, date_column: _date(offset_days)}
        frames[table] = pd.concat([frames[table], pd.DataFrame([row])], ignore_index=True)
        return features_of(make_extract(frames))

    on_as_of, day_before = with_record(0), with_record(-1)
    changed = {name for name in on_as_of.index
               if not (on_as_of[name] == day_before[name] or (np.isnan(on_as_of[name]) and np.isnan(day_before[name])))}
    assert changed == expected


def test_cohorts(tiny, make_extract):
    extract = make_extract(tiny)
    cohort = snapshot_cohort(extract, ["2024-04-01", "2010-04-01"])
    # In 2010 a (born 2008) is 2 and b (born 2001) is 8: nobody is 10-24; in 2024 both are.
    assert cohort["person_id"].tolist() == ["a", "b"]
    assert (cohort["kind"] == "snapshot").all() and cohort["as_of"].dtype == "datetime64[ns]"
    with pytest.raises(ValueError, match="after the extract"):
        snapshot_cohort(extract, ["2030-01-01"])
    with pytest.raises(ValueError, match="no referrals"):
        referral_cohort(extract)


def test_cohort_person_not_in_people_is_refused(tiny, make_extract):
    cohort = pd.DataFrame({"person_id": ["zz"], "as_of": [AS_OF]})
    with pytest.raises(ValueError, match="not in the people table"):
        FeatureBuilder().transform(make_extract(tiny), cohort)


def test_rows_come_back_in_cohort_order_whatever_the_order_and_index(tiny, make_extract):
    extract = make_extract(tiny)
    as_of = pd.to_datetime(["2024-04-01", "2023-04-01", "2024-04-01", "2022-01-01"])
    cohort = pd.DataFrame({"person_id": ["b", "a", "a", "a"], "as_of": as_of}, index=[10, 3, 7, 1])
    table = FeatureBuilder().transform(extract, cohort)
    assert table.keys["person_id"].tolist() == ["b", "a", "a", "a"]
    for i in range(len(cohort)):
        alone = FeatureBuilder().transform(extract, cohort.iloc[[i]])
        pd.testing.assert_frame_equal(alone.X, table.X.iloc[[i]].reset_index(drop=True), check_exact=True)
    empty = FeatureBuilder().transform(extract, cohort.iloc[:0])
    assert empty.X.shape == (0, len(table.feature_names))


ATTENDANCE_FEATURES = {"attendance_3t", "attendance_6t", "unauthorised_absence_3t", "unauthorised_absence_6t",
                       "persistent_absence_3t", "severe_absence_3t", "attendance_trend"}


@pytest.mark.parametrize("term_end_offset", [0, 1, 60])
def test_a_term_running_on_as_of_is_not_used(tiny, make_extract, term_end_offset):
    """A term that started before as_of but ends on or after it is not yet known (contract 1.1)."""
    frames = {name: frame.copy() for name, frame in tiny.items()}
    row = {"person_id": "a", "term_start": "2024-03-04", "term_end": _date(term_end_offset),
           "sessions_possible": 40, "sessions_attended": 0, "unauthorised_absences": 40}
    frames["attendance"] = pd.concat([frames["attendance"], pd.DataFrame([row])], ignore_index=True)
    pd.testing.assert_series_equal(features_of(make_extract(frames)), features_of(make_extract(tiny)))


def test_a_term_counts_from_the_day_after_it_ends(tiny, make_extract):
    def with_term(term_end_offset: int) -> pd.Series:
        frames = {name: frame.copy() for name, frame in tiny.items()}
        row = {"person_id": "a", "term_start": "2024-03-04", "term_end": _date(term_end_offset),
               "sessions_possible": 40, "sessions_attended": 0, "unauthorised_absences": 40}
        frames["attendance"] = pd.concat([frames["attendance"], pd.DataFrame([row])], ignore_index=True)
        return features_of(make_extract(frames))

    on_as_of, day_before = with_term(0), with_term(-1)
    changed = {name for name in on_as_of.index
               if not (on_as_of[name] == day_before[name] or (np.isnan(on_as_of[name]) and np.isnan(day_before[name])))}
    # The rates move; the flags do not (already below 90% before, still above 50% after).
    assert changed == ATTENDANCE_FEATURES - {"severe_absence_3t", "persistent_absence_3t"}


def test_referral_outcome_and_engagement_are_never_features(tiny, make_extract):
    """What happened after a referral (outcome, engaged_on) never changes any feature."""
    from extract.contract import REFERRAL_AFTER_COLUMNS

    def with_referral(outcome, engaged_on, programme) -> pd.DataFrame:
        frames = {name: frame.copy() for name, frame in tiny.items()}
        frames["referrals"] = pd.DataFrame({
            "person_id": ["a", "b"], "referred_on": ["2023-11-01", "2023-06-01"],
            "referral_source": ["police", "school"], "programme": programme,
            "outcome": outcome, "engaged_on": engaged_on,
        })
        extract = make_extract(frames)
        cohort = pd.DataFrame({"person_id": ["a", "b"],
                               "as_of": pd.to_datetime(frames["referrals"]["referred_on"])})
        return FeatureBuilder().transform(extract, cohort).X

    none = with_referral([None, None], [None, None], [None, None])
    some = with_referral(["accepted", "declined"], ["2023-11-20", None], ["cirv", "early_help"])
    pd.testing.assert_frame_equal(none, some, check_exact=True)
    names = set(FeatureBuilder().transform(make_extract(tiny), pd.DataFrame(
        {"person_id": ["a"], "as_of": [AS_OF]})).feature_names)
    assert not names & {*REFERRAL_AFTER_COLUMNS, "programme", "weapon", "area_code"}


def test_rows_outside_the_scoring_ages_are_left_out_and_counted(tiny, make_extract):
    from features.cohort import OUTSIDE_AGES, within_scoring_ages

    extract = make_extract(tiny)
    # a (born 2008-03) is 9 on 2017-04-01 and 16 on 2024-04-01; b (born 2001-07) is 25 on 2026-08-01.
    cohort = pd.DataFrame({"person_id": ["a", "a", "b", "b"],
                           "as_of": pd.to_datetime(["2017-04-01", "2024-04-01", "2024-04-01", "2026-08-01"]),
                           "kind": "referral"}, index=[5, 6, 7, 8])
    kept, left_out = within_scoring_ages(extract, cohort)
    assert kept["as_of"].tolist() == [pd.Timestamp("2024-04-01")] * 2 and kept.index.tolist() == [0, 1]
    assert left_out == {OUTSIDE_AGES: 2}
    assert within_scoring_ages(extract, kept)[1] == {}
    everyone = snapshot_cohort(extract, ["2017-04-01"], all_ages=True)
    assert within_scoring_ages(extract, everyone)[1] == {OUTSIDE_AGES: 1}  # a is 9; b is 15
    assert snapshot_cohort(extract, ["2017-04-01"])["person_id"].tolist() == ["b"]
