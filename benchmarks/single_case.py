"""Benchmark: one case through validation and features, as the service scores it; prints JSON.

Generates a small synthetic extract, turns a few hundred snapshot-cohort rows into
:data:`features.single_case.SingleCase` objects and times, per case,
``case_to_extract`` (validation and canonical dtypes) and
``FeatureBuilder().transform`` on the one-row result, then ``cases_to_extract``
on all the cases at once (a batch of requests). Medians and 95th percentiles in
milliseconds. Usage: ``python -m benchmarks.single_case --people 300 --cases 300`` (as a module:
``benchmarks/features.py`` would shadow the ``features`` package if run as a script).

Measured 2026-11-27 on the 2-core machine, 300 people, 232 cases of ~23 records each
(medians, ms). Loaded machine (load average 3-4), first single-case work:
``case_to_extract`` 175 -> 40, features 21.9 -> 18.4. Quiet machine, after the loader
kept columns as arrays (no DataFrame per table) and the feature builder read them
(``Extract.columns``): ``case_to_extract`` 15.1 -> 2.4 (p95 3.8), features 7.6 -> 2.6
(p95 4.0); all 232 cases at once: validation 0.017 s, features 0.004 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time

import numpy as np
import pandas as pd

from extract.loader import extract_from_frames
from extract.synthetic.generator import generate
from features.cohort import snapshot_cohort
from features.pipeline import FeatureBuilder
from features.single_case import case_to_extract, cases_from_extract, cases_to_extract

WARM_UP = 5


def _summary(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"median_ms": round(float(np.median(ms)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    synthetic = generate(args.people, args.seed, "2018-04-01", "2025-03-31")
    extract = extract_from_frames(synthetic.frames, extracted_on=synthetic.extracted_on)
    cohort = snapshot_cohort(extract, [pd.Timestamp("2023-04-01"), pd.Timestamp("2024-04-01")])
    cohort = cohort.drop_duplicates("person_id").head(args.cases).reset_index(drop=True)
    cases = cases_from_extract(extract, cohort)
    today = dt.date(2025, 4, 1)
    builder = FeatureBuilder()
    for case in cases[:WARM_UP]:
        builder.transform(*case_to_extract(case, today=today))
    validate, features = [], []
    for case in cases:
        t0 = time.perf_counter()
        one, one_cohort = case_to_extract(case, today=today)
        t1 = time.perf_counter()
        builder.transform(one, one_cohort)
        t2 = time.perf_counter()
        validate.append(t1 - t0)
        features.append(t2 - t1)
    t0 = time.perf_counter()
    batch, batch_cohort = cases_to_extract(cases, today=today)
    t1 = time.perf_counter()
    builder.transform(batch, batch_cohort)
    t2 = time.perf_counter()
    records = sum(len(t) for t in batch.tables.values())
    print(json.dumps({
        "cases": len(cases),
        "records_per_case": round(records / len(cases), 1),
        "case_to_extract": _summary(validate),
        "features_one_case": _summary(features),
        "batch_cases_to_extract_seconds": round(t1 - t0, 3),
        "batch_features_seconds": round(t2 - t1, 3),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }))


if __name__ == "__main__":
    main()
