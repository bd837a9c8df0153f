"""Benchmark: the scoring service on loopback against the same pyfunc in process and `mlflow models serve`.

Starts `bentoml serve` (serving.client.ServerProcess) on the registry's champion
(MLFLOW_TRACKING_URI, else the embedded store under SVRISK_HOME / the current
folder), then measures

- single explained ``/score`` latency at concurrency 1 (p50, p99; targets 15 ms and 50 ms);
- explained cases per second through ``/score_batch`` (target >= 300);
- the per-case cost of both against ``pyfunc.predict`` called in process on the
  same cases (target: within 2x);
- the same batches through ``mlflow models serve --env-manager local`` (``/invocations``);
- with ``--database-url`` (an empty PostgreSQL database, say), the service's ``/score``
  and ``/score_batch`` again with its audit trail there, against the SQLite default.

Cases are real single cases from an extract (``--extract``, at ``--as-of``) or,
without one, the model's logged input example repeated. Writes JSON.

    .venv/bin/python benchmarks/serve.py --extract demo/extract --as-of 2024-04-01 --out benchmarks/serve.json

The champion's signed verdict is checked with SVRISK_VERIFY_KEY_FILE (after
`make demo`: ``demo/keys/svrisk-signing.pub``), as in the service.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

# benchmarks/features.py would shadow the `features` package: drop this script's folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

TARGETS = {"score_p50_ms": 15.0, "score_p99_ms": 50.0, "batch_cases_per_s": 300.0, "cost_ratio": 2.0}


def load_cases(extract: Path | None, as_of: str, n: int, example: dict) -> list[dict]:
    if extract is None:
        return [example] * n
    from extract.loader import load_extract
    from features.cohort import snapshot_cohort
    from features.single_case import cases_from_extract

    data = load_extract(extract)
    cohort = snapshot_cohort(data, [as_of]).head(n)
    return [json.loads(case.model_dump_json()) for case in cases_from_extract(data, cohort)]


def percentiles(ms: list[float]) -> dict[str, float]:
    arr = np.asarray(ms)
    return {"p50_ms": float(np.percentile(arr, 50)), "p99_ms": float(np.percentile(arr, 99)),
            "mean_ms": float(arr.mean()), "n": int(arr.size)}  # fmt: skip


def in_process(pyfunc, cases: list[dict], batch_size: int, single_n: int) -> dict[str, float]:
    import pandas as pd

    texts = [json.dumps(c) for c in cases]
    pyfunc.predict(pd.DataFrame({"case": texts[:2]}))  # warm-up
    single = []
    for text in texts[:single_n]:
        start = time.perf_counter()
        pyfunc.predict(pd.DataFrame({"case": [text]}))
        single.append(1000 * (time.perf_counter() - start))
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        pyfunc.predict(pd.DataFrame({"case": texts[i : i + batch_size]}))
    per_case_batch = 1000 * (time.perf_counter() - start) / len(texts)
    return {**percentiles(single), "batch_ms_per_case": per_case_batch}


def over_http(url: str, path_single: str, path_batch: str, headers: dict, cases: list[dict],
              batch_size: int, single_n: int, concurrency: int, wrap_single, wrap_batch) -> dict:  # fmt: skip
    import httpx

    with httpx.Client(timeout=120, headers=headers) as client:
        for case in cases[:3]:
            client.post(url + path_single, json=wrap_single(case)).raise_for_status()
        single = []
        for case in cases[:single_n]:
            start = time.perf_counter()
            client.post(url + path_single, json=wrap_single(case)).raise_for_status()
            single.append(1000 * (time.perf_counter() - start))
        batches = [cases[i : i + batch_size] for i in range(0, len(cases), batch_size)]

        def post(batch: list[dict]) -> None:
            client.post(url + path_batch, json=wrap_batch(batch)).raise_for_status()

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(post, batches))
        elapsed = time.perf_counter() - start
    return {**percentiles(single), "batch_cases_per_s": len(cases) / elapsed,
            "batch_ms_per_case": 1000 * elapsed / len(cases)}  # fmt: skip


def mlflow_serve(version: str, env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    process = subprocess.Popen(
        [mlflow, "models", "serve", "-m", f"models:/svrisk/{version}", "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(port), "-w", env.get("BENCH_WORKERS", "2")],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow models serve exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("mlflow models serve did not start within 300 s")


def mlflow_comparison(version: str, env: dict[str, str], cases: list[dict], args: argparse.Namespace,
                      single_n: int, tmp: Path) -> dict:  # fmt: skip
    """The same calls through ``mlflow models serve`` on the same version."""
    from serving.client import free_port

    port = free_port()
    # mlflow models serve runs `uvicorn` by name: it must be found on PATH in this environment.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    process = mlflow_serve(version,
                           {**os.environ, **env, "PATH": path, "BENCH_WORKERS": str(args.workers)},
                           port, tmp / "mlflow.log")  # fmt: skip

    def frame(batch: list[dict]) -> dict:
        return {"dataframe_split": {"columns": ["case"], "data": [[json.dumps(c)] for c in batch]}}

    try:
        return over_http(
            f"http://127.0.0.1:{port}", "/invocations", "/invocations", {}, cases, args.batch_size,
            single_n, args.workers, lambda c: frame([c]), frame,
        )  # fmt: skip
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=Path, help="Extract folder for real cases.")
    parser.add_argument("--as-of", default="2024-04-01", help="Snapshot date for the cases.")
    parser.add_argument("--cases", type=int, default=1000, help="Cases for the batch runs.")
    parser.add_argument("--single", type=int, default=300, help="Sequential /score calls.")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="Server workers (both servers).")
    parser.add_argument("--out", type=Path, help="Write the JSON result here too.")
    parser.add_argument("--database-url", help="Also run the service with its audit trail at this "
                        "SQLAlchemy URL (e.g. postgresql+psycopg://...), against SQLite.")
    parser.add_argument("--skip-mlflow", action="store_true", help="Leave out `mlflow models serve`.")
    args = parser.parse_args()

    from serving.api_keys import hash_key, new_key
    from serving.client import ServerProcess
    from serving.model_loader import load_served_model
    from serving.settings import ServingSettings
    from registry.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri()
    env = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": os.environ.get("MLFLOW_REGISTRY_URI", uri)}
    os.environ.update(env)
    served = load_served_model(ServingSettings.from_env())
    cases = load_cases(args.extract, args.as_of, args.cases, served.example_case)
    single_n = min(args.single, len(cases))
    result: dict = {
        "benchmark": "serve", "model_version": served.version, "cases": len(cases),
        "batch_size": args.batch_size, "workers": args.workers, "cpus": os.cpu_count(),
        "platform": platform.platform(), "load_average": os.getloadavg(), "targets": TARGETS,
    }  # fmt: skip
    result["in_process"] = in_process(served.pyfunc, cases, args.batch_size, single_n)

    key = new_key()
    tmp = Path(tempfile.mkdtemp(prefix="svrisk-bench-"))
    server_env = {
        **env,
        "SVRISK_AUDIT_DB": f"sqlite:///{tmp / 'audit.db'}",
        "SVRISK_API_KEYS": json.dumps([{"name": "bench", "role": "admin", "sha256": hash_key(key)}]),
        "SVRISK_MAX_BATCH": str(max(args.batch_size, 500)),
        "SVRISK_MAX_REQUEST_BYTES": str(64 * 1024 * 1024),
    }
    print(json.dumps({"in_process": result["in_process"]}), file=sys.stderr, flush=True)
    with ServerProcess(server_env, workers=args.workers, log_path=tmp / "bentoml.log") as server:
        result["service"] = over_http(
            server.url, "/score", "/score_batch", {"X-API-Key": key}, cases, args.batch_size,
            single_n, args.workers, lambda c: c, lambda b: {"cases": b},
        )  # fmt: skip

    print(json.dumps({"service": result["service"]}), file=sys.stderr, flush=True)
    if args.database_url:
        with ServerProcess({**server_env, "SVRISK_AUDIT_DB": args.database_url}, workers=args.workers,
                           log_path=tmp / "bentoml-database-url.log") as server:  # fmt: skip
            result["service_database_url"] = over_http(
                server.url, "/score", "/score_batch", {"X-API-Key": key}, cases, args.batch_size,
                single_n, args.workers, lambda c: c, lambda b: {"cases": b},
            )  # fmt: skip
        result["database_url_dialect"] = args.database_url.split(":", 1)[0]
        result["database_url_vs_sqlite_p50"] = result["service_database_url"]["p50_ms"] / result["service"]["p50_ms"]
        print(json.dumps({"service_database_url": result["service_database_url"]}), file=sys.stderr, flush=True)
    if not args.skip_mlflow:
        result["mlflow_models_serve"] = mlflow_comparison(served.version, env, cases, args, single_n, tmp)

    service, local = result["service"], result["in_process"]
    result["cost_ratio_single"] = service["p50_ms"] / local["p50_ms"]
    result["cost_ratio_batch"] = service["batch_ms_per_case"] / local["batch_ms_per_case"]
    result["meets"] = {
        "score_p50_ms": service["p50_ms"] < TARGETS["score_p50_ms"],
        "score_p99_ms": service["p99_ms"] < TARGETS["score_p99_ms"],
        "batch_cases_per_s": service["batch_cases_per_s"] >= TARGETS["batch_cases_per_s"],
        "cost_ratio": max(result["cost_ratio_single"], result["cost_ratio_batch"]) <= TARGETS["cost_ratio"],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
