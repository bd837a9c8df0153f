"""Benchmark `svrisk generate`: 1,000,000 people over 7 years written as CSV.

Prints one JSON object: people, seconds (generate + write, wall clock), peak RSS in
MB, rows per table and bytes on disk. Target: under 180 s and 8 GB on 2 cores.

Usage: .venv/bin/python benchmarks/generate.py [--people N] [--format csv|parquet] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from extract.synthetic.extract_writer import write_synthetic_extract


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    args = parser.parse_args()
    out = args.keep if args.keep is not None else Path(tempfile.mkdtemp(prefix="svrisk-bench-")) / "extract"
    try:
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        written = write_synthetic_extract(
            out, args.people, args.seed, "2018-04-01", "2025-03-31", fmt=args.format
        )
        seconds = time.perf_counter() - began
        rows = {}
        for path in written:
            if path.suffix == ".csv":
                with path.open("rb") as handle:
                    rows[path.stem] = sum(1 for _ in handle) - 1
        report = {
            "people": args.people,
            "years": 7,
            "format": args.format,
            "seconds": round(seconds, 1),
            # CPU time shows how much of the wall clock was other processes on a shared machine.
            "cpu_seconds": round(_cpu_seconds() - cpu_began, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rows": rows,
            "bytes": sum(path.stat().st_size for path in written),
        }
    finally:
        if args.keep is None:
            shutil.rmtree(out.parent, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
