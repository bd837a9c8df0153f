"""The synthetic generator's ``_truth/`` folder: its file names and the writers of its tables.

``_truth/`` sits beside the contract tables of a synthetic extract only (the
loader and the extract's checksum ignore it); the fairness gate, monitoring and
the model card read it. One definition here, for the writers
(:mod:`extract.synthetic.extract_writer`, :mod:`extract.synthetic.partitioned`)
and the readers alike. Import-light: the writers import pyarrow when called.
"""

from __future__ import annotations

from pathlib import Path

TRUTH_DIR = "_truth"
OUTCOMES_FILE = "outcomes.csv"
PARAMETERS_FILE = "parameters.json"
INTERVENTIONS_FILE = "interventions.csv"
SHIFTS_FILE = "shifts.json"


def outcomes_path(extract_dir: str | Path) -> Path:
    """Where a synthetic extract at ``extract_dir`` keeps its true outcomes (absent for a real extract)."""
    return Path(extract_dir) / TRUTH_DIR / OUTCOMES_FILE


def write_outcomes(truth, path: Path, append: bool = False) -> None:
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


def write_intervention_truth(frame, path: Path, append: bool = False) -> None:
    """interventions.csv: each fully observed referral's arm and both arms' probabilities,
    ISO dates and round-trip floats (``DataFrame.to_csv``: thousands of rows, not millions);
    ``append`` adds rows below an existing file's."""
    out = frame.copy()
    out["referred_on"] = out["referred_on"].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, float_format="%.17g", lineterminator="\n",
               mode="a" if append else "w", header=not append)
