"""Benchmark: the fairness audit of one model on 200,000 people with 1,000 bootstrap resamples.

Every audited attribute of the contract and the policy's two intersections,
at the policy's thresholds, exactly as ``svrisk publish`` runs it (without the
report). The target is under 60 seconds. Writes a JSON result.

    .venv/bin/python benchmarks/audit.py --rows 200000 --resamples 1000 --out benchmarks/audit.json

Measured 2026-11-27 on the shared 2-core machine (other helpers' jobs
running): the full audit (8 attributes and intersections, 79 groups, 3
thresholds, 1,000 resamples) took 46.5 s wall / 20.7 s CPU at load average
5.8, and 115 s wall / 24.1 s CPU at load average 9.3. Of the CPU, about 17 s
are the point estimates (Fairlearn's MetricFrame, which re-stacks the columns
per group in Python) and about 4 s the bootstrap (one weighted bincount per
attribute per replicate). On an idle core, wall time is the CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = 60.0


def synthetic_scores(rows: int, seed: int) -> pd.DataFrame:
    """Scores, labels and the contract's audit columns, with realistic group sizes."""
    rng = np.random.default_rng(seed)
    risk = rng.beta(0.6, 40, rows)
    imd = rng.integers(1, 11, rows).astype(float)
    imd[rng.random(rows) < 0.02] = np.nan
    return pd.DataFrame({
        "probability": risk,
        "label": (rng.random(rows) < risk).astype(int),
        "sex": rng.choice(["female", "male", "unknown"], rows, p=[0.49, 0.49, 0.02]),
        "ethnicity": rng.choice(["asian", "black", "mixed", "white", "other", "unknown"], rows,
                                p=[0.12, 0.06, 0.05, 0.71, 0.03, 0.03]),
        "age_band": rng.choice(["10-13", "14-15", "16-17", "18-20", "21-24"], rows, p=[0.27, 0.13, 0.13, 0.2, 0.27]),
        "sen": rng.choice(["none", "sen_support", "ehcp", "unknown"], rows, p=[0.79, 0.14, 0.05, 0.02]),
        "imd_decile": imd,
        "local_authority": rng.choice(["coventry", "wolverhampton"], rows),
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--resamples", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON result file (stdout as well)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fairness.audit import run_audit
    from fairness.policy import load_policy

    policy = load_policy()
    frame = synthetic_scores(args.rows, args.seed)
    point_started, point_cpu_started = time.perf_counter(), time.process_time()
    point = run_audit(frame, score_col="probability", label_col="label", group_cols=policy.groups.audited_names,
                      policy=policy, resamples=0)
    point_seconds, point_cpu = time.perf_counter() - point_started, time.process_time() - point_cpu_started
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_audit(frame, score_col="probability", label_col="label", group_cols=policy.groups.audited_names,
                       policy=policy, resamples=args.resamples)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    report = {
        "benchmark": "fairness audit",
        "rows": args.rows,
        "resamples": args.resamples,
        "attributes": policy.groups.audited_names,
        "thresholds": result.thresholds,
        "groups": int(result.rows.groupby("attribute")["group"].nunique().sum()),
        "audit_rows": len(result.rows),
        "checks": len(result.checks),
        "seconds_total": round(seconds, 2),
        "cpu_seconds_total": round(cpu_seconds, 2),
        "seconds_point_estimates_alone": round(point_seconds, 2),
        "cpu_seconds_point_estimates_alone": round(point_cpu, 2),
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds < TARGET_SECONDS,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_1min": round(os.getloadavg()[0], 2)},
        "points_match": bool(np.allclose(point.rows["fpr"], result.rows["fpr"], equal_nan=True)),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0 if report["within_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
