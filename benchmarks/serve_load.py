"""Benchmark: the scoring service under sustained mixed load (issue 19's load test).

Issue 19 names it benchmarks/load.py; that name is the extract loader's benchmark
already, so this one is benchmarks/serve_load.py.

Starts ``bentoml serve`` (serving.client.ServerProcess) with ``--workers`` worker
processes on 127.0.0.1 against the registry's champion (MLFLOW_TRACKING_URI, else
the embedded store under SVRISK_HOME / the current folder) and its own SQLite
audit trail, then runs ``--clients`` concurrent clients (plain asyncio + httpx) for
``--duration`` seconds, each looping over a mix of

- ``POST /score`` as a practitioner, then ``POST /reviews`` of that audit_id
  (the same practitioner, once per scoring);
- ``POST /score_batch`` of ``--batch-size`` cases as a data scientist;
- ``GET /reviews`` (the latest 50) as the ethics panel.

It reports errors (every answer that is not the endpoint's success status, and
every transport error), lost audit rows (rows in the trail against the cases
answered 200, and reviews against the 201s), p50/p99 per endpoint, and each
worker's resident memory sampled every ``--sample-every`` seconds, with its
growth from the end of ``--warmup`` to the end (target under 10%), and any worker
that exited and was started again during the run. ``--ramp`` starts the clients
evenly over that many seconds instead of all at once. Prints JSON.

    .venv/bin/python -m benchmarks.serve_load --extract demo/extract --duration 300 --out benchmarks/results/serve_load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

# benchmarks/features.py would shadow the `features` package: drop this script's folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

TARGETS = {"errors": 0, "lost_audit_rows": 0, "memory_growth_after_warmup": 0.10}
# Share of each client's iterations per endpoint (a /score is always followed by its review).
MIX = {"score_and_review": 0.6, "score_batch": 0.15, "list_reviews": 0.25}
SUCCESS = {"/score": 200, "/score_batch": 200, "POST /reviews": 201, "GET /reviews": 200}


def worker_processes(server_pid: int) -> list:
    """The service's worker processes (BentoML's ``_bentoml_impl.worker`` children)."""
    import psutil

    found = []
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            if "_bentoml_impl.worker" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


class Load:
    """The clients' shared record: latencies, errors, counts of what was answered."""

    def __init__(self) -> None:
        self.latency_ms: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.cases_scored = 0
        self.reviews_recorded = 0

    async def call(self, client, name: str, method: str, path: str, **kwargs):
        start = time.perf_counter()
        try:
            response = await client.request(method, path, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every transport failure is an error to count
            self.errors[name][type(exc).__name__] += 1
            return None
        self.latency_ms[name].append(1000 * (time.perf_counter() - start))
        if response.status_code != SUCCESS[name]:
            self.errors[name][f"{response.status_code} {refusal(response)}"] += 1
            return None
        return response.json()


def refusal(response) -> str:
    """The service's error text (a fixed message, never record values), to tell causes apart."""
    try:
        return str(response.json().get("error", ""))[:100]
    except (ValueError, AttributeError):
        return response.text[:100]


async def client_loop(load: Load, url: str, keys: dict[str, str], cases: list[dict],
                      batch_size: int, stop_at: float, seed: int, start_after: float = 0.0) -> None:  # fmt: skip
    import httpx

    rng = random.Random(seed)
    # Clients arriving over time, as practitioners do: a burst of 50 connections at once
    # can leave a worker with none of them (the kernel hands them to whichever accepts).
    await asyncio.sleep(start_after)
    names, weights = list(MIX), list(MIX.values())
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        while time.monotonic() < stop_at:
            kind = rng.choices(names, weights)[0]
            if kind == "score_and_review":
                scored = await load.call(client, "/score", "POST", "/score", json=rng.choice(cases),
                                         headers={"X-API-Key": keys["practitioner"]})  # fmt: skip
                if scored is None:
                    continue
                load.cases_scored += 1
                review = {"audit_id": scored["audit_id"], "decision": "agree",
                          "reason": "consistent with what I know of the case"}  # fmt: skip
                if await load.call(client, "POST /reviews", "POST", "/reviews", json=review,
                                   headers={"X-API-Key": keys["practitioner"]}) is not None:  # fmt: skip
                    load.reviews_recorded += 1
            elif kind == "score_batch":
                start = rng.randrange(max(1, len(cases) - batch_size))
                batch = {"cases": cases[start : start + batch_size]}
                scored = await load.call(client, "/score_batch", "POST", "/score_batch", json=batch,
                                         headers={"X-API-Key": keys["data_scientist"]})  # fmt: skip
                if scored is not None:
                    load.cases_scored += len(scored["results"])
            else:
                await load.call(client, "GET /reviews", "GET", "/reviews", params={"limit": 50},
                                headers={"X-API-Key": keys["ethics_panel"]})  # fmt: skip


async def sample_memory(server_pid: int, every: float, stop_at: float, started: float) -> dict:
    """Each worker's resident memory (MB) over time, keyed by worker pid."""
    import psutil

    samples: dict[int, list[tuple[float, float]]] = defaultdict(list)
    while True:
        for process in worker_processes(server_pid):
            try:
                samples[process.pid].append((time.monotonic() - started, process.memory_info().rss / 2**20))
            except psutil.NoSuchProcess:
                continue
        if time.monotonic() >= stop_at:
            return samples
        await asyncio.sleep(every)


def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0}
    arr = np.asarray(ms)
    return {"n": int(arr.size), "p50_ms": float(np.percentile(arr, 50)),
            "p99_ms": float(np.percentile(arr, 99)), "max_ms": float(arr.max())}  # fmt: skip


def memory_summary(samples: dict[int, list[tuple[float, float]]], warmup: float, end: float,
                   every: float) -> dict:  # fmt: skip
    """Each worker's memory; growth is judged on the workers that ran from warm-up to the end.

    A worker that exited during the run (and the one started in its place) is reported
    with ``"restarted": true`` and left out of the growth check: it says nothing about a
    leak, but a restart under load is a finding of its own.
    """
    workers = {}
    for pid, series in samples.items():
        whole_run = series[0][0] <= warmup and series[-1][0] >= end - 2 * every
        after = [mb for t, mb in series if t >= warmup] or [series[-1][1]]
        workers[str(pid)] = {
            "restarted": not whole_run,
            "start_mb": round(series[0][1], 1),
            "after_warmup_mb": round(after[0], 1),
            "end_mb": round(series[-1][1], 1),
            "growth_after_warmup": round((after[-1] - after[0]) / after[0], 4) if whole_run else None,
            "series": [(round(t, 1), round(mb, 1)) for t, mb in series],
        }
    return workers


def count_rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                for table in ("score_audit", "reviews")}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=Path, help="Extract folder for real cases.")
    parser.add_argument("--as-of", default="2024-04-01", help="Snapshot date for the cases.")
    parser.add_argument("--cases", type=int, default=500, help="Distinct cases to draw from.")
    parser.add_argument("--workers", type=int, default=4, help="Server worker processes.")
    parser.add_argument("--clients", type=int, default=50, help="Concurrent clients.")
    parser.add_argument("--duration", type=float, default=300, help="Seconds of load.")
    parser.add_argument("--warmup", type=float, default=30, help="Seconds before memory is compared.")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="Seconds over which the clients start, evenly (0: all at once).")
    parser.add_argument("--batch-size", type=int, default=20, help="Cases per /score_batch call.")
    parser.add_argument("--sample-every", type=float, default=5, help="Seconds between memory samples.")
    parser.add_argument("--out", type=Path, help="Write the JSON result here too.")
    args = parser.parse_args()

    from benchmarks.serve import load_cases
    from registry.tracking import resolve_tracking_uri
    from serving.api_keys import hash_key, new_key
    from serving.client import ServerProcess
    from serving.model_loader import load_served_model
    from serving.settings import ServingSettings

    uri = resolve_tracking_uri()
    env = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": os.environ.get("MLFLOW_REGISTRY_URI", uri)}
    os.environ.update(env)
    served = load_served_model(ServingSettings.from_env())
    cases = load_cases(args.extract, args.as_of, args.cases, served.example_case)
    del served

    roles = ("practitioner", "data_scientist", "ethics_panel")
    keys = {role: new_key() for role in roles}
    tmp = Path(tempfile.mkdtemp(prefix="svrisk-serve-load-"))
    audit_db = tmp / "audit.db"
    server_env = {
        **env,
        "SVRISK_AUDIT_DB": f"sqlite:///{audit_db}",
        "SVRISK_API_KEYS": json.dumps(
            [{"name": f"load-{role}", "role": role, "sha256": hash_key(key)} for role, key in keys.items()]
        ),
        "SVRISK_RATE_LIMIT_DB": str(tmp / "rates.db"),
        # The load is the point: rate limits far above it (their cost, one counter write a
        # request, stays in), and room for every client in one worker.
        "SVRISK_RATE_LIMIT_REQUESTS": "10000000",
        "SVRISK_RATE_LIMIT_CASES": "10000000",
        "SVRISK_MAX_CONCURRENT": str(max(32, args.clients)),
    }
    result: dict = {
        "benchmark": "serve_load", "workers": args.workers, "clients": args.clients,
        "duration_s": args.duration, "warmup_s": args.warmup, "ramp_s": args.ramp, "batch_size": args.batch_size,
        "mix": MIX, "cases": len(cases), "cpus": os.cpu_count(), "platform": platform.platform(),
        "load_average_start": os.getloadavg(), "targets": TARGETS,
    }  # fmt: skip
    load = Load()
    with ServerProcess(server_env, workers=args.workers, log_path=tmp / "bentoml.log",
                       ready_timeout=300) as server:  # fmt: skip

        async def run() -> dict:
            started = time.monotonic()
            stop_at = started + args.duration
            memory = asyncio.create_task(
                sample_memory(server.process_.pid, args.sample_every, stop_at, started)
            )
            await asyncio.gather(*[
                client_loop(load, server.url, keys, cases, args.batch_size, stop_at, seed,
                            args.ramp * seed / args.clients)
                for seed in range(args.clients)
            ])  # fmt: skip
            return await memory

        samples = asyncio.run(run())
        result["load_average_end"] = os.getloadavg()
    rows = count_rows(audit_db)
    result["endpoints"] = {name: {**percentiles(load.latency_ms.get(name, [])),
                                  "errors": dict(load.errors.get(name, {}))}
                           for name in SUCCESS}  # fmt: skip
    result["errors"] = sum(sum(e.values()) for e in load.errors.values())
    result["answered"] = {"cases_scored_200": load.cases_scored, "reviews_201": load.reviews_recorded}
    result["audit_rows"] = rows
    # Lost: answered with a score or a review the trail does not hold (a row without an
    # answer, e.g. a client's transport error after the commit, is counted the other way).
    result["lost_audit_rows"] = max(0, load.cases_scored - rows["score_audit"]) + max(
        0, load.reviews_recorded - rows["reviews"]
    )
    result["memory_per_worker"] = memory_summary(samples, args.warmup, args.duration, args.sample_every)
    result["worker_restarts"] = sum(w["restarted"] for w in result["memory_per_worker"].values())
    growth = max((w["growth_after_warmup"] for w in result["memory_per_worker"].values()
                  if w["growth_after_warmup"] is not None), default=None)  # fmt: skip
    result["meets"] = {
        "errors": result["errors"] == TARGETS["errors"],
        "lost_audit_rows": result["lost_audit_rows"] == TARGETS["lost_audit_rows"],
        "memory_growth_after_warmup": growth is not None and growth < TARGETS["memory_growth_after_warmup"],
        "no_worker_restarts": result["worker_restarts"] == 0,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
