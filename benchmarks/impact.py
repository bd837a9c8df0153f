"""Benchmark: bias, interval coverage and run time of `svrisk impact`'s estimators; prints JSON.

For each seed: a synthetic extract of ``--people`` people (the calibrated referral rate),
selection on observed factors, the default effect (odds ratio 0.8); the evaluation
(``evaluation.impact.run_impact``, every referral programme) timed wall-clock; each
estimator's error against the truth (the average effect on the engaged kept after
trimming, from _truth's potential-outcome probabilities) and whether its 95% bootstrap
interval covers it.

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


def run(people: int, seeds: int, resamples: int, selection: str, odds_ratio: float) -> dict:
    from evaluation.config import Bootstrap, ImpactConfig
    from evaluation.estimators import ESTIMATORS
    from evaluation.impact import run_impact
    from extract.loader import extract_from_frames
    from extract.synthetic.generator import generate
    from extract.synthetic.interventions import InterventionParameters

    rows = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        synthetic = generate(
            people, seed, "2018-04-01", "2025-03-31",
            interventions=InterventionParameters(selection=selection, effect_odds_ratio=odds_ratio),
        )
        extract = extract_from_frames(synthetic.frames, extracted_on=synthetic.extracted_on)
        t1 = time.perf_counter()
        config = ImpactConfig(version=1, bootstrap=Bootstrap(resamples=resamples, seed=seed))
        result = run_impact(extract, config)
        t2 = time.perf_counter()
        truth_frame = synthetic.interventions.rename(columns={"referred_on": "as_of"})
        kept = result.kept_keys.merge(truth_frame, on=["person_id", "as_of"], validate="one_to_one")
        engaged = kept[kept["engaged_x"] == 1]
        truth = float((engaged["recorded_probability_engaged"] - engaged["recorded_probability_not_engaged"]).mean())
        rows.append(
            {
                "seed": seed,
                "generate_seconds": round(t1 - t0, 1),
                "evaluate_seconds": round(t2 - t1, 1),
                "referrals": result.population["referrals"],
                "engaged": result.population["engaged_after_trimming"],
                "true_effect": truth,
                "estimates": result.estimates,
                "fragile": result.sensitivity["fragile"],
            }
        )
        print(json.dumps(rows[-1]), flush=True, file=sys.stderr)
    summary = {}
    for name in ESTIMATORS:
        errors = np.array([r["estimates"][name]["estimate"] - r["true_effect"] for r in rows])
        covered = [r["estimates"][name]["low"] <= r["true_effect"] <= r["estimates"][name]["high"] for r in rows]
        widths = [r["estimates"][name]["high"] - r["estimates"][name]["low"] for r in rows]
        summary[name] = {
            "mean_bias": float(errors.mean()),
            "rmse": float(np.sqrt((errors**2).mean())),
            "coverage": float(np.mean(covered)),
            "mean_interval_width": float(np.mean(widths)),
        }
    return {
        "people": people,
        "seeds": seeds,
        "bootstrap_resamples": resamples,
        "selection": selection,
        "odds_ratio": odds_ratio,
        "mean_true_effect": float(np.mean([r["true_effect"] for r in rows])),
        "max_evaluate_seconds": max(r["evaluate_seconds"] for r in rows),
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
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args.people, args.seeds, args.resamples, args.selection, args.odds_ratio)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
