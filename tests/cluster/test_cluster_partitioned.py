"""`svrisk generate --partitions N`: chunked generation into a person-partitioned extract, and its loader."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from tests.cluster.conftest import CHUNK_PEOPLE, PARTITIONS, PEOPLE
from typer.testing import CliRunner

from extract.contract import TABLES
from extract.loader import ExtractValidationError, load_extract, load_partition
from extract.partitioned import (
    PARTITIONS_FILE,
    partition_folders,
    person_partition,
)


def test_every_person_is_in_exactly_one_partition_with_all_their_rows(partitioned):
    folders = partition_folders(partitioned.root)
    assert len(folders) == PARTITIONS
    seen = []
    for index in range(PARTITIONS):
        part = load_partition(partitioned.root, index)
        ids = part["people"]["person_id"].to_numpy(dtype=object)
        assert (person_partition(ids, PARTITIONS) == index).all()
        for name in part.tables:
            assert set(part[name]["person_id"]) <= set(ids), name
        seen.append(ids)
    every = np.concatenate(seen)
    assert len(every) == PEOPLE == len(set(every))
    layout = json.loads((partitioned.root / PARTITIONS_FILE).read_text())
    assert layout["people_per_partition"] == [len(ids) for ids in seen]


def test_chunks_number_people_on_without_sharing_ids(partitioned):
    ids = sorted(partitioned.whole["people"]["person_id"])
    assert ids == [f"p{i:07d}" for i in range(1, PEOPLE + 1)]
    outcomes = pd.read_csv(partitioned.root / "_truth" / "outcomes.csv")
    assert set(outcomes["person_id"]) <= set(ids) and outcomes["person_id"].str.len().eq(8).all()
    run = json.loads((partitioned.root / "_truth" / "parameters.json").read_text())["run"]
    assert [c["people"] for c in run["chunks"]] == [CHUNK_PEOPLE, CHUNK_PEOPLE, PEOPLE - 2 * CHUNK_PEOPLE]
    assert len({c["seed"] for c in run["chunks"]}) == 3


def test_the_whole_equals_the_partitions_together(partitioned):
    for name in TABLES:
        if name not in partitioned.whole.tables:
            continue
        parts = pd.concat([load_partition(partitioned.root, i)[name] for i in range(PARTITIONS)], ignore_index=True)
        whole = partitioned.whole[name]
        assert len(parts) == len(whole), name
        key = [c for c in whole.columns]
        left = whole.astype(object).sort_values(key[:3]).reset_index(drop=True)
        right = parts.astype(object).sort_values(key[:3]).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_a_partition_holding_another_partitions_person_is_refused(partitioned, tmp_path):
    root = tmp_path / "extract"
    shutil.copytree(partitioned.root, root)
    # Partition 1's complete extract in partition 0's folder: valid data, but its people hash to 1.
    shutil.rmtree(root / "part-00000")
    shutil.copytree(root / "part-00001", root / "part-00000")
    with pytest.raises(ValueError, match="belong to another partition"):
        load_partition(root, 0)
    with pytest.raises(ValueError, match="partition 7 does not exist"):
        load_partition(root, 7)


def test_a_table_missing_from_one_partition_is_a_violation(partitioned, tmp_path):
    root = tmp_path / "extract"
    shutil.copytree(partitioned.root, root)
    (root / "part-00002" / "attendance.parquet").unlink()
    with pytest.raises(ExtractValidationError, match=r"missing from 1 partition folder\(s\) \(first: part-00002\)"):
        load_extract(root)


def test_generate_cli_writes_partitions_and_refuses_csv(tmp_path):
    from svrisk.cli import app

    runner = CliRunner()
    out = tmp_path / "p"
    done = runner.invoke(app, ["generate", "--people", "300", "--seed", "2", "--start", "2022-04-01",
                               "--end", "2025-03-31", "--format", "parquet", "--partitions", "2",
                               "--chunk-people", "200", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert [f.name for f in partition_folders(out)] == ["part-00000", "part-00001"]
    assert len(load_extract(out)["people"]) == 300
    refused = runner.invoke(app, ["generate", "--people", "10", "--partitions", "2", "--out", str(tmp_path / "q")])
    assert refused.exit_code == 2 and "Parquet" in refused.output and not (tmp_path / "q").exists()
