"""`svrisk audit --engine dask`: per-part grouped counts with Poisson bootstrap weights, summed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairness.audit import INTERVAL_METRICS, run_audit
from fairness.bootstrap import SumSpec, poisson_bootstrap_sums
from fairness.dask_audit import cluster_replicate_sums, score_parts
from fairness.policy import load_policy

GROUP_COLS = ["sex", "ethnicity", "sex x ethnicity"]
THRESHOLDS = [0.2, 0.4]


def score_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 6, n)
    return pd.DataFrame({
        "probability": score,
        "label": (rng.random(n) < score).astype(int),
        "sex": rng.choice(["female", "male", "unknown"], n, p=[0.49, 0.49, 0.02]),
        "ethnicity": rng.choice(["white", "asian", "black", "mixed"], n, p=[0.6, 0.2, 0.12, 0.08]),
    })


@pytest.fixture(scope="module")
def score_folder(tmp_path_factory):
    """Three parts (one without any 'unknown' sex, so parts' own group lists differ)."""
    folder = tmp_path_factory.mktemp("scores") / "scores.parquet"
    folder.mkdir()
    frames = [score_frame(3000, 1), score_frame(2500, 2), score_frame(2000, 3)]
    frames[2] = frames[2][frames[2]["sex"] != "unknown"]
    for i, frame in enumerate(frames):
        frame.to_parquet(folder / f"part-{i:05d}.parquet", index=False)
    return folder


def audit(frame, policy, **kwargs):
    return run_audit(frame, score_col="probability", label_col="label", group_cols=GROUP_COLS,
                     thresholds=THRESHOLDS, policy=policy, resamples=300, **kwargs)


def test_point_estimates_equal_and_intervals_agree_with_one_machine(score_folder, dask_cluster):
    policy = load_policy()
    whole = pd.read_parquet(score_folder)
    local = audit(whole, policy)
    sums = cluster_replicate_sums(dask_cluster, score_folder, score_col="probability", label_col="label")
    on_cluster = audit(whole, policy, replicate_sums=sums)
    points = [c for c in local.rows.columns if not c.endswith(("_ci_low", "_ci_high"))]
    pd.testing.assert_frame_equal(on_cluster.rows[points], local.rows[points])
    # Two bootstraps of the same rows differ by Monte Carlo noise only (300 resamples); the
    # groups of a few dozen people (unknown sex) are left out, their intervals are noise.
    large = (local.rows["count"] >= 300).to_numpy()
    assert large.sum() >= 20
    for metric in ("selection_rate", "tpr", "fpr", "base_rate"):
        for end in ("_ci_low", "_ci_high"):
            np.testing.assert_allclose(on_cluster.rows[metric + end][large], local.rows[metric + end][large], atol=0.03)
    again = audit(whole, policy, replicate_sums=sums)
    for metric in INTERVAL_METRICS:
        np.testing.assert_array_equal(again.rows[f"{metric}_ci_low"], on_cluster.rows[f"{metric}_ci_low"])


def test_poisson_replicates_average_the_counts_and_parts_are_listed_in_order(score_folder, tmp_path):
    # Poisson(1) weights: each key's replicate sums average its row count.
    keys = np.array([0, 1, 1, 2, 2, 2])
    (sums,) = poisson_bootstrap_sums([SumSpec(keys, 3)], 6, resamples=400, seed=[1, 0])
    assert sums.shape == (400, 3)
    np.testing.assert_allclose(sums.mean(axis=0), [1, 2, 3], rtol=0.15)
    assert [p.name for p in score_parts(score_folder)] == [f"part-{i:05d}.parquet" for i in range(3)]
    with pytest.raises(ValueError, match="holds no Parquet part files"):
        score_parts(tmp_path)


def test_audit_cli_on_the_cluster(score_folder, dask_cluster, tmp_path):
    from svrisk.cli import app

    done = CliRunner().invoke(app, [
        "audit", "--scores", str(score_folder), "--score-col", "probability", "--label-col", "label",
        "--group-col", "sex", "--group-col", "ethnicity", "--threshold", "0.3", "--resamples", "50",
        "--out", str(tmp_path / "audit"), "--engine", "dask", "--scheduler", dask_cluster.scheduler.address,
    ])
    assert done.exit_code in (0, 1), done.output
    document = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert document["verdict"]["verdict"] in ("PASS", "REVIEW", "FAIL")
    assert sum(len(pd.read_parquet(p)) for p in score_parts(score_folder)) == document["n_rows"]
