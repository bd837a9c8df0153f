"""A synthetic extract too large for memory, generated in chunks into a partitioned extract.

``svrisk generate --format parquet --partitions N`` calls
:func:`write_partitioned_synthetic_extract`: the population is generated
``chunk_people`` people at a time, each chunk an independent run of the
generator (its own seed from ``SeedSequence([seed, chunk])``, its own areas:
think of it as one region of a national population) with ids numbered on from
the previous chunk, and each chunk's rows are appended to the partition of
their person (:mod:`extract.partitioned`). At most one chunk is in memory.

``_truth/`` holds ``outcomes.csv`` and ``interventions.csv`` for the whole
population (chunks appended) and ``parameters.json`` with every chunk's seed.
The needs-assessment truth (``needs.json``, ``areas.csv``) is per region and
has no meaning summed over independent chunks, so it is not written: generate
a one-machine extract for `svrisk needs`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

# Large enough that deciles and areas are those of a real region, small enough that a
# chunk's frames stay well under a gigabyte.
DEFAULT_CHUNK_PEOPLE = 250_000
BAD_CHUNK = "chunk_people must be a positive whole number, got {value!r}"
NEEDS_TRUTH_NOT_WRITTEN = (
    "needs.json and areas.csv are not written for a partitioned extract: each chunk is an "
    "independent region with its own areas (extract/synthetic/partitioned.py)"
)


def chunk_seed(seed: int, chunk: int) -> int:
    """The generator seed of chunk ``chunk``: independent streams, fixed by ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(chunk)]).generate_state(1, dtype=np.uint32)[0])


def write_partitioned_synthetic_extract(
    out: str | Path,
    people: int,
    seed: int,
    start: str,
    end: str,
    partitions: int,
    *,
    chunk_people: int = DEFAULT_CHUNK_PEOPLE,
    recording_bias: str = "default",
    interventions: dict | None = None,
    shifts: list[str] | None = None,
    protected_blind: bool = False,
) -> list[Path]:
    """Generate ``people`` people in chunks into a partitioned Parquet extract at ``out``.

    Returns the root's files written (layout, manifest and truth files); the
    partition folders are listed in ``partitions.json``.
    """
    from extract.contract import MANIFEST_FILE
    from extract.output_folder import refuse_non_empty_folder
    from extract.partitioned import PARTITIONS_FILE, PartitionedExtractWriter
    from extract.synthetic.truth_files import (
        INTERVENTIONS_FILE, OUTCOMES_FILE, PARAMETERS_FILE, SHIFTS_FILE, TRUTH_DIR,
        write_intervention_truth, write_outcomes,
    )
    from extract.synthetic.generator import BAD_PEOPLE, generate
    from extract.synthetic.interventions import InterventionParameters
    from extract.synthetic.shifts import apply_shifts, parse_shifts

    if isinstance(people, bool) or not isinstance(people, (int, np.integer)) or people < 1:
        raise ValueError(BAD_PEOPLE.format(value=people))
    if isinstance(chunk_people, bool) or not isinstance(chunk_people, (int, np.integer)) or chunk_people < 1:
        raise ValueError(BAD_CHUNK.format(value=chunk_people))
    # Refused before any generation, not only when the writer opens the folder.
    out = refuse_non_empty_folder(out)
    try:
        extracted_on = pd.Timestamp(end) + pd.Timedelta(days=1)
    except ValueError as err:
        raise ValueError(f"not a date: {err}") from None
    parsed = parse_shifts(shifts or [])
    truth_dir = out / TRUTH_DIR
    outcomes, intervention_truth = truth_dir / OUTCOMES_FILE, truth_dir / INTERVENTIONS_FILE
    chunks, record = [], None
    with PartitionedExtractWriter(out, partitions, extracted_on) as writer:
        for chunk, first in enumerate(range(0, int(people), int(chunk_people))):
            size = min(int(chunk_people), int(people) - first)
            seed_c = chunk_seed(seed, chunk)
            synthetic = generate(
                size, seed_c, start, end, recording_bias,
                interventions=InterventionParameters(**(interventions or {})),
                protected_blind=protected_blind, person_numbers=(first + 1, int(people)),
            )
            synthetic = apply_shifts(synthetic, parsed, seed_c)
            writer.write(synthetic.frames)
            truth_dir.mkdir(parents=True, exist_ok=True)
            write_outcomes(synthetic.truth, outcomes, append=chunk > 0)
            write_intervention_truth(synthetic.interventions, intervention_truth, append=chunk > 0)
            chunks.append({"chunk": chunk, "first_person": first + 1, "people": size, "seed": seed_c})
            record = record or synthetic.parameters
            del synthetic  # one chunk in memory at a time
    record["run"].update(people=int(people), seed=int(seed), partitions=int(partitions),
                         chunk_people=int(chunk_people), chunks=chunks, needs_truth=NEEDS_TRUTH_NOT_WRITTEN)
    parameters = truth_dir / PARAMETERS_FILE
    parameters.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written = [out / PARTITIONS_FILE, out / MANIFEST_FILE, outcomes, intervention_truth, parameters]
    if parsed:
        shifts_file = truth_dir / SHIFTS_FILE
        shifts_file.write_text(json.dumps(record["shifts"], indent=2) + "\n", encoding="utf-8")
        written.append(shifts_file)
    return written
