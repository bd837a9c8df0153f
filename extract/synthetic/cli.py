"""`svrisk generate`: write a synthetic extract with known truth."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from extract.command_refusal import print_refusal
from extract.synthetic.parameters import RECORDING_BIAS_SCENARIOS

app = typer.Typer()

TRUTH_DIR = "_truth"
OUTCOMES_FILE = "outcomes.csv"
PARAMETERS_FILE = "parameters.json"
INTERVENTIONS_FILE = "interventions.csv"
SHIFTS_FILE = "shifts.json"
OUT_NOT_EMPTY = "{out} already holds files; write to a new or empty folder"
SEE_DOCS = "See docs/data-scientist-guide.md, section 'Generating a synthetic extract'."
PARTITIONS_NEED_PARQUET = "--partitions writes Parquet: add --format parquet"

RecordingBias = Enum("RecordingBias", {name: name for name in RECORDING_BIAS_SCENARIOS}, type=str)


class Selection(str, Enum):
    observed = "observed"
    unobserved = "unobserved"


class FileFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="Folder to write the extract into (new or empty)."),
    people: int = typer.Option(10_000, "--people", min=1, help="Population size."),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed writes the same bytes."),
    start: str = typer.Option("2018-04-01", "--start", help="First day of the snapshot range (ISO date)."),
    end: str = typer.Option("2025-03-31", "--end", help="Last day with records; extracted_on is end + 1 day."),
    fmt: FileFormat = typer.Option(FileFormat.csv, "--format", help="Table file format."),
    recording_bias: RecordingBias = typer.Option(
        "default", "--recording-bias", help="How recording varies by ethnicity and deprivation."
    ),
    selection: Selection = typer.Option(
        Selection.observed, "--selection", help="Engagement depends on observed factors only, or on U too."
    ),
    intervention_effect: float = typer.Option(
        0.8, "--intervention-effect", help="Odds ratio of engagement on involvement in the next window."
    ),
    shift: list[str] = typer.Option(
        [], "--shift", help="KIND:DATE, repeatable: a change in the world from DATE (extract/synthetic/shifts.py)."
    ),
    protected_blind: bool = typer.Option(
        False, "--protected-blind",
        help="Sex and ethnicity shape the records but not the outcome or its recording "
             "(the fair model-quality target's mode).",
    ),
    partitions: int | None = typer.Option(
        None, "--partitions", min=1,
        help="Write a partitioned extract (Parquet only) of N folders by hash of person_id, "
             "generated in chunks, for --engine dask (docs/scale.md).",
    ),
    chunk_people: int = typer.Option(
        250_000, "--chunk-people", min=1, help="With --partitions: people generated at a time."
    ),
) -> None:
    """Write a synthetic multi-agency extract plus _truth/ (outcomes.csv, parameters.json, needs.json, areas.csv).

    Example: svrisk generate --people 10000 --seed 1 --start 2018-04-01 --end 2025-03-31 --out data/demo
    """
    from rich.console import Console

    console = Console(stderr=True)
    if partitions is not None and fmt is not FileFormat.parquet:
        raise typer.BadParameter(PARTITIONS_NEED_PARQUET, param_hint="--format")
    interventions = {"selection": selection.value, "effect_odds_ratio": intervention_effect}
    try:
        if partitions is None:
            written = write_synthetic_extract(
                out, people, seed, start, end, fmt.value, recording_bias.value,
                interventions=interventions, shifts=shift, protected_blind=protected_blind,
            )
            done = f"wrote {len(written)} files to {out}"
        else:
            # A person-partitioned extract generated in chunks (docs/scale.md).
            from extract.synthetic.partitioned import write_partitioned_synthetic_extract

            write_partitioned_synthetic_extract(
                out, people, seed, start, end, partitions, chunk_people=chunk_people,
                recording_bias=recording_bias.value, interventions=interventions, shifts=shift,
                protected_blind=protected_blind,
            )
            done = f"wrote {people:,} people in {partitions} partitions to {out}"
    except ValueError as err:
        print_refusal(str(err), SEE_DOCS)
        raise typer.Exit(code=1) from None
    console.print(done)


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

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(OUT_NOT_EMPTY.format(out=out))
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
    _write_truth(synthetic.truth, outcomes)
    parameters = truth_dir / PARAMETERS_FILE
    parameters.write_text(json.dumps(synthetic.parameters, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    # What the needs assessment should recover (extract/synthetic/needs_truth.py).
    needs = truth_dir / NEEDS_FILE
    needs.write_text(json.dumps(synthetic.needs_truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    areas = truth_dir / AREAS_FILE
    synthetic.areas.to_csv(areas, index=False)
    # Both arms of every referral, for the impact evaluation (extract/synthetic/interventions.py).
    interventions = truth_dir / INTERVENTIONS_FILE
    _write_intervention_truth(synthetic.interventions, interventions)
    written = [*written, outcomes, parameters, needs, areas, interventions]
    if parsed:
        shifts_file = truth_dir / SHIFTS_FILE
        shifts_file.write_text(json.dumps(synthetic.parameters["shifts"], indent=2) + "\n", encoding="utf-8")
        written.append(shifts_file)
    return written


def _write_truth(truth, path: Path, append: bool = False) -> None:
    """outcomes.csv with ISO dates and shortest round-trip floats (exact probabilities);
    ``append`` adds rows below an existing file's (a chunked population's next chunk).

    pyarrow's writer rather than ``DataFrame.to_csv``: about ten times faster on the
    millions of rows a large extract has, and deterministic.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table(
        {
            "person_id": pa.array(truth["person_id"].to_numpy(dtype=object), type=pa.string()),
            "as_of": pa.array(truth["as_of"].to_numpy()).cast(pa.date32()),
            "kind": pa.array(truth["kind"].to_numpy(dtype=object), type=pa.string()),
            "true_probability": pa.array(truth["true_probability"].to_numpy(), type=pa.float64()),
            "true_outcome": pa.array(truth["true_outcome"].to_numpy(), type=pa.int64()),
            "recorded_probability": pa.array(truth["recorded_probability"].to_numpy(), type=pa.float64()),
            "recorded_outcome": pa.array(truth["recorded_outcome"].to_numpy(), type=pa.int64()),
        }
    )
    with path.open("ab" if append else "wb") as sink:
        # Arrow quotes header names; snake_case names never need it.
        if not append:
            sink.write((",".join(table.column_names) + "\n").encode("utf-8"))
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def _write_intervention_truth(frame, path: Path, append: bool = False) -> None:
    """interventions.csv: each fully observed referral's arm and both arms' probabilities,
    ISO dates and round-trip floats (``DataFrame.to_csv``: thousands of rows, not millions);
    ``append`` adds rows below an existing file's."""
    out = frame.copy()
    out["referred_on"] = out["referred_on"].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, float_format="%.17g", lineterminator="\n",
               mode="a" if append else "w", header=not append)
