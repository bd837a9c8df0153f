"""Benchmark: `svrisk monitor` on 12 monthly snapshots of a 500,000-person extract, and the detection rates.

1. A model is trained on a 20,000-person extract whose outcomes end on
   2023-04-01 (a small search: the model's quality is not what is measured).
2. A 500,000-person extract to 2025-03-31 (Parquet) is generated with no shift.
3. ``svrisk monitor`` runs in a subprocess on the 12 as-of dates 2023-04-01 ..
   2024-03-01 (all matured: drift, scores, performance, fairness every month);
   its wall time and peak resident memory (the child's ``ru_maxrss``) are the
   figures against the targets of 3 minutes and 6 GB.
4. The detection and false-alarm rates of the tests
   (tests/monitoring/test_monitoring_detection.py) on 10 seeds.

    .venv/bin/python -m benchmarks.monitor [--people 500000] [--out benchmarks/results/monitor.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 180.0
TARGET_BYTES = 6 * 1024**3
FROM, TO = "2023-04-01", "2024-03-01"
SVRISK = str(Path(sys.executable).with_name("svrisk"))
TRAINING = {
    "version": 1,
    "search": {"max_estimators": 150, "early_stopping_rounds": 20,
               "grid": [{"num_leaves": 15, "min_child_samples": 50, "reg_lambda": 1.0}]},
    "explanation_rows": 500,
    "explainer_reference_rows": 200,
}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run([SVRISK, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True,
                          check=False)
    return done, time.perf_counter() - started


# Runs one command and writes its own rusage: the peak memory of that child alone, not of an
# earlier, larger one (the 500,000-person generation).
_MEASURE = (
    "import json, resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[2:]).returncode; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "open(sys.argv[1], 'w').write(json.dumps({'maxrss_kib': u.ru_maxrss, 'cpu': u.ru_utime + u.ru_stime})); "
    "sys.exit(code)"
)


def _check(done: subprocess.CompletedProcess, allowed: tuple[int, ...] = (0,)) -> None:
    if done.returncode not in allowed:
        raise SystemExit(f"svrisk {done.args[1]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _performance_summary(document: dict) -> dict | None:
    """The latest matured period's AUC beside training's, both intervals, and the calibration checks that fired."""
    if not document["performance"]:
        return None
    latest = document["performance"][-1]
    return {"period": latest["period"], "roc_auc": latest["roc_auc"], "roc_auc_ci": latest["roc_auc_ci"],
            "training_roc_auc": latest["training"]["roc_auc"], "training_roc_auc_ci": latest["training"]["roc_auc_ci"],
            "training_positives": latest["training"]["positives"], "auc_drop_ci": latest["auc_drop_ci"],
            "calibration_failing": latest["calibration_failing"],
            "ratio_change_by_band": [b["ratio_change"] for b in latest["calibration_by_band"]]}


def main(argv: list[str] | None = None) -> int:
    import yaml

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=500_000)
    parser.add_argument("--training-people", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=10, help="seeds for the detection rates (0: skip)")
    parser.add_argument("--out", type=Path, default=None, help="JSON result file (stdout as well)")
    args = parser.parse_args(argv)

    result: dict = {"benchmark": "monitor", "people": args.people, "periods": [FROM, TO],
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "load_average_1m_before": os.getloadavg()[0]}}
    with tempfile.TemporaryDirectory(prefix="svrisk-bench-monitor-") as tmp_name:
        root = Path(tmp_name)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        env = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri, "SVRISK_HOME": str(root),
               "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
        (root / "training.yaml").write_text(yaml.safe_dump(TRAINING))
        done, seconds = _run(["generate", "--people", str(args.training_people), "--seed", "1", "--start",
                              "2018-04-01", "--end", "2023-03-31", "--format", "parquet", "--out",
                              str(root / "train")], env, root)
        _check(done)
        done, seconds = _run(["train", str(root / "train"), "--config", str(root / "training.yaml")], env, root)
        _check(done)
        result["training_seconds"] = round(seconds, 1)
        done, seconds = _run(["generate", "--people", str(args.people), "--seed", "2", "--start", "2018-04-01",
                              "--end", "2025-03-31", "--format", "parquet", "--out", str(root / "newer")], env, root)
        _check(done)
        result["generate_seconds"] = round(seconds, 1)
        result["load_average_1m_at_monitor"] = os.getloadavg()[0]
        usage_file = root / "rusage.json"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(usage_file), SVRISK, "monitor", str(root / "newer"),
             "--from", FROM, "--to", TO, "--out", str(root / "report")],
            env={**os.environ, **env}, cwd=root, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        _check(done, allowed=(0, 1))
        usage = json.loads(usage_file.read_text())
        document = json.loads((root / "report" / "report.json").read_text())
        peak = usage["maxrss_kib"] * 1024
        result["monitor"] = {
            "wall_seconds": round(seconds, 1),
            "cpu_seconds": round(usage["cpu"], 1),
            "peak_rss_bytes": peak,
            "exit_code": done.returncode,
            "status": document["status"],
            "periods": len(document["periods"]),
            "matured_periods": len(document["matured_periods"]),
            "people_per_period": [r["n"] for r in document["score_drift"]],
            "seconds_by_step": document["seconds"],
            # Which check fired, not only its kind: the subject (an input, "roc_auc", "band 3", a group) and
            # the finding's own sentence with its figures.
            "findings": [{k: f[k] for k in ("status", "analysis", "subject", "message")} for f in document["findings"]],
            "performance_latest": _performance_summary(document),
            "targets_met": {"under_3_minutes": seconds < TARGET_SECONDS, "under_6_gb": peak < TARGET_BYTES},
        }
        result["load_average_1m_after"] = os.getloadavg()[0]
    if args.seeds:
        from monitoring.policy import load_policy
        from monitoring.shift_check import rates, run_trials

        started = time.perf_counter()
        trials = run_trials(list(range(1, args.seeds + 1)), people=2000, reference_seed=100,
                            policy=load_policy().drift, every_months=3)
        result["detection"] = {**rates(trials), "seconds": round(time.perf_counter() - started, 1),
                               "people": 2000, "every_months": 3}
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
