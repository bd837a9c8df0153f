"""`svrisk features --engine dask`: each partition through the same feature code, on a cluster.

Every person's rows are in one partition (``extract.partitioned``) and every
feature and label of a row is computed from that person's records only, so a
partition's rows equal the single-machine rows of the same people, bit for bit
(tests/cluster/test_cluster_features.py). Each task writes its own part file
``OUT/part-NNNNN.parquet`` (partition order; within a part, the single-machine
row order of its people); ``pandas.read_parquet(OUT)`` reads the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from features.pipeline import FeatureConfig


def partition_features(
    extract_dir: str, index: int, as_of: Sequence[str], referrals: bool, config: dict, out_dir: str
) -> dict[str, Any]:
    """Build and write one partition's feature rows (a task: runs on a worker); return its counts."""
    import pandas as pd

    from cluster.partitions import part_path
    from extract.loader import load_partition
    from features.feature_file import feature_frame
    from features.labels import LABEL_COLUMN

    extract = load_partition(extract_dir, index)
    frame, names = feature_frame(extract, [pd.Timestamp(day) for day in as_of], referrals,
                                 FeatureConfig.model_validate(config))
    frame.to_parquet(part_path(out_dir, index), index=False)
    labels = frame[LABEL_COLUMN]
    return {"rows": len(frame), "labelled": int(labels.notna().sum()), "positives": float(labels.sum()),
            "feature_names": names}


def features_on_cluster(
    client: Any,
    extract_dir: str | Path,
    as_of: Sequence[Any],
    referrals: bool,
    config: FeatureConfig,
    out_dir: str | Path,
) -> dict[str, Any]:
    """Write every partition's feature rows under ``out_dir``; return rows, labelled, positives, feature_names."""
    import pandas as pd

    from cluster.partitions import map_partitions, parts_folder

    out = parts_folder(out_dir).resolve()
    days = [pd.Timestamp(day).strftime("%Y-%m-%d") for day in as_of or ()]
    counts = map_partitions(client, partition_features, extract_dir, days, referrals,
                            config.model_dump(mode="json"), str(out))
    return {
        "rows": sum(c["rows"] for c in counts),
        "labelled": sum(c["labelled"] for c in counts),
        "positives": sum(c["positives"] for c in counts),
        "feature_names": counts[0]["feature_names"],
        "partitions": len(counts),
    }
