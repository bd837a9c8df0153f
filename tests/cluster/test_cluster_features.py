"""`svrisk features --engine dask`: each partition through the same FeatureBuilder, equal bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.dask_features import features_on_cluster
from features.feature_file import feature_frame
from features.pipeline import FeatureConfig
from tests.cluster.conftest import AS_OF, PARTITIONS

KEYS = ["person_id", "as_of", "kind", "referral_source"]


def in_key_order(frame: pd.DataFrame) -> pd.DataFrame:
    # A person's rows come from one partition, so (person, as_of, kind, source) and the
    # single-machine order within a key fix every row's place.
    frame = frame.assign(_order=np.arange(len(frame)), referral_source=frame["referral_source"].astype(object))
    return frame.sort_values([*KEYS, "_order"], na_position="first", kind="stable").drop(columns="_order").reset_index(drop=True)


def assert_bit_for_bit(left: pd.DataFrame, right: pd.DataFrame) -> None:
    assert list(left.columns) == list(right.columns) and len(left) == len(right)
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a):
            assert b.dtype == a.dtype, column
            # Same bits, NaN included: no tolerance.
            assert np.array_equal(a.to_numpy().view(np.int64), b.to_numpy().view(np.int64)), column
        else:
            assert a.astype(object).tolist() == b.astype(object).tolist(), column


def test_features_on_the_cluster_equal_the_single_machine_bit_for_bit(partitioned, dask_cluster, tmp_path):
    config = FeatureConfig(include_protected=("sex",))
    done = features_on_cluster(dask_cluster, partitioned.root, list(AS_OF), True, config, tmp_path / "f.parquet")
    parts = sorted((tmp_path / "f.parquet").iterdir())
    assert [p.name for p in parts] == [f"part-{i:05d}.parquet" for i in range(PARTITIONS)]
    on_cluster = pd.read_parquet(tmp_path / "f.parquet")
    single, names = feature_frame(partitioned.whole, [pd.Timestamp(d) for d in AS_OF], True, config)
    single = pd.read_parquet(_round_trip(single, tmp_path / "single.parquet"))
    assert done["rows"] == len(single) > 0 and done["feature_names"] == names
    assert done["labelled"] == int(single["label"].notna().sum())
    assert_bit_for_bit(in_key_order(on_cluster), in_key_order(single))


def _round_trip(frame: pd.DataFrame, path) -> str:
    # Both sides through Parquet, as `svrisk features` writes them: compares values, not writer dtypes.
    frame.to_parquet(path, index=False)
    return str(path)


def test_features_cli_on_the_cluster(partitioned, dask_cluster, tmp_path):
    from svrisk.cli import app

    out = tmp_path / "features.parquet"
    done = CliRunner().invoke(app, ["features", str(partitioned.root), "--as-of", AS_OF[1], "--out", str(out),
                                    "--engine", "dask", "--scheduler", dask_cluster.scheduler.address])
    assert done.exit_code == 0, done.output
    written = pd.read_parquet(out)
    assert f"wrote {len(written):,} rows" in done.output
    again = CliRunner().invoke(app, ["features", str(partitioned.root), "--as-of", AS_OF[1], "--out", str(out),
                                     "--engine", "dask", "--scheduler", dask_cluster.scheduler.address])
    assert again.exit_code == 1 and "already holds files" in again.output


def test_a_scheduler_without_the_dask_engine_is_a_usage_error(partitioned, tmp_path):
    from svrisk.cli import app

    done = CliRunner().invoke(app, ["features", str(partitioned.root), "--as-of", AS_OF[1], "--out",
                                    str(tmp_path / "f.parquet"), "--scheduler", "tcp://127.0.0.1:1"])
    assert done.exit_code == 2 and "--engine" in done.output and not (tmp_path / "f.parquet").exists()


def test_an_unpartitioned_extract_is_refused_on_the_cluster(dask_cluster, tmp_path):
    with pytest.raises(ValueError, match="not a partitioned extract"):
        features_on_cluster(dask_cluster, tmp_path, list(AS_OF), False, FeatureConfig(), tmp_path / "o.parquet")
