"""The protected-blind mode: sex and ethnicity shape the records, not the outcome or its recording."""

from __future__ import annotations

import numpy as np
import pytest

from extract.synthetic.generator import _date_day, _Simulation, generate
from extract.synthetic.parameters import parameters_for, protected_blind

YEAR = 2022


def _simulated(params) -> _Simulation:
    sim = _Simulation(1500, 5, params, [YEAR], _date_day(YEAR + 1, 4, 1), oracle=False)
    sim.run(last_year=YEAR - 1)  # the records up to the window the outcome is drawn in
    return sim


def _outcome_inputs(sim: _Simulation, male: np.ndarray, ethnicity: np.ndarray) -> tuple[np.ndarray, ...]:
    """The window's risk linear predictor and recording rates, were sex and ethnicity these,
    with every record unchanged."""
    sim.male = male
    s = _date_day(YEAR, 4, 1)
    age = YEAR - sim.birth_year - (4 < sim.birth_month)
    lp, _ = sim._linear_predictor(s, age)
    q, f = sim._person_recording_rates(ethnicity)
    return lp, q, f


@pytest.mark.parametrize(("blind", "same"), [(True, True), (False, False)])
def test_outcome_given_the_records_does_not_depend_on_sex_or_ethnicity(blind, same):
    params = parameters_for("default")
    sim = _simulated(protected_blind(params) if blind else params)
    as_drawn = _outcome_inputs(sim, sim.male.copy(), sim.ethnicity)
    rotated = np.roll(sim.ethnicity, 1)  # everyone's ethnicity changed, the mix kept
    flipped = _outcome_inputs(sim, ~sim.male, np.where(rotated == sim.ethnicity, "black", rotated))
    equal = all(np.array_equal(a, b) for a, b in zip(as_drawn, flipped, strict=True))
    assert equal is same  # the default mode is the control: there they do enter


def test_blind_mode_is_recorded_and_keeps_sex_in_the_records():
    blind = generate(2000, 3, "2021-04-01", "2023-03-31", protected_blind=True)
    assert blind.parameters["run"]["protected_blind"] is True
    assert blind.parameters["risk"]["male"] == 0.0 and blind.parameters["recording"]["case_multiplier"] == {}
    # Sex still shapes the records: more suspensions for boys, as in the default mode.
    people = blind.frames["people"].set_index("person_id")["sex"]
    suspended = blind.frames["exclusions"]["person_id"].map(people)
    assert (suspended == "male").sum() > 1.5 * (suspended == "female").sum()


def test_cli_flag_writes_a_valid_blind_extract(tmp_path):
    import json

    from typer.testing import CliRunner

    from extract.loader import load_extract
    from extract.synthetic.cli import app

    out = tmp_path / "blind"
    result = CliRunner().invoke(app, ["--people", "300", "--seed", "2", "--out", str(out), "--protected-blind"])
    assert result.exit_code == 0, result.output
    run = json.loads((out / "_truth" / "parameters.json").read_text())["run"]
    assert run["protected_blind"] is True
    extract = load_extract(out)  # contract 1.1: term_end written, no notices
    assert extract.notices == () and extract["attendance"]["term_end"].notna().all()
    assert (extract["attendance"]["term_end"] > extract["attendance"]["term_start"]).all()
