"""The data of a training run: one :class:`Dataset` from an extract or from a feature table.

Two sources of data give the same :class:`Dataset`: an extract (annual
snapshot cohort, point-in-time features and labels from ``features``) and a
bring-your-own flat feature table. :mod:`training.fitting` then does the same
work for both, and :mod:`training.record` records and registers it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.config import TrainingConfig
from training.split import SplitSummary, group_split, ordered_split, snapshot_split

ERR_TABLE_NOT_FOUND = "feature table not found: {path}"
ERR_TABLE_MISSING_COLUMNS = "the table lacks column(s) {missing}; it has: {columns}"
ERR_TABLE_BAD_LABEL = "label column {column!r} must hold 0/1 (empty where unknown); found {values}"
ERR_TABLE_NO_FEATURES = "no feature columns left after removing the id, label, time and protected columns"
ERR_TABLE_DUPLICATE_ROLE = "column {column!r} is given more than one role (id, label, time, protected)"
ERR_NO_SNAPSHOTS = "no annual snapshot dates fit between {first} and {last}; give snapshot_dates"

Progress = Callable[[str], None]


@dataclass
class Dataset:
    """Model inputs, labels, audit columns and the temporal period of every row."""

    keys: pd.DataFrame  # person_id, as_of
    X: pd.DataFrame
    y: pd.Series  # float 0/1, NaN where not observed
    audit: pd.DataFrame
    period: pd.Series  # "train" | "validation" | "test" | None
    split: SplitSummary
    source: dict[str, str]  # params: extract_path/extract_sha256 or table_path/table_sha256
    feature_config: Any = None  # features.pipeline.FeatureConfig; None for a feature table
    dictionary: Any = None  # features.dictionary.FeatureDictionary; None for a feature table
    outcome: dict[str, Any] = field(default_factory=dict)
    id_column: str | None = None
    time_column: str | None = None
    example_input: pd.DataFrame | None = None  # the pyfunc's input example

    def rows(self, name: str) -> np.ndarray:
        return (self.period == name).to_numpy()


# -- datasets --------------------------------------------------------------------------------
def snapshot_dates(extract: Any, config: TrainingConfig) -> list[pd.Timestamp]:
    """The cohort's snapshot dates: ``config.snapshot_dates`` if given, else annual ones.

    Annual dates fall on ``snapshot_month_day``, at least a year after the
    earliest record (so there is history to look back on) and with the outcome
    window fully observed; the latest ``train_snapshots + 2`` are kept (train,
    validation, test).
    """
    if config.snapshot_dates:
        return [pd.Timestamp(d) for d in config.snapshot_dates]
    earliest = min(
        (frame[spec].min() for name, frame in extract.tables.items()
         if (spec := _date_column(name)) is not None and len(frame)),
        default=extract.extracted_on,
    )
    first = earliest + pd.Timedelta(days=365)
    last = extract.extracted_on - pd.Timedelta(days=config.outcome.horizon_days)
    month, day = (int(p) for p in config.snapshot_month_day.split("-"))
    dates = [
        pd.Timestamp(date(year, month, day))
        for year in range(first.year, last.year + 1)
        if first <= pd.Timestamp(date(year, month, day)) <= last
    ]
    if not dates:
        raise ValueError(ERR_NO_SNAPSHOTS.format(first=first.date(), last=last.date()))
    return dates[-(config.train_snapshots + 2):]


def _date_column(table: str) -> str | None:
    from extract.contract import TABLES

    return TABLES[table].date_column


def dataset_from_extract(path: str | Path, config: TrainingConfig, progress: Progress | None = None) -> Dataset:
    """Load an extract, build the snapshot cohort, features and labels, and split by time."""
    from extract.loader import load_extract
    from features.cohort import snapshot_cohort
    from features.dictionary import FeatureDictionary
    from features.labels import build_labels
    from features.pipeline import FeatureBuilder, FeatureConfig
    from registry.checksum import extract_sha256

    tell = progress or (lambda _message: None)
    extract = load_extract(path)
    tell("extract loaded")
    cohort = snapshot_cohort(extract, snapshot_dates(extract, config))
    feature_config = FeatureConfig(include_protected=tuple(config.include_protected), outcome=config.outcome)
    table = FeatureBuilder(feature_config).transform(extract, cohort, progress=lambda f: tell(f"features: {f}"))
    y = build_labels(extract, cohort, config.outcome).reset_index(drop=True)
    period, split = snapshot_split(table.keys["as_of"], y, config.outcome.horizon_days)
    tell("features and labels built")
    return Dataset(
        keys=table.keys, X=table.X, y=y, audit=table.audit, period=period, split=split,
        source={"extract_path": str(Path(path).resolve()), "extract_sha256": extract_sha256(path)},
        feature_config=feature_config, dictionary=FeatureDictionary.load(),
        outcome={**config.outcome.model_dump(mode="json"), "description": config.outcome.describe()},
        example_input=_example_case(extract, table, period),
    )


def _example_case(extract: Any, table: Any, period: pd.Series) -> pd.DataFrame:
    """A real case from the test period, in the pyfunc's input format, for the logged example."""
    from features.single_case import case_from_extract
    from runtime.pyfunc_model import CASE_COLUMN

    row = int(np.flatnonzero((period == "test").to_numpy())[0])
    case = case_from_extract(extract, table.keys["person_id"].iloc[row], table.keys["as_of"].iloc[row])
    return pd.DataFrame({CASE_COLUMN: [case.model_dump_json()]})


def dataset_from_table(
    path: str | Path,
    *,
    id_column: str,
    label_column: str,
    protected: list[str],
    time_column: str | None,
    config: TrainingConfig,
) -> Dataset:
    """A flat CSV/Parquet feature table: numeric columns stay numbers, the others are categories.

    Protected columns go to the audit frame, never to the inputs. Without a
    time column the split is by whole ids, seeded.
    """
    from registry.checksum import file_sha256

    source = Path(path)
    if not source.is_file():
        raise ValueError(ERR_TABLE_NOT_FOUND.format(path=source))
    frame = pd.read_parquet(source) if source.suffix == ".parquet" else pd.read_csv(source)
    roles = [id_column, label_column, *protected] + ([time_column] if time_column else [])
    for column in roles:
        if roles.count(column) > 1:
            raise ValueError(ERR_TABLE_DUPLICATE_ROLE.format(column=column))
    missing = [c for c in roles if c not in frame.columns]
    if missing:
        raise ValueError(ERR_TABLE_MISSING_COLUMNS.format(missing=missing, columns=list(frame.columns)))
    y = pd.to_numeric(frame[label_column], errors="coerce").astype("float64")
    bad = frame[label_column][~(y.isin([0.0, 1.0]) | frame[label_column].isna())]
    if len(bad):
        raise ValueError(ERR_TABLE_BAD_LABEL.format(column=label_column, values=sorted(map(str, bad.unique()))[:5]))
    features = [c for c in frame.columns if c not in roles]
    if not features:
        raise ValueError(ERR_TABLE_NO_FEATURES)
    X = pd.DataFrame(index=frame.index)
    for column in features:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            X[column] = values.astype("float64")
        else:
            text = values.astype(object).where(values.notna(), None)
            text = text.map(lambda v: None if v is None else str(v))
            X[column] = pd.Categorical(text, categories=sorted(text.dropna().unique()))
    audit = pd.DataFrame({c: frame[c].astype(object).where(frame[c].notna(), None).map(
        lambda v: None if v is None else str(v)) for c in protected}, index=frame.index)
    keys = pd.DataFrame({
        "person_id": frame[id_column].astype(str).to_numpy(dtype=object),
        "as_of": frame[time_column].astype(str).to_numpy(dtype=object) if time_column else None,
    })
    if time_column:
        period, split = ordered_split(frame[time_column], y)
    else:
        period, split = group_split(frame[id_column], y, config.seed)
    test_rows = np.flatnonzero((period == "test").to_numpy())[:2]
    example = frame.iloc[test_rows][[id_column, *features] + ([time_column] if time_column else [])]
    # Whole numbers as float64 in the signature, so a row with a missing value still conforms.
    example = example.astype({c: "float64" for c in example.columns
                              if pd.api.types.is_integer_dtype(example[c]) and c != id_column})
    return Dataset(
        keys=keys, X=X, y=y, audit=audit, period=period, split=split,
        source={"table_path": str(source.resolve()), "table_sha256": file_sha256(source)},
        outcome={"label_column": label_column,
                 "description": f"The table's own label column {label_column!r} (1 = outcome)."},
        id_column=id_column, time_column=time_column, example_input=example.reset_index(drop=True),
    )
