"""`svrisk audit --engine dask`: the audit's bootstrap per partition of a score file, on a cluster.

A score file from `svrisk score --engine dask` is a folder of Parquet parts.
The point estimates (counts, rates, AUC by group) are the single-machine
audit's, on the audited columns read here. The bootstrap, the costly part
(resamples x rows), runs per part on the cluster: each part turns its rows into
the audit's grouped count keys (:func:`fairness.audit.count_specs`, with the
group codes of the whole file) and draws Poisson(1) row weights from its own
stream (``SeedSequence([policy seed, part])``), so the parts' replicate sums
add up to replicates of the whole (:func:`fairness.bootstrap.poisson_bootstrap_sums`).
The intervals are then read from the summed replicates as on one machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

NO_PARTS = "{path} holds no Parquet part files"


def score_parts(path: str | Path) -> list[Path]:
    """The Parquet part files of a score folder in name order, or ``[path]`` for one file."""
    root = Path(path)
    if not root.is_dir():
        return [root]
    parts = sorted(p for p in root.iterdir() if p.suffix == ".parquet")
    if not parts:
        raise ValueError(NO_PARTS.format(path=root))
    return parts


def part_replicate_sums(
    part: str,
    seed: list[int],
    score_col: str,
    label_col: str,
    attributes: list[tuple[str, list[str]]],
    thresholds: list[float],
    resamples: int,
) -> list[np.ndarray]:
    """One part's bootstrap replicate sums (a task: runs on a worker).

    ``attributes`` are (name, labels of the whole file): a part's group codes
    index the whole file's labels, so every part's sums line up.
    """
    import pandas as pd

    from fairness.audit import AuditedAttribute, count_specs, group_codes, split_attribute
    from fairness.bootstrap import poisson_bootstrap_sums

    columns = list(dict.fromkeys([score_col, label_col, *(c for name, _ in attributes for c in split_attribute(name))]))
    frame = pd.read_parquet(part, columns=columns)
    y = pd.to_numeric(frame[label_col]).to_numpy(dtype=np.int64)
    score = pd.to_numeric(frame[score_col]).to_numpy(dtype=float)
    attrs = []
    for name, labels in attributes:
        codes, local = group_codes(frame, name)
        position = {label: i for i, label in enumerate(labels)}
        to_whole = np.array([position[label] for label in local], dtype=np.int64)
        attrs.append(AuditedAttribute(name, to_whole[codes] if len(local) else codes, labels, 0))
    specs = count_specs(attrs, y, score, thresholds)
    return poisson_bootstrap_sums(specs, len(y), resamples=resamples, seed=seed)


def cluster_replicate_sums(client: Any, path: str | Path, *, score_col: str, label_col: str):
    """A ``replicate_sums`` for :func:`fairness.audit.run_audit` that bootstraps each part of
    ``path`` on ``client`` and adds the parts' sums."""
    parts = [str(p.resolve()) for p in score_parts(path)]

    def replicate_sums(attrs: list, thresholds: list[float], resamples: int, seed: int) -> list[np.ndarray]:
        attributes = [(a.name, list(a.labels)) for a in attrs]
        futures = [
            client.submit(part_replicate_sums, part, [int(seed), index], score_col, label_col, attributes,
                          list(thresholds), int(resamples), pure=False)
            for index, part in enumerate(parts)
        ]
        # Added in part order, so the same file and seed give the same intervals bit for bit.
        per_part = client.gather(futures)
        return [np.sum([sums[i] for sums in per_part], axis=0) for i in range(len(per_part[0]))]

    return replicate_sums
