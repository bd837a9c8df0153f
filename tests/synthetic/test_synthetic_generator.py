"""Fast checks of the synthetic generator on a small population."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from extract.canonical import to_canonical
from extract.contract import DEFAULT_OUTCOME, TABLES, age_in_years
from extract.loader import extract_from_frames
from extract.synthetic.cli import app
from extract.synthetic.extract_writer import write_synthetic_extract
from extract.synthetic.generator import TRUTH_COLUMNS, generate
from extract.synthetic.parameters import parameters_for
from extract.synthetic.partitioned import write_partitioned_synthetic_extract
from extract.synthetic.referral_truth import NextWindow, referral_probabilities
from extract.synthetic.truth_files import outcomes_path

START, END = "2018-04-01", "2025-03-31"


@pytest.fixture(scope="module")
def small():
    return generate(3000, 11, START, END)


def _qualifying(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    police = frames["police_contacts"]
    police = police[
        police["role"].isin(DEFAULT_OUTCOME.police_roles)
        & police["category"].isin(DEFAULT_OUTCOME.police_categories)
    ]
    health = frames["health_events"]
    health = health[health["event"].isin(DEFAULT_OUTCOME.health_events)]
    return pd.concat(
        [police[["person_id", "occurred_on"]], health[["person_id", "occurred_on"]]], ignore_index=True
    )


def test_frames_pass_the_loader_unchanged(small):
    extract = extract_from_frames(small.frames, extracted_on=small.extracted_on)
    assert set(small.frames) == set(TABLES)
    for name, frame in small.frames.items():
        pd.testing.assert_frame_equal(frame, to_canonical(name, frame))
        pd.testing.assert_frame_equal(frame, extract.tables[name])
        assert len(frame) > 0, name


def test_contract_rules_hold(small):
    frames, cutoff = small.frames, small.extracted_on
    for name, spec in TABLES.items():
        for col in spec.columns:
            if col.kind == "date":
                values = frames[name][col.name].dropna()
                assert (values < cutoff).all(), (name, col.name)
    people = frames["people"]
    assert people["person_id"].is_unique
    assert people["person_id"].map(lambda v: re.fullmatch(r"p\d{7}", v) is not None).all()
    assert (people["birth_month"].dt.day == 1).all()
    att = frames["attendance"]
    assert (att["sessions_attended"] <= att["sessions_possible"]).all()
    assert (att["unauthorised_absences"] <= att["sessions_possible"] - att["sessions_attended"]).all()
    care = frames["care_episodes"].dropna(subset=["end_on"])
    assert (care["end_on"] >= care["start_on"]).all()
    assert frames["care_episodes"]["end_on"].isna().any()  # some episodes still open


def test_labels_from_tables_equal_recorded_outcome(small):
    """The contract's outcome rule applied to the tables gives recorded_outcome on every row."""
    truth = small.truth
    events = _qualifying(small.frames)
    rows = truth[["person_id", "as_of"]].reset_index().merge(events, on="person_id", how="left")
    inside = (rows["occurred_on"] >= rows["as_of"]) & (
        rows["occurred_on"] < rows["as_of"] + pd.Timedelta(days=DEFAULT_OUTCOME.horizon_days)
    )
    label = inside.groupby(rows["index"]).any().reindex(truth.index, fill_value=False)
    assert (label.astype(int).to_numpy() == truth["recorded_outcome"].to_numpy()).all()
    assert truth["recorded_outcome"].sum() > 0
    assert set(truth["kind"]) == {"snapshot", "referral"}


def test_qualifying_rows_only_for_recorded_involvement(small):
    """Every qualifying row from the first snapshot on lies in a snapshot window recorded as 1."""
    events = _qualifying(small.frames)
    first = pd.Timestamp(START)
    events = events[events["occurred_on"] >= first]
    snap = small.truth[small.truth["kind"] == "snapshot"]
    hits = events.merge(snap, on="person_id")
    hits = hits[
        (hits["occurred_on"] >= hits["as_of"]) & (hits["occurred_on"] < hits["as_of"] + pd.Timedelta(days=365))
    ]
    assert len(hits) == len(events)
    assert (hits["recorded_outcome"] == 1).all()


def test_truth_rows_are_the_cohort(small):
    truth, people = small.truth, small.frames["people"].set_index("person_id")
    assert tuple(truth.columns) == TRUTH_COLUMNS
    snap = truth[truth["kind"] == "snapshot"]
    assert set(snap["as_of"].dt.strftime("%m-%d")) == {"04-01"}
    assert snap["as_of"].dt.year.between(2018, 2024).all()
    age = age_in_years(people.loc[snap["person_id"], "birth_month"].reset_index(drop=True), snap["as_of"].reset_index(drop=True))
    assert age.between(10, 24).all()
    # Everyone aged 10-24 on a snapshot date has a row.
    for year in (2018, 2024):
        as_of = pd.Timestamp(f"{year}-04-01")
        ages = age_in_years(people["birth_month"], as_of)
        assert ((ages >= 10) & (ages <= 24)).sum() == (snap["as_of"] == as_of).sum()
    ref = truth[truth["kind"] == "referral"]
    referrals = small.frames["referrals"]
    assert set(zip(ref["person_id"], ref["as_of"])) <= set(zip(referrals["person_id"], referrals["referred_on"]))
    assert (ref["as_of"] + pd.Timedelta(days=365) <= small.extracted_on).all()
    for col in ("true_probability", "recorded_probability"):
        assert truth[col].between(0.0, 1.0).all()
    assert not truth.duplicated(["person_id", "as_of", "kind"]).any()


@pytest.mark.parametrize("scenario", ["default", "none"])
def test_recorded_probability_is_the_recording_model(scenario):
    """recorded = p P(record | case) + (1 - p) P(record | non-case), exactly."""
    synthetic = generate(1500, 5, START, END, recording_bias=scenario)
    rec = parameters_for(scenario).recording
    snap = synthetic.truth[synthetic.truth["kind"] == "snapshot"]
    people = synthetic.frames["people"].set_index("person_id")
    latent = synthetic.latent.set_index("person_id")
    quintile = latent.loc[snap["person_id"], "deprivation_quintile"].to_numpy()
    ethnicity = people.loc[snap["person_id"], "ethnicity"].astype(str).to_numpy()
    slope = 1.0 + rec.deprivation_slope * (quintile - 1)
    d = np.array([rec.case_multiplier.get(e, 1.0) for e in ethnicity])
    f = np.array([rec.false_multiplier.get(e, 1.0) for e in ethnicity])
    q = np.minimum(1.0, rec.case_rate * slope * d)
    fr = rec.false_rate * slope * f
    p = snap["true_probability"].to_numpy()
    np.testing.assert_allclose(snap["recorded_probability"], p * q + (1 - p) * fr, rtol=1e-12)
    if scenario == "none":
        assert np.ptp(q) == 0 and np.ptp(fr) == 0


def test_same_seed_same_frames_and_different_seed_differs(small):
    again = generate(3000, 11, START, END)
    for name in TABLES:
        pd.testing.assert_frame_equal(small.frames[name], again.frames[name])
    pd.testing.assert_frame_equal(small.truth, again.truth)
    other = generate(3000, 12, START, END)
    assert not small.truth["true_probability"].equals(other.truth["true_probability"])


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cli_same_seed_same_bytes(tmp_path, fmt):
    runner = CliRunner()
    digests = []
    for name, seed in (("a", "4"), ("b", "4"), ("c", "5")):
        out = tmp_path / name
        result = runner.invoke(
            app, ["--people", "400", "--seed", seed, "--out", str(out), "--format", fmt]
        )
        assert result.exit_code == 0, result.output
        digests.append(_digest(out))
    assert digests[0] == digests[1]
    assert {"manifest.json", f"people.{fmt}", "_truth/outcomes.csv", "_truth/parameters.json"} <= set(digests[0])
    assert digests[0][f"attendance.{fmt}"] != digests[2][f"attendance.{fmt}"]
    manifest = (tmp_path / "a" / "manifest.json").read_text()
    assert '"extracted_on": "2025-04-01"' in manifest
    truth = pd.read_csv(tmp_path / "a" / "_truth" / "outcomes.csv", parse_dates=["as_of"])
    expected = generate(400, 4, START, END).truth
    # The file carries the exact probabilities (shortest round-trip floats).
    pd.testing.assert_frame_equal(truth, expected, check_dtype=False)


def test_readers_find_the_outcomes_both_writers_write(tmp_path):
    # The fairness gate, monitoring and the benchmarks read outcomes_path: the file names are fixed.
    one, partitioned = tmp_path / "one", tmp_path / "partitioned"
    written = write_synthetic_extract(one, 200, 3, START, END)
    root_files = write_partitioned_synthetic_extract(partitioned, 200, 3, START, END, 2, chunk_people=100)
    for out, files in ((one, written), (partitioned, root_files)):
        assert outcomes_path(out) == out / "_truth" / "outcomes.csv"
        assert outcomes_path(out) in files
        assert list(pd.read_csv(outcomes_path(out)).columns) == list(TRUTH_COLUMNS)


def test_cli_errors_exit_one_without_traceback(tmp_path):
    runner = CliRunner()
    bad_range = runner.invoke(
        app, ["--people", "10", "--start", "2025-01-01", "--end", "2020-01-01", "--out", str(tmp_path / "x")]
    )
    assert bad_range.exit_code == 1
    assert "Traceback" not in bad_range.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    not_empty = runner.invoke(app, ["--people", "10", "--out", str(tmp_path / "full")])
    assert not_empty.exit_code == 1
    usage = runner.invoke(app, ["--people", "10", "--recording-bias", "huge", "--out", str(tmp_path / "y")])
    assert usage.exit_code == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"people": 0}, "people must be"),
        ({"start": "2025-01-01", "end": "2024-01-01"}, "must be before"),
        ({"start": "2024-05-01", "end": "2025-03-31"}, "no 1 April snapshot"),
        ({"recording_bias": "extreme"}, "unknown recording bias"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    args = {"people": 10, "seed": 0, "start": START, "end": END} | kwargs
    with pytest.raises(ValueError, match=message):
        generate(**args)


def test_parameters_record_seed_and_deprivation_direction(small):
    params = small.parameters
    assert params["run"]["seed"] == 11
    assert "1 = most deprived" in params["deprivation_note"]
    assert len(params["adversity"]["intercepts"]) == 10


@pytest.mark.parametrize("seen", [False, True])
def test_referral_probability_matches_monte_carlo(seen):
    """The exact mixture equals the frequency under the two-window generative model."""
    rng = np.random.default_rng(0)
    n = 400_000
    p, q, f, a1, a2 = 0.3, 0.4, 0.05, 0.35, 0.6
    nxt_true = {(0, 0): 0.1, (1, 0): 0.25, (0, 1): 0.2, (1, 1): 0.45}
    nxt_q, nxt_f = 0.5, 0.02
    nxt_rec = {k: v * nxt_q + (1 - v) * nxt_f for k, v in nxt_true.items()}
    involved = rng.random(n) < p
    recorded = np.where(involved, rng.random(n) < q, rng.random(n) < f)
    after = rng.random(n) < a1  # the window's single incident day falls on/after r
    keep = (recorded & ~after) if seen else ~(recorded & ~after)
    p_next = np.select(
        [~involved & ~recorded, involved & ~recorded, ~involved & recorded],
        [nxt_true[(0, 0)], nxt_true[(1, 0)], nxt_true[(0, 1)]],
        nxt_true[(1, 1)],
    )
    involved_next = rng.random(n) < p_next
    rec_next = np.where(involved_next, rng.random(n) < nxt_q, rng.random(n) < nxt_f)
    in_part = rng.random(n) < a2
    true_out = (involved & after) | (involved_next & in_part)
    rec_out = (recorded & after) | (rec_next & in_part)
    arr = lambda v: np.array([v])  # noqa: E731
    nxt = NextWindow(
        true={k: arr(v) for k, v in nxt_true.items()}, recorded={k: arr(v) for k, v in nxt_rec.items()}
    )
    true_p, rec_p = referral_probabilities(arr(p), arr(q), arr(f), arr(seen), arr(a1), arr(a2), nxt)
    m = keep.sum()
    for exact, outcome in ((true_p[0], true_out[keep]), (rec_p[0], rec_out[keep])):
        se = np.sqrt(exact * (1 - exact) / m)
        assert abs(outcome.mean() - exact) < 4 * se
