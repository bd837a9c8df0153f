"""Model quality on a generated extract against the generator's oracle (JSON to stdout).

Generates an extract (default 200,000 people, default recording bias), runs
the whole training (fit, log, register) into a temporary MLflow store, then
compares the calibrated LightGBM's test-period ROC AUC with the AUC of the
generator's ``recorded_probability`` on the same rows (the best achievable
for the recorded outcome), and with the logistic regression and both rules.

Usage: .venv/bin/python benchmarks/model_quality.py [--people 200000] [--seed 2024]
       [--extract DIR] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ORACLE_GAP = 0.01
ECE_LIMIT = 0.01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--extract", type=Path, help="Use this generated extract instead of a new one.")
    parser.add_argument("--out", type=Path, help="Also write the JSON here.")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from extract.synthetic.cli import write_synthetic_extract
    from training.metrics import expected_calibration_error
    from training.run import run_training

    with tempfile.TemporaryDirectory(prefix="svrisk-bench-") as tmp_name:
        tmp = Path(tmp_name)
        timings = {}
        extract = args.extract
        if extract is None:
            extract = tmp / "extract"
            start = time.perf_counter()
            write_synthetic_extract(extract, people=args.people, seed=args.seed,
                                    start="2018-04-01", end="2025-03-31")
            timings["generate_s"] = round(time.perf_counter() - start, 1)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
        start = time.perf_counter()
        outcome = run_training(extract=extract)
        timings["train_s"] = round(time.perf_counter() - start, 1)

        predictions = outcome.result.predictions
        truth = pd.read_csv(extract / "_truth" / "outcomes.csv", parse_dates=["as_of"])
        truth = truth[truth["kind"] == "snapshot"]
        merged = predictions.merge(truth, on=["person_id", "as_of"], how="left", validate="1:1")
        missing = int(merged["recorded_probability"].isna().sum())
        labels_agree = bool((merged["label"] == merged["recorded_outcome"]).all())
        y = merged["label"].to_numpy(dtype=float)
        metrics = outcome.result.metrics
        model_auc = metrics["lightgbm"]["roc_auc"]
        oracle_auc = float(roc_auc_score(y, merged["recorded_probability"]))
        report = {
            "people": args.people,
            "seed": args.seed,
            "test_period": outcome.result.params["split_test"],
            "test_rows": int(len(y)),
            "test_prevalence": float(y.mean()),
            "rows_without_truth": missing,
            "labels_equal_recorded_outcome": labels_agree,
            "calibration_method": outcome.result.params["calibration_method"],
            "lgbm_params": {k: v for k, v in outcome.result.params.items() if k.startswith("lgbm_")},
            "best_iteration": outcome.result.params["best_iteration"],
            "auc": {
                "lightgbm_calibrated": model_auc,
                "lightgbm_uncalibrated": metrics["lightgbm_uncalibrated"]["roc_auc"],
                "oracle_recorded_probability": oracle_auc,
                "true_probability": float(roc_auc_score(y, merged["true_probability"])),
                **{name: metrics[name]["roc_auc"] for name in
                   ("baseline_logistic", "baseline_ace4", "baseline_prior_violence")},
            },
            "oracle_gap": oracle_auc - model_auc,
            "ece": {
                "lightgbm_calibrated": metrics["lightgbm"]["ece"],
                "oracle_recorded_probability": expected_calibration_error(
                    y, merged["recorded_probability"].to_numpy(), outcome.config.ece_bins),
            },
            "brier": {"lightgbm_calibrated": metrics["lightgbm"]["brier"],
                      "baseline_logistic": metrics["baseline_logistic"]["brier"]},
            "precision_at_capacity": {name: values[f"precision_top{outcome.config.team_capacity}"]
                                      for name, values in metrics.items()},
            "timings": timings,
        }
        report["checks"] = {
            "within_oracle_gap": report["oracle_gap"] <= ORACLE_GAP,
            "beats_logistic_and_rules": all(
                model_auc > report["auc"][name]
                for name in ("baseline_logistic", "baseline_ace4", "baseline_prior_violence")),
            "ece_below_limit": metrics["lightgbm"]["ece"] < ECE_LIMIT,
        }
    text = json.dumps(report, indent=2, default=lambda v: np.asarray(v).item())
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
