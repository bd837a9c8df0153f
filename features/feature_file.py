"""The rows `svrisk features` writes: keys, cohort columns, features, audit columns and the label.

One function for the single-machine command and for each partition on a
cluster (``features/dask_features.py``), so both write the same columns from
the same :class:`~features.pipeline.FeatureBuilder`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import pandas as pd

from extract.contract import Extract
from features.cohort import referral_cohort, snapshot_cohort
from features.labels import LABEL_COLUMN, build_labels
from features.pipeline import FeatureBuilder, FeatureConfig


def feature_frame(
    extract: Extract,
    as_of: Sequence[datetime | str | pd.Timestamp],
    referrals: bool,
    config: FeatureConfig,
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The feature file's rows for the snapshot cohorts of ``as_of`` and, with ``referrals``,
    one row per referral; and the feature names.

    ``progress`` is called with a description after the cohort, each feature family and the labels.
    """
    parts = [snapshot_cohort(extract, as_of)] if as_of else []
    if referrals:
        parts.append(referral_cohort(extract))
    cohort = pd.concat(parts, ignore_index=True)
    if progress is not None:
        progress(f"features for {len(cohort):,} rows")

    def step(family: str) -> None:
        if progress is not None:
            progress(f"{family} features done")

    table = FeatureBuilder(config).transform(extract, cohort, progress=step)
    labels = build_labels(extract, cohort, config.outcome)
    if progress is not None:
        progress("writing")
    audit = table.audit.drop(columns=[c for c in table.audit.columns if c in table.X.columns])
    extra = cohort.drop(columns=list(table.keys.columns))
    frame = pd.concat([table.keys, extra, table.X, audit, labels.rename(LABEL_COLUMN)], axis=1)
    return frame, table.feature_names
