"""Changes in the world from a given date, applied to a generated extract (``svrisk generate --shift``).

A published model meets a world that moves. Each shift below changes the
records dated on or after its date, and only those, so a monitor comparing
periods before and after the date has a known answer. What each shift did is
written to ``_truth/shifts.json`` (kind, date, parameters, rows changed, the
model inputs it is expected to move).

Kinds:

* ``police_recording``: police record more low-level contacts (antisocial
  behaviour, drugs possession) for young people, as after a change of
  stop-and-search or crime-recording practice. No one's behaviour changes.
* ``recording_bias``: police start recording serious-violence suspects in one
  ethnic group who were not involved (``RECORDING_BIAS_GROUP``), a recording
  bias introduced after publication; the recorded outcome rises for that group
  only. ``_truth/outcomes.csv`` has its ``recorded_outcome`` updated;
  ``recorded_probability`` does not include the added records.
* ``school_attendance``: every term starting on or after the date loses
  sessions to absence, as in 2020-21 when persistent absence roughly doubled.
* ``age_mix``: a larger cohort reaches age 10 from the date (a birth bulge,
  or young families moving in): people who turned 10 in the
  ``AGE_MIX_SPAN_YEARS`` before the date are copied ``AGE_MIX_EXTRA_COPIES``
  times under new ids, born that many years later, with every record moved
  by the same number of years (records moved past the extract date are
  dropped). The copies are under 10, so in no cohort, before the date.

Every shift draws from its own seeded generator, so the unshifted records
are exactly those of the same seed without shifts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from extract.canonical import to_canonical
from extract.contract import COHORT_MAX_AGE, COHORT_MIN_AGE

SHIFT_KINDS = ("police_recording", "recording_bias", "school_attendance", "age_mix")
BAD_SHIFT = "a shift is KIND:DATE with KIND one of {kinds}, got {text!r}"
BAD_SHIFT_DATE = "shift {kind}: {date!r} is not an ISO date"
SHIFT_OUTSIDE = "shift {kind}: its date {date} must fall before the extract date {extracted_on}"
DUPLICATE_SHIFT = "shift {kind} is given twice"

# police_recording: extra low-level suspect contacts a year for each person aged 10-24.
POLICE_EXTRA_RATE = 0.3
POLICE_EXTRA_CATEGORIES = ("antisocial_behaviour", "drugs_possession")
# recording_bias: serious-violence suspect records a year added for people in the group.
RECORDING_BIAS_GROUP = "black"
RECORDING_BIAS_RATE = 0.05
RECORDING_BIAS_CATEGORIES = ("violence_with_injury", "weapon_possession")
# school_attendance: share of possible sessions newly missed per term (Beta mean), and
# the share of those absences that are unauthorised.
ABSENCE_EXTRA_MEAN = 0.07
ABSENCE_EXTRA_CONCENTRATION = 4.0
ABSENCE_UNAUTHORISED_SHARE = 0.5
# age_mix: copies of each person who turned 10 in the span before the date, moved a span later.
AGE_MIX_EXTRA_COPIES = 4
AGE_MIX_SPAN_YEARS = 2

# The model inputs each shift is built to move (the detection tests check these alert).
EXPECTED_INPUTS = {
    "police_recording": ("police_suspect_antisocial_12m", "police_suspect_drugs_12m", "police_suspect_any_12m"),
    "recording_bias": ("police_suspect_serious_violence_12m", "serious_violence_recorded_12m"),
    "school_attendance": ("attendance_3t", "unauthorised_absence_3t", "persistent_absence_3t"),
    "age_mix": ("age",),
}
_SEED_OFFSET = {kind: 1_000_003 * (i + 1) for i, kind in enumerate(SHIFT_KINDS)}


@dataclass(frozen=True)
class Shift:
    """One change in the world: ``kind`` from ``date`` on."""

    kind: str
    date: pd.Timestamp

    @classmethod
    def parse(cls, text: str) -> Shift:
        """``KIND:DATE`` (``school_attendance:2023-09-01``) as a Shift; ValueError if malformed."""
        kind, sep, when = str(text).partition(":")
        kind = kind.strip()
        if not sep or kind not in SHIFT_KINDS:
            raise ValueError(BAD_SHIFT.format(kinds=", ".join(SHIFT_KINDS), text=text))
        try:
            date = pd.Timestamp(when.strip()).normalize()
        except ValueError:
            raise ValueError(BAD_SHIFT_DATE.format(kind=kind, date=when)) from None
        return cls(kind, date)


def parse_shifts(texts: list[str]) -> list[Shift]:
    """Parse every ``KIND:DATE``; a kind given twice is an error."""
    shifts = [Shift.parse(t) for t in texts]
    kinds = [s.kind for s in shifts]
    for kind in kinds:
        if kinds.count(kind) > 1:
            raise ValueError(DUPLICATE_SHIFT.format(kind=kind))
    return shifts


def apply_shifts(synthetic, shifts: list[Shift], seed: int):
    """The generated extract with every shift applied, and ``parameters['shifts']`` describing them.

    Parameters
    ----------
    synthetic : extract.synthetic.generator.SyntheticExtract
    shifts : list of Shift
    seed : int
        The generation seed; each kind draws from ``seed`` plus its own offset.
    """
    if not shifts:
        return synthetic
    frames = dict(synthetic.frames)
    truth = synthetic.truth.copy()
    records = []
    for shift in shifts:
        if shift.date >= synthetic.extracted_on:
            raise ValueError(SHIFT_OUTSIDE.format(kind=shift.kind, date=shift.date.date(),
                                                  extracted_on=synthetic.extracted_on.date()))
        rng = np.random.default_rng(int(seed) + _SEED_OFFSET[shift.kind])
        apply = _APPLY[shift.kind]
        frames, truth, effect = apply(frames, truth, shift.date, synthetic.extracted_on, rng)
        records.append({"kind": shift.kind, "date": str(shift.date.date()),
                        "expected_inputs": list(EXPECTED_INPUTS[shift.kind]), **effect})
    parameters = {**synthetic.parameters, "shifts": records}
    return dataclasses.replace(synthetic, frames=frames, truth=truth, parameters=parameters)


def _extra_events(people: pd.DataFrame, rate: float, start: pd.Timestamp, end: pd.Timestamp,
                  rng: np.random.Generator, who: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(rate a year) event days in [start, end) for the people in ``who`` while aged 10-24."""
    years = (end - start).days / 365.0
    counts = rng.poisson(rate * years, int(who.sum()))
    person = np.repeat(np.flatnonzero(who), counts)
    offsets = rng.integers(0, (end - start).days, len(person))
    days = start + pd.to_timedelta(offsets, unit="D")
    birth = people["birth_month"].to_numpy()[person]
    age = (pd.DatetimeIndex(days).year - pd.DatetimeIndex(birth).year
           - ((pd.DatetimeIndex(days).month < pd.DatetimeIndex(birth).month)))
    keep = (np.asarray(age) >= COHORT_MIN_AGE) & (np.asarray(age) <= COHORT_MAX_AGE)
    return person[keep], np.asarray(days[keep], dtype="datetime64[ns]")


def _add_police(frames: dict, person: np.ndarray, days: np.ndarray, categories: tuple[str, ...],
                rng: np.random.Generator) -> dict:
    people = frames["people"]
    police = frames["police_contacts"]
    added = pd.DataFrame({
        "person_id": pd.Series(people["person_id"].to_numpy(dtype=object)[person], dtype=object),
        "occurred_on": days,
        "role": "suspect",
        "category": np.asarray(categories, dtype=object)[rng.integers(0, len(categories), len(person))],
    })
    for column in police.columns:
        if column not in added.columns:
            added[column] = None  # optional contract columns (weapon, area_code) left empty
    combined = pd.concat([police.astype({c: object for c in police.columns if c not in ("occurred_on",)}),
                          added[police.columns]], ignore_index=True)
    return {**frames, "police_contacts": to_canonical("police_contacts", combined)}


def _police_recording(frames, truth, date, extracted_on, rng):
    people = frames["people"]
    person, days = _extra_events(people, POLICE_EXTRA_RATE, date, extracted_on, rng,
                                 np.ones(len(people), dtype=bool))
    frames = _add_police(frames, person, days, POLICE_EXTRA_CATEGORIES, rng)
    return frames, truth, {"rows_added": {"police_contacts": int(len(person))},
                           "rate_per_year": POLICE_EXTRA_RATE, "categories": list(POLICE_EXTRA_CATEGORIES)}


def _recording_bias(frames, truth, date, extracted_on, rng):
    people = frames["people"]
    group = (people["ethnicity"].astype(object) == RECORDING_BIAS_GROUP).to_numpy()
    person, days = _extra_events(people, RECORDING_BIAS_RATE, date, extracted_on, rng, group)
    frames = _add_police(frames, person, days, RECORDING_BIAS_CATEGORIES, rng)
    # The recorded outcome of every truth row whose window holds an added record becomes 1.
    ids = people["person_id"].to_numpy(dtype=object)[person]
    added = pd.DataFrame({"person_id": ids, "day": days})
    rows = truth[["person_id", "as_of"]].reset_index().merge(added, on="person_id")
    inside = (rows["day"] >= rows["as_of"]) & (rows["day"] < rows["as_of"] + pd.Timedelta(days=365))
    hit = rows.loc[inside, "index"].unique()
    truth.loc[hit, "recorded_outcome"] = 1
    return frames, truth, {"rows_added": {"police_contacts": int(len(person))},
                           "group": {"ethnicity": RECORDING_BIAS_GROUP}, "rate_per_year": RECORDING_BIAS_RATE,
                           "truth_rows_now_recorded": int(len(hit)),
                           "note": "recorded_probability in outcomes.csv does not include these records"}


def _school_attendance(frames, truth, date, extracted_on, rng):
    attendance = frames["attendance"].copy()
    after = (attendance["term_start"] >= date).to_numpy()
    possible = attendance["sessions_possible"].to_numpy(dtype=np.int64)
    attended = attendance["sessions_attended"].to_numpy(dtype=np.int64)
    unauthorised = attendance["unauthorised_absences"].to_numpy(dtype=np.int64)
    a = ABSENCE_EXTRA_MEAN * ABSENCE_EXTRA_CONCENTRATION
    b = (1.0 - ABSENCE_EXTRA_MEAN) * ABSENCE_EXTRA_CONCENTRATION
    extra = np.minimum(np.round(rng.beta(a, b, len(possible)) * possible).astype(np.int64), attended)
    extra = np.where(after, extra, 0)
    extra_unauthorised = rng.binomial(extra, ABSENCE_UNAUTHORISED_SHARE)
    attendance["sessions_attended"] = attended - extra
    attendance["unauthorised_absences"] = unauthorised + extra_unauthorised
    frames = {**frames, "attendance": to_canonical("attendance", attendance)}
    return frames, truth, {"rows_changed": {"attendance": int(after.sum())},
                           "mean_extra_absence_share": ABSENCE_EXTRA_MEAN,
                           "unauthorised_share_of_extra": ABSENCE_UNAUTHORISED_SHARE}


def _age_mix(frames, truth, date, extracted_on, rng):
    from extract.contract import TABLES

    people = frames["people"]
    offset = pd.DateOffset(years=AGE_MIX_SPAN_YEARS)
    tenth = people["birth_month"] + pd.DateOffset(years=COHORT_MIN_AGE)
    # People who turned 10 in the span before the date, born again a span later: their copies
    # turn 10 in the span after it, with the same lives moved as many years on.
    chosen = ((tenth >= date - offset) & (tenth < date)).to_numpy()
    ids = people["person_id"].to_numpy(dtype=object)[chosen]
    out = {name: [frame] for name, frame in frames.items()}
    truth_parts = [truth]
    for copy in range(1, AGE_MIX_EXTRA_COPIES + 1):
        rename = {pid: f"{pid}m{copy}" for pid in ids}
        for name, frame in frames.items():
            rows = frame[frame["person_id"].isin(rename)].copy()
            if not len(rows):
                continue
            rows["person_id"] = rows["person_id"].map(rename)
            spec = TABLES[name]
            for column in (c.name for c in spec.columns if c.kind == "date"):
                if column in rows.columns:
                    moved = rows[column] + offset
                    rows[column] = moved.where(moved < extracted_on)  # still open at the extract date
            if spec.date_column is not None:
                rows = rows[rows[spec.date_column].notna()]
            out[name].append(rows)
        rows = truth[truth["person_id"].isin(rename)].copy()
        rows["person_id"] = rows["person_id"].map(rename)
        rows["as_of"] = rows["as_of"] + offset
        # Truth only for windows that close before the extract date, as for everyone else.
        truth_parts.append(rows[rows["as_of"] + pd.Timedelta(days=365) <= extracted_on])
    frames = {name: to_canonical(name, pd.concat(parts, ignore_index=True)) if len(parts) > 1 else parts[0]
              for name, parts in out.items()}
    return frames, pd.concat(truth_parts, ignore_index=True), {
        "people_copied": int(chosen.sum()), "copies_each": AGE_MIX_EXTRA_COPIES,
        "rows_added": {"people": int(chosen.sum()) * AGE_MIX_EXTRA_COPIES},
        "moved_years": AGE_MIX_SPAN_YEARS,
        "note": "copies are under 10, so in no cohort, before the date; their records move with them",
    }


_APPLY = {
    "police_recording": _police_recording,
    "recording_bias": _recording_bias,
    "school_attendance": _school_attendance,
    "age_mix": _age_mix,
}
