"""Benchmark: bias, interval coverage and run time of `svrisk impact`'s estimators; prints JSON.

For each seed: a synthetic extract of ``--people`` people (the calibrated referral rate),
selection on observed factors, the default effect (odds ratio 0.8); the evaluation
(``evaluation.impact.run_impact``, every referral programme) timed wall-clock; each
estimator's error against the truth (the average effect on the engaged kept after
trimming, from _truth's potential-outcome probabilities) and whether its 95% bootstrap
interval covers it.

Each seed records its wall and CPU seconds and the 1-minute load average (the machine is
shared: CPU seconds are what the evaluation costs). Seeds can run as parallel processes
(``--first-seed``) and be summarised together (``--merge``).

Usage: ``python -m benchmarks.impact --people 200000 --seeds 10 --out benchmarks/results/impact.json``
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


def run(people: int, seeds: int, resamples: int, selection: str, odds_ratio: float, first_seed: int = 0) -> dict:
    from evaluation.config import Bootstrap, ImpactConfig
    from evaluation.impact import run_impact
    from extract.loader import extract_from_frames
    from extract.synthetic.generator import generate
    from extract.synthetic.interventions import InterventionParameters, true_effect_on_treated

    rows = []
    for seed in range(first_seed, first_seed + seeds):
        t0 = time.perf_counter()
        synthetic = generate(
            people, seed, "2018-04-01", "2025-03-31",
            interventions=InterventionParameters(selection=selection, effect_odds_ratio=odds_ratio),
        )
        extract = extract_from_frames(synthetic.frames, extracted_on=synthetic.extracted_on)
        t1 = time.perf_counter()
        config = ImpactConfig(version=1, bootstrap=Bootstrap(resamples=resamples, seed=seed))
        cpu = time.process_time()
        result = run_impact(extract, config)
        t2 = time.perf_counter()
        # The machine is shared: CPU seconds are what the evaluation itself costs, wall is what it took.
        evaluate_cpu = time.process_time() - cpu
        truth = true_effect_on_treated(result.kept_keys, synthetic.interventions)
        rows.append(
            {
                "seed": seed,
                "generate_seconds": round(t1 - t0, 1),
                "evaluate_seconds": round(t2 - t1, 1),
                "evaluate_cpu_seconds": round(evaluate_cpu, 1),
                "load_average_1m": round(os.getloadavg()[0], 1),
                "referrals": result.population["rows"],
                "engaged": result.population["treated_after_trimming"],
                "true_effect": truth,
                "estimates": result.estimates,
                "fragile": result.sensitivity["fragile"],
            }
        )
        print(json.dumps(rows[-1]), flush=True, file=sys.stderr)
    return summarise(rows, people=people, bootstrap_resamples=resamples, selection=selection, odds_ratio=odds_ratio)


def summarise(rows: list[dict], **setting) -> dict:
    """Bias, RMSE, coverage and interval width per estimator over the seeds' rows, with the run times."""
    from evaluation.estimators import ESTIMATORS

    summary = {}
    for name in ESTIMATORS:
        errors = np.array([r["estimates"][name]["estimate"] - r["true_effect"] for r in rows])
        covered = [r["estimates"][name]["low"] <= r["true_effect"] <= r["estimates"][name]["high"] for r in rows]
        widths = [r["estimates"][name]["high"] - r["estimates"][name]["low"] for r in rows]
        summary[name] = {
            "mean_bias": float(errors.mean()),
            "rmse": float(np.sqrt((errors**2).mean())),
            "covered": int(np.sum(covered)),
            "coverage": float(np.mean(covered)),
            "mean_interval_width": float(np.mean(widths)),
        }
    return {
        **setting,
        "seeds": len(rows),
        "mean_true_effect": float(np.mean([r["true_effect"] for r in rows])),
        "max_evaluate_seconds": max(r["evaluate_seconds"] for r in rows),
        "max_evaluate_cpu_seconds": max(r["evaluate_cpu_seconds"] for r in rows),
        "aipw_covers_zero": int(sum(r["estimates"]["aipw"]["low"] <= 0.0 <= r["estimates"]["aipw"]["high"] for r in rows)),
        "summary": summary,
        "per_seed": rows,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--selection", default="observed")
    parser.add_argument("--odds-ratio", type=float, default=0.8)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--merge", type=Path, nargs="+", help="Summarise these runs' seeds together instead.")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.merge:
        # Seeds run as parallel processes on the shared machine, summarised as one run.
        parts = [json.loads(path.read_text(encoding="utf-8")) for path in args.merge]
        setting = {key: parts[0][key] for key in ("people", "bootstrap_resamples", "selection", "odds_ratio")}
        result = summarise([row for part in parts for row in part["per_seed"]], **setting)
    else:
        result = run(args.people, args.seeds, args.resamples, args.selection, args.odds_ratio, args.first_seed)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
