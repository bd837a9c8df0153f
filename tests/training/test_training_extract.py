"""Training on a generated extract: snapshots, temporal split, baselines, the raw-case pyfunc."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def test_training_extract_split_is_temporal(trained_extract) -> None:
    params = trained_extract.result.params
    assert params["split_test"] == "2024-04-01"
    assert params["split_validation"] == "2023-04-01"
    assert params["split_train"] == "2020-04-01,2021-04-01,2022-04-01"
    predictions = trained_extract.result.predictions
    assert set(pd.to_datetime(predictions["as_of"])) == {pd.Timestamp("2024-04-01")}


def test_training_extract_logs_baselines_and_audit(trained_extract, in_extract_store: str) -> None:
    import mlflow

    root = Path(mlflow.artifacts.download_artifacts(
        run_id=trained_extract.logged.run_id, artifact_path="evaluation", dst_path=str(Path.cwd()),
    ))
    predictions = pd.read_parquet(root / "test_predictions.parquet")
    for column in ("baseline_logistic", "baseline_ace4", "baseline_prior_violence"):
        assert predictions[column].notna().all()
    assert set(predictions["baseline_ace4"]) <= {0.0, 1.0}
    for column in ("sex", "ethnicity", "age_band", "sen", "imd_decile", "local_authority"):
        assert predictions[column].notna().any(), column
    metrics = json.loads((root / "metrics.json").read_text())["test"]
    assert set(metrics) >= {"lightgbm", "baseline_logistic", "baseline_ace4", "baseline_prior_violence"}
    assert "precision_top260" in metrics["lightgbm"]
    names = trained_extract.result.risk_model.feature_names
    assert not {"sex", "ethnicity", "age_band", "sen"} & set(names)
    reference = trained_extract.result.risk_model.reference_probabilities_
    assert np.all(np.diff(reference) >= 0) and len(reference) <= 20_000


def test_training_pyfunc_scores_raw_cases_like_batch(trained_extract, in_extract_store: str,
                                                     small_extract: Path) -> None:
    import mlflow

    from extract.loader import load_extract
    from features.single_case import case_from_extract
    from runtime.pyfunc_model import CASE_COLUMN

    loaded = mlflow.pyfunc.load_model("models:/svrisk@candidate")
    extract = load_extract(small_extract)
    test = trained_extract.result.predictions.iloc[:4]
    cases = [case_from_extract(extract, pid, as_of).model_dump_json()
             for pid, as_of in zip(test["person_id"], test["as_of"], strict=True)]
    out = loaded.predict(pd.DataFrame({CASE_COLUMN: cases}))
    assert list(out["person_id"]) == list(test["person_id"])
    assert set(out["as_of"]) == {"2024-04-01"}
    np.testing.assert_allclose(out["probability"], test["probability"], rtol=0, atol=1e-12)
    batch = loaded.unwrap_python_model().risk_model.score(extract, test[["person_id", "as_of"]])
    np.testing.assert_allclose(batch["probability"], test["probability"], rtol=0, atol=1e-12)
    raising = json.loads(out["top_raising"].iloc[0])
    assert all(f["contribution"] >= 0 for f in raising)
