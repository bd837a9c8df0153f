"""`svrisk score --engine dask`: each partition scored and explained through the same RiskModel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explanations.dask_scoring import PARTS_ARE_PARQUET, scores_on_cluster
from explanations.scoring import score_extract, scoring_cohort
from extract.partitioned import PartitionedExtractWriter

AS_OF = ["2023-04-01", "2024-04-01"]


@pytest.fixture(scope="module")
def partitioned_pipeline(pipeline_model, tmp_path_factory):
    """The pipeline model's extract written as 3 partitions by person."""
    root = tmp_path_factory.mktemp("partitioned") / "extract"
    extract = pipeline_model.extract
    with PartitionedExtractWriter(root, 3, extract.extracted_on) as writer:
        writer.write(extract.tables)
    return root


def test_scores_on_the_cluster_equal_the_single_machine(pipeline_model, partitioned_pipeline, dask_cluster, tmp_path):
    risk = pipeline_model.risk_model
    done = scores_on_cluster(dask_cluster, risk, partitioned_pipeline, tmp_path / "scores.parquet",
                             as_of=AS_OF, referrals=False, model_version="4", chunk_size=300)
    on_cluster = pd.read_parquet(tmp_path / "scores.parquet")
    cohort, left_out = scoring_cohort(pipeline_model.extract, AS_OF, False)
    single = score_extract(risk, pipeline_model.extract, cohort, model_version="4")
    assert done["rows"] == len(single) == len(on_cluster) and done["left_out"] == left_out
    key = ["person_id", "as_of"]
    on_cluster = on_cluster.sort_values(key).reset_index(drop=True)
    single = single.sort_values(key).reset_index(drop=True)
    np.testing.assert_array_equal(on_cluster["probability"], single["probability"])
    for column in ("person_id", "absolute_risk", "explanation", "local_authority", "model_version"):
        assert on_cluster[column].astype(str).tolist() == single[column].astype(str).tolist(), column


def test_scores_on_the_cluster_need_a_parquet_folder(pipeline_model, partitioned_pipeline, dask_cluster, tmp_path):
    with pytest.raises(ValueError, match="folder of Parquet part files"):
        scores_on_cluster(dask_cluster, pipeline_model.risk_model, partitioned_pipeline, tmp_path / "s.csv",
                          as_of=AS_OF, referrals=False, model_version="1")
    assert "Parquet" in PARTS_ARE_PARQUET


def test_score_cli_refuses_csv_parts_and_a_scheduler_without_dask(partitioned_pipeline, tmp_path):
    from typer.testing import CliRunner

    from svrisk.cli import app

    runner = CliRunner()
    csv = runner.invoke(app, ["score", str(partitioned_pipeline), "--as-of", AS_OF[0], "--out",
                              str(tmp_path / "s.csv"), "--engine", "dask"])
    assert csv.exit_code == 2 and "--out" in csv.output and not (tmp_path / "s.csv").exists()
    local = runner.invoke(app, ["score", str(partitioned_pipeline), "--as-of", AS_OF[0], "--out",
                                str(tmp_path / "s.parquet"), "--scheduler", "tcp://127.0.0.1:1"])
    assert local.exit_code == 2 and "--scheduler" in local.output
