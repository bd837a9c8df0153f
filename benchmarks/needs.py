"""Benchmark `svrisk needs`: the whole needs report on a 1,000,000-person extract.

Generates the extract once in a child process (timed separately, and outside the
report's memory), then times loading, building and writing the report in this
process. Prints one JSON object. Target: the report under 120 s and 8 GB.

With ``--scores`` the who and cost sections score the snapshot with the registered
model (champion, else candidate) of the current MLflow store; without, they are left
out and the JSON says so.

Usage: .venv/bin/python -m benchmarks.needs [--people N] [--extract DIR] [--scores] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _generate(out: Path, people: int, seed: int, fmt: str) -> float:
    began = time.perf_counter()
    code = (
        "from extract.synthetic.extract_writer import write_synthetic_extract as w; "
        f"w({str(out)!r}, {people}, {seed}, '2018-04-01', '2025-03-31', fmt={fmt!r})"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    parser.add_argument("--extract", type=Path, default=None, help="use this extract instead of generating one")
    parser.add_argument("--scores", action="store_true", help="score with the registered model (who and cost)")
    parser.add_argument("--keep", type=Path, default=None, help="write the report here and keep it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="svrisk-needs-bench-"))
    try:
        generate_seconds = None
        extract_dir = args.extract
        if extract_dir is None:
            extract_dir = tmp / "extract"
            generate_seconds = round(_generate(extract_dir, args.people, args.seed, args.format), 1)
        import pandas as pd

        from extract.loader import load_extract
        from insights.capacity import who_and_cost
        from insights.config import NeedsConfig
        from extract.episodes import episodes
        from insights.episodes import in_window
        from insights.report import build_needs, write_needs

        out = args.keep if args.keep is not None else tmp / "needs"
        config = NeedsConfig.from_yaml()
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        extract = load_extract(extract_dir)
        loaded = time.perf_counter() - began
        as_of = pd.Timestamp(extract.extracted_on)
        who, scored = "who and cost: left out (benchmark run without --scores)", None
        if args.scores:
            start = time.perf_counter()
            window = in_window(episodes(extract.tables), as_of - pd.DateOffset(months=config.where.lookback_months), as_of)
            who = who_and_cost(extract, as_of, config, window)
            scored = round(time.perf_counter() - start, 1)
        result = build_needs(extract.tables, extract.extracted_on, config, as_of, who=who)
        written = write_needs(result, out)
        seconds = time.perf_counter() - began
        report = {
            "people": len(extract.tables["people"]),
            "generate_seconds": generate_seconds,
            "report_seconds": round(seconds, 1),
            "load_seconds": round(loaded, 1),
            "who_and_cost_seconds": scored,
            "cpu_seconds": round(_cpu_seconds() - cpu_began, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "files_written": len(written),
            "episodes": int(len(episodes(extract.tables))),
            "areas": result.where.concentration.get("areas"),
            "peak_months": {s.name: s.peak_months for s in result.when if s.peak_months},
            "missing": result.missing,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
