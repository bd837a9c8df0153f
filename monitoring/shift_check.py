"""Does the monitor's drift analysis find the generator's known shifts, and only them?

The detection tests and ``benchmarks/monitor.py`` share this: a training-like
extract gives the reference (``training.reference.build_reference`` on the
features of its latest fully observed 1 April snapshot, as training logs it
for the test period); then, per seed, a newer extract is generated once and
each shift is applied to it separately (shifts are applied after generation,
so the unshifted records are identical), and the monitor's own
``monitoring.drift.input_drift`` runs on monthly snapshots. No model is
needed: input drift depends on the features only, so the multi-seed checks
need no retraining.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from extract.synthetic.shifts import EXPECTED_INPUTS
from monitoring.drift import ALERT

REFERENCE_START, REFERENCE_END = "2018-04-01", "2023-03-31"
MONITOR_END = "2025-03-31"
SHIFT_DATE = "2023-04-01"
NO_SHIFT = "none"
# The shifts of the population and its records; recording_bias changes recorded outcomes for one
# group, which the fairness-over-time check finds (tests/monitoring), not input drift.
DRIFT_KINDS = ("police_recording", "school_attendance", "age_mix")


@dataclass
class Trial:
    """One monitored extract: which inputs alerted, and whether the shift's own inputs did."""

    seed: int
    kind: str
    alerting: list[str]
    detected: bool  # for a shift: one of its expected inputs alerted; for none: nothing alerted


def _extract(people: int, seed: int, start: str, end: str, shifts: list[Any], base: Any = None) -> Any:
    from extract.loader import extract_from_frames
    from extract.synthetic.generator import generate
    from extract.synthetic.shifts import apply_shifts

    synthetic = base if base is not None else generate(people, seed, start, end)
    shifted = apply_shifts(synthetic, shifts, seed)
    return extract_from_frames(shifted.frames, extracted_on=shifted.extracted_on)


def _features(extract: Any, dates: list[pd.Timestamp]) -> Any:
    from features.cohort import snapshot_cohort
    from features.pipeline import FeatureBuilder, FeatureConfig

    return FeatureBuilder(FeatureConfig()).transform(extract, snapshot_cohort(extract, dates))


def reference_for(people: int, seed: int) -> dict[str, Any]:
    """The reference from a training-like extract's latest fully observed 1 April snapshot."""
    from training.reference import build_reference

    extract = _extract(people, seed, REFERENCE_START, REFERENCE_END, [])
    as_of = pd.Timestamp(REFERENCE_END).normalize() - pd.DateOffset(years=1) + pd.Timedelta(days=1)
    table = _features(extract, [as_of])
    return build_reference(table.X, np.zeros(len(table.X)), table.keys["as_of"], 365)


def alerting_inputs(extract: Any, reference: dict[str, Any], dates: list[pd.Timestamp], policy: Any) -> list[str]:
    """Inputs whose drift is an ALERT in at least one of the monthly snapshots on ``dates``."""
    from monitoring.drift import input_drift, prepare_reference

    prepared = prepare_reference(reference)
    table = _features(extract, dates)
    as_of = table.keys["as_of"].to_numpy()
    importance = {name: 1.0 for name in reference["inputs"]}
    alerting: set[str] = set()
    for date in dates:
        rows = as_of == np.datetime64(date)
        X = table.X[rows].reset_index(drop=True)
        alerting |= {d.input for d in input_drift(X, prepared, importance, str(date.date()), policy)
                     if d.status == ALERT}
    return sorted(alerting)


def run_trials(seeds: list[int], *, people: int, reference_seed: int, policy: Any,
               kinds: tuple[str, ...] = DRIFT_KINDS, every_months: int = 1) -> list[Trial]:
    """For every seed: the unshifted extract and each shift kind, monitored against one reference."""
    from extract.synthetic.generator import generate
    from extract.synthetic.shifts import Shift

    reference = reference_for(people, reference_seed)
    dates = list(pd.date_range(SHIFT_DATE, MONITOR_END, freq=f"{every_months}MS"))
    trials = []
    for seed in seeds:
        base = generate(people, seed, REFERENCE_START, MONITOR_END)
        for kind in (NO_SHIFT, *kinds):
            shifts = [] if kind == NO_SHIFT else [Shift(kind, pd.Timestamp(SHIFT_DATE))]
            alerting = alerting_inputs(_extract(people, seed, "", "", shifts, base=base), reference, dates, policy)
            detected = (not alerting) if kind == NO_SHIFT else bool(set(alerting) & set(EXPECTED_INPUTS[kind]))
            trials.append(Trial(seed, kind, alerting, detected))
    return trials


def rates(trials: list[Trial]) -> dict[str, Any]:
    """Detection rate per shift kind and the false-alarm rate (unshifted extracts with any alert)."""
    out: dict[str, Any] = {"seeds": sorted({t.seed for t in trials})}
    for kind in dict.fromkeys(t.kind for t in trials):
        chosen = [t for t in trials if t.kind == kind]
        if kind == NO_SHIFT:
            out["false_alarm_rate"] = sum(not t.detected for t in chosen) / len(chosen)
            out["false_alarms"] = {t.seed: t.alerting for t in chosen if not t.detected}
        else:
            out.setdefault("detection_rate", {})[kind] = sum(t.detected for t in chosen) / len(chosen)
    return out
