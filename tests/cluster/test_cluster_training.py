"""`svrisk train --engine dask`: the same search with lightgbm.dask, and the same model quality."""

from __future__ import annotations

import numpy as np
import pytest

from training.dask_training import early_stopping_round


def test_the_best_round_follows_the_early_stopping_rule():
    losses = np.array([0.9, 0.8, 0.7, 0.75, 0.72, 0.71, 0.6, 0.65])
    # Without a 4-round pause the later improvement is found; a 3-round pause stops at round 3.
    assert early_stopping_round(losses, 4) == (7, 0.6)
    assert early_stopping_round(losses, 3) == (3, 0.7)
    assert early_stopping_round(losses[:1], 5) == (1, 0.9)


@pytest.fixture(scope="module")
def process_cluster():
    """Two process workers: LightGBM's distributed training opens one network per process."""
    from cluster.client import dask_client

    with dask_client(workers=2, threads_per_worker=1, memory_limit="2GB", processes=True) as client:
        yield client


@pytest.mark.slow
def test_dask_training_matches_the_single_machine_auc(process_cluster, tmp_path):
    from functools import partial

    from extract.synthetic.extract_writer import write_synthetic_extract
    from training.config import load_config
    from training.dask_training import search_lightgbm_on_cluster
    from training.datasets import dataset_from_extract
    from training.fitting import MODEL_KEY, fit_dataset

    folder = tmp_path / "extract"
    # Large enough that the test AUC is measured to about +-0.01 (hundreds of test positives).
    write_synthetic_extract(folder, 20_000, 3, "2018-04-01", "2025-03-31", "parquet")
    search = load_config().search.model_dump()
    search.update(grid=search["grid"][:1], max_estimators=300, early_stopping_rounds=40)
    config = load_config(None, search=search, explainer_reference_rows=200, explanation_rows=200)
    data = dataset_from_extract(folder, config)
    local = fit_dataset(data, config)
    on_cluster = fit_dataset(data, config, search_with=partial(search_lightgbm_on_cluster, process_cluster))
    auc_local = local.metrics[MODEL_KEY]["roc_auc"]
    auc_cluster = on_cluster.metrics[MODEL_KEY]["roc_auc"]
    assert abs(auc_cluster - auc_local) <= 0.005, (auc_cluster, auc_local, local.trials, on_cluster.trials)
    assert on_cluster.params["best_iteration"] == on_cluster.trials[0]["best_iteration"] >= 1
    # The same baselines on the same rows, whichever engine fitted LightGBM.
    assert on_cluster.metrics["baseline_logistic"] == local.metrics["baseline_logistic"]
    probability = on_cluster.risk_model.score(*_case(data, folder))["probability"]
    assert ((probability > 0) & (probability < 1)).all()


def _case(data, folder):
    from extract.loader import load_extract

    extract = load_extract(folder)
    cohort = data.keys.iloc[:20][["person_id", "as_of"]].reset_index(drop=True)
    return extract, cohort
