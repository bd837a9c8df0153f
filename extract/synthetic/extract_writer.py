"""Write a synthetic extract on one machine: the contract tables, manifest and ``_truth/`` files.

``svrisk generate`` calls :func:`write_synthetic_extract`; so do the benchmarks,
notebooks and tests that need an extract with known truth. A population too
large for memory goes through :mod:`extract.synthetic.partitioned` instead.
"""

from __future__ import annotations

from pathlib import Path

from extract.output_folder import refuse_non_empty_folder
from extract.synthetic.truth_files import (
    INTERVENTIONS_FILE, OUTCOMES_FILE, PARAMETERS_FILE, SHIFTS_FILE, TRUTH_DIR,
    write_intervention_truth, write_outcomes,
)

def write_synthetic_extract(
    out: str | Path,
    people: int,
    seed: int,
    start: str,
    end: str,
    fmt: str = "csv",
    recording_bias: str = "default",
    interventions: dict | None = None,
    parameters=None,
    shifts: list[str] | None = None,
    *,
    protected_blind: bool = False,
) -> list[Path]:
    """Generate and write the extract, manifest and ``_truth/`` files; return the paths written.

    ``interventions`` overrides ``InterventionParameters`` fields (e.g. selection,
    effect_odds_ratio); ``parameters`` (GeneratorParameters) replaces the calibrated ones.
    """
    import json

    import pandas as pd

    from extract.synthetic.generator import generate as generate_extract
    from extract.synthetic.needs_truth import AREAS_FILE, NEEDS_FILE
    from extract.synthetic.interventions import InterventionParameters
    from extract.synthetic.shifts import apply_shifts, parse_shifts
    from extract.writer import write_extract

    out = refuse_non_empty_folder(out)
    try:
        start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    except ValueError as err:
        raise ValueError(f"not a date: {err}") from None
    parsed = parse_shifts(shifts or [])
    synthetic = generate_extract(
        people, seed, start_ts, end_ts, recording_bias, parameters=parameters,
        interventions=InterventionParameters(**(interventions or {})), protected_blind=protected_blind,
    )
    # Changes in the world from a date (issue 15's monitoring scenarios), applied after generation.
    synthetic = apply_shifts(synthetic, parsed, seed)
    written = write_extract(synthetic.frames, out, fmt=fmt, extracted_on=synthetic.extracted_on)
    truth_dir = out / TRUTH_DIR
    truth_dir.mkdir(parents=True, exist_ok=True)
    outcomes = truth_dir / OUTCOMES_FILE
    write_outcomes(synthetic.truth, outcomes)
    parameters = truth_dir / PARAMETERS_FILE
    parameters.write_text(json.dumps(synthetic.parameters, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    # What the needs assessment should recover (extract/synthetic/needs_truth.py).
    needs = truth_dir / NEEDS_FILE
    needs.write_text(json.dumps(synthetic.needs_truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    areas = truth_dir / AREAS_FILE
    synthetic.areas.to_csv(areas, index=False)
    # Both arms of every referral, for the impact evaluation (extract/synthetic/interventions.py).
    interventions = truth_dir / INTERVENTIONS_FILE
    write_intervention_truth(synthetic.interventions, interventions)
    written = [*written, outcomes, parameters, needs, areas, interventions]
    if parsed:
        shifts_file = truth_dir / SHIFTS_FILE
        shifts_file.write_text(json.dumps(synthetic.parameters["shifts"], indent=2) + "\n", encoding="utf-8")
        written.append(shifts_file)
    return written
