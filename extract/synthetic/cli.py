"""`svrisk generate`: write a synthetic extract with known truth."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from extract.command_refusal import print_refusal
from extract.synthetic.extract_writer import write_synthetic_extract
from extract.synthetic.parameters import RECORDING_BIAS_SCENARIOS

app = typer.Typer()

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
