"""`svrisk generate --shift KIND:DATE`: each change starts on its date, and _truth/ records it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from extract.synthetic.generator import generate
from extract.synthetic.shifts import (
    RECORDING_BIAS_GROUP,
    SHIFT_KINDS,
    Shift,
    apply_shifts,
    parse_shifts,
)
from svrisk.cli import app

DATE = pd.Timestamp("2023-04-01")
runner = CliRunner()


@pytest.fixture(scope="module")
def base():
    return generate(800, 3, "2019-04-01", "2024-12-31")


def _shifted(base, kind):
    return apply_shifts(base, [Shift(kind, DATE)], seed=3)


def _before(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame[frame[column] < DATE].reset_index(drop=True)


def test_parse_rejects_unknown_kinds_bad_dates_and_repeats():
    assert parse_shifts(["age_mix:2023-06-01"]) == [Shift("age_mix", pd.Timestamp("2023-06-01"))]
    with pytest.raises(ValueError, match="KIND:DATE"):
        parse_shifts(["pandemic:2020-03-01"])
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_shifts(["age_mix:soon"])
    with pytest.raises(ValueError, match="twice"):
        parse_shifts(["age_mix:2023-01-01", "age_mix:2024-01-01"])


def test_no_shift_changes_nothing(base):
    assert apply_shifts(base, [], seed=3) is base


def test_police_recording_adds_low_level_contacts_from_the_date_only(base):
    shifted = _shifted(base, "police_recording")
    before, after = base.frames["police_contacts"], shifted.frames["police_contacts"]
    pd.testing.assert_frame_equal(_before(before, "occurred_on"), _before(after, "occurred_on"))
    added = len(after) - len(before)
    assert added > 0.2 * 800 * 0.5, "about 0.3 contacts a year per young person"
    late = after[after["occurred_on"] >= DATE]
    assert late["category"].astype(str).isin(["antisocial_behaviour", "drugs_possession"]).sum() > added


def test_recording_bias_adds_serious_violence_for_one_group_and_updates_the_truth(base):
    shifted = _shifted(base, "recording_bias")
    people = base.frames["people"].set_index("person_id")["ethnicity"].astype(str)
    extra = pd.concat([shifted.frames["police_contacts"], base.frames["police_contacts"]]).drop_duplicates(keep=False)
    assert len(extra) > 0
    assert set(people[extra["person_id"]]) == {RECORDING_BIAS_GROUP}
    assert (extra["occurred_on"] >= DATE).all()
    changed = shifted.truth["recorded_outcome"].to_numpy() != base.truth["recorded_outcome"].to_numpy()
    assert changed.any() and (shifted.truth.loc[changed, "as_of"] + pd.Timedelta(days=365) > DATE).all()
    assert (shifted.truth["true_outcome"] == base.truth["true_outcome"]).all(), "nobody's behaviour changed"


def test_school_attendance_falls_for_terms_from_the_date(base):
    shifted = _shifted(base, "school_attendance")
    before, after = base.frames["attendance"], shifted.frames["attendance"]
    pd.testing.assert_frame_equal(_before(before, "term_start"), _before(after, "term_start"))
    late = before["term_start"] >= DATE
    rate_before = (before.loc[late, "sessions_attended"] / before.loc[late, "sessions_possible"]).mean()
    rate_after = (after.loc[late, "sessions_attended"] / after.loc[late, "sessions_possible"]).mean()
    assert rate_before - rate_after == pytest.approx(0.07, abs=0.02)
    assert (after["unauthorised_absences"] <= after["sessions_possible"] - after["sessions_attended"]).all()


def test_age_mix_copies_enter_the_cohort_only_from_the_date(base):
    from extract.contract import age_in_years
    from extract.loader import extract_from_frames

    shifted = _shifted(base, "age_mix")
    extract_from_frames(shifted.frames, extracted_on=shifted.extracted_on)  # still a valid extract
    people = shifted.frames["people"]
    copies = people[people["person_id"].str.contains("m")]
    assert len(copies) > 0
    for day, inside in ((DATE - pd.Timedelta(days=1), False), (DATE + pd.DateOffset(years=1), True)):
        age = age_in_years(copies["birth_month"], day)
        assert ((age >= 10) & (age <= 24)).any() == inside
    for name, frame in shifted.frames.items():
        assert frame["person_id"].isin(base.frames["people"]["person_id"]).sum() == len(base.frames[name])


def test_cli_writes_the_shifts_into_truth(tmp_path):
    out = tmp_path / "x"
    base_args = ["generate", "--people", "300", "--seed", "1", "--start", "2020-04-01", "--end", "2024-12-31"]
    args = [*base_args, "--out", str(out)]
    for kind in SHIFT_KINDS:
        args += ["--shift", f"{kind}:2023-04-01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    recorded = json.loads((out / "_truth" / "shifts.json").read_text())
    assert [r["kind"] for r in recorded] == list(SHIFT_KINDS)
    assert all(r["date"] == "2023-04-01" and r["expected_inputs"] for r in recorded)
    parameters = json.loads((out / "_truth" / "parameters.json").read_text())
    assert parameters["shifts"] == recorded
    result = runner.invoke(app, [*base_args, "--out", str(tmp_path / "y"), "--shift", "age_mix:2030-01-01"])
    assert result.exit_code == 1 and "before the extract date" in result.output
