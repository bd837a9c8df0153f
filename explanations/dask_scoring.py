"""`svrisk score --engine dask`: score and explain each partition on a cluster, through the registered model.

The client resolves the version and checks its checksum once
(:func:`explanations.scoring.load_risk_model`); the RiskModel inside the
registered pyfunc is sent to every worker once, and each task scores its own
partition with :func:`explanations.scoring.score_extract`, the single-machine
code. A person's scores and explanations therefore equal the single-machine
ones. Each task writes ``OUT/part-NNNNN.parquet`` (a partition with nobody to
score writes none); ``pandas.read_parquet(OUT)`` reads the whole.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from explanations.scoring import DEFAULT_CHUNK_SIZE, ERR_EMPTY_COHORT

PARTS_ARE_PARQUET = "with --engine dask, --out is a folder of Parquet part files: give a name ending in .parquet"


def partition_scores(
    extract_dir: str,
    index: int,
    risk_model: Any,
    as_of: list[str] | None,
    referrals: bool,
    model_version: str,
    out_dir: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    top_k: int = 5,
    explain: bool = True,
) -> dict[str, Any]:
    """Score one partition and write its part file (a task: runs on a worker); return its counts."""
    from cluster.partitions import part_path
    from explanations.scoring import score_extract, scoring_cohort
    from extract.loader import load_partition

    extract = load_partition(extract_dir, index)
    cohort, left_out = scoring_cohort(extract, as_of, referrals)
    if len(cohort):
        scores = score_extract(risk_model, extract, cohort, model_version=model_version,
                               chunk_size=chunk_size, top_k=top_k, explain=explain)
        scores.to_parquet(part_path(out_dir, index), index=False)
    return {"rows": len(cohort), "left_out": left_out, "notices": list(extract.notices)}


def scores_on_cluster(
    client: Any,
    risk_model: Any,
    extract_dir: str | Path,
    out_dir: str | Path,
    *,
    as_of: list[str] | None,
    referrals: bool,
    model_version: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    top_k: int = 5,
    explain: bool = True,
) -> dict[str, Any]:
    """Score every partition into ``out_dir``; return rows, left_out (by reason, summed) and notices.

    Raises
    ------
    ValueError
        When no partition has anyone to score (as the single-machine path).
    """
    from cluster.partitions import map_partitions, parts_folder

    if Path(out_dir).suffix.lower() != ".parquet":
        raise ValueError(PARTS_ARE_PARQUET)
    out = parts_folder(out_dir).resolve()
    counts = map_partitions(client, partition_scores, extract_dir, risk_model, as_of, referrals,
                            str(model_version), str(out), chunk_size, top_k, explain)
    rows = sum(c["rows"] for c in counts)
    if rows == 0:
        raise ValueError(ERR_EMPTY_COHORT)
    left_out: Counter = Counter()
    for c in counts:
        left_out.update(c["left_out"])
    notices = list(dict.fromkeys(n for c in counts for n in c["notices"]))
    return {"rows": rows, "left_out": dict(left_out), "notices": notices, "partitions": len(counts)}
