"""Benchmark: write and load-and-validate a large contract extract; prints JSON.

Builds a valid extract of ``--people`` people (about 50 rows per person over
seven years, so 200,000 people give ~10M rows) with plain numpy, writes it
with ``extract.writer.write_extract`` and times ``extract.loader.load_extract``.
It does not need the synthetic generator: the records are valid but carry no
signal. Usage: ``python benchmarks/load.py --people 200000 --format csv``.

Measured 2026-11-27 on the shared 2-core machine with a 1-minute load average of
~11 (other work running), 200,000 people, 10,160,000 rows: CSV (388 MB) load and
validate 13.7 s of CPU (49 s wall under that contention), write 9.0 s CPU;
Parquet (29 MB) load 14.0 s CPU, write 6.7 s CPU; peak RSS about 1.5 GB. Rerun
on a quiet machine after the loader kept columns as arrays to the end (each
table's DataFrame is now built when first read): CSV load and validate 7.0 s
(7.1 s CPU), peak RSS 1.3 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from extract.contract import TABLES
from extract.loader import load_extract
from extract.writer import write_extract

START = pd.Timestamp("2018-04-01")
DAYS = 7 * 365


def build_frames(people: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """A valid extract with roughly 50 event rows per person."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"p{i:07d}" for i in range(people)], dtype=object)
    birth = pd.to_datetime(
        {"year": rng.integers(1996, 2014, people), "month": rng.integers(1, 13, people), "day": 1}
    )
    frames = {
        "people": pd.DataFrame({
            "person_id": ids,
            "birth_month": birth,
            "sex": rng.choice(TABLES["people"].column("sex").categories, people),
            "ethnicity": rng.choice(TABLES["people"].column("ethnicity").categories, people),
            "imd_decile": np.where(rng.random(people) < 0.05, np.nan,
                                   rng.integers(1, 11, people)),
            "sen": rng.choice(TABLES["people"].column("sen").categories, people),
            "local_authority": rng.choice(["coventry", "wolverhampton", "walsall"], people),
        })
    }

    def events(per_person: float) -> tuple[np.ndarray, pd.Series]:
        n = int(people * per_person)
        who = np.sort(rng.integers(0, people, n))
        when = START + pd.to_timedelta(rng.integers(0, DAYS, n), unit="D")
        return ids[who], pd.Series(when)

    def categorical_table(name: str, per_person: float) -> pd.DataFrame:
        pid, when = events(per_person)
        spec = TABLES[name]
        data = {"person_id": pid, spec.date_column: when}
        for col in spec.columns:
            if col.kind == "category":
                data[col.name] = rng.choice(col.categories, len(pid))
        return pd.DataFrame(data)

    for name, rate in (("adversity", 5.0), ("education_status", 3.0),
                       ("police_contacts", 10.0), ("health_events", 6.0), ("referrals", 0.3)):
        frames[name] = categorical_table(name, rate)
    pid, start = events(4.0)
    length = rng.integers(0, 400, len(pid))
    end = start + pd.to_timedelta(length, unit="D")
    frames["care_episodes"] = pd.DataFrame({
        "person_id": pid, "start_on": start,
        "end_on": end.where(end < START + pd.Timedelta(days=DAYS), pd.NaT),
        "episode": rng.choice(TABLES["care_episodes"].column("episode").categories, len(pid)),
    })
    terms = 21  # three terms a year for seven years
    pid = np.repeat(ids, terms)
    term_start = np.tile(
        pd.to_datetime([f"{2018 + t // 3}-{(9, 1, 4)[t % 3]:02d}-01" for t in range(terms)]),
        people,
    )
    # Contract 1.1: each term's last day (20 Dec, 25 Mar, 20 Jul), known from then.
    term_end = np.tile(
        pd.to_datetime([f"{2018 + t // 3}-{(12, 3, 7)[t % 3]:02d}-{(20, 25, 20)[t % 3]}" for t in range(terms)]),
        people,
    )
    possible = rng.integers(100, 150, len(pid))
    attended = possible - rng.integers(0, 40, len(pid))
    frames["attendance"] = pd.DataFrame({
        "person_id": pid, "term_start": term_start, "term_end": term_end, "sessions_possible": possible,
        "sessions_attended": attended,
        "unauthorised_absences": rng.integers(0, 1 + possible - attended),
    })
    frames["exclusions"] = categorical_table("exclusions", 0.5).assign(
        days=lambda f: np.where(f["exclusion"] == "suspension", rng.integers(1, 6, len(f)), np.nan)
    )
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args()
    frames = build_frames(args.people)
    rows = sum(len(f) for f in frames.values())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "extract"
        t0, c0 = time.perf_counter(), time.process_time()
        write_extract(frames, out, fmt=args.format, extracted_on="2025-04-01")
        t1, c1 = time.perf_counter(), time.process_time()
        del frames
        extract = load_extract(out)
        t2, c2 = time.perf_counter(), time.process_time()
        size = sum(p.stat().st_size for p in out.iterdir())
    print(json.dumps({
        "people": args.people,
        "rows": rows,
        "format": args.format,
        "bytes_on_disk": size,
        "write_seconds": round(t1 - t0, 2),
        "load_and_validate_seconds": round(t2 - t1, 2),
        # CPU seconds of all threads: comparable when other work shares the machine.
        "write_cpu_seconds": round(c1 - c0, 2),
        "load_and_validate_cpu_seconds": round(c2 - c1, 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "loaded_rows": sum(len(t) for t in extract.tables.values()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
