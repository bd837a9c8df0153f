"""Beyond one machine: a person-partitioned extract through features and scoring on a Dask LocalCluster.

Steps (each timed, the JSON rewritten after each so a stopped run keeps what it measured):

1. a small model: a generated training extract, the default training configuration
   cut to one grid point (the scoring cost depends on the model's size, not its quality);
2. ``--people`` people generated in chunks into a partitioned Parquet extract
   (``svrisk generate --partitions``);
3. on a LocalCluster of ``--workers`` process workers limited to ``--worker-memory``
   each: ``svrisk features --engine dask`` and ``svrisk score --engine dask`` on one
   snapshot, with every worker's memory sampled each second and the workers checked
   to be the same ones at the end (none killed and replaced);
4. with ``--single-machine``, the same extract on the single-machine path (loaded
   whole, ``feature_frame`` and ``score_extract`` in this process), for the throughput
   comparison.

Run: .venv/bin/python -m benchmarks.scale --people 1000000 --single-machine --out benchmarks/results/scale_1m.json
     .venv/bin/python -m benchmarks.scale --people 5000000 --out benchmarks/results/scale_5m.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from pathlib import Path

START, END = "2018-04-01", "2025-03-31"


class MemorySampler:
    """Samples every cluster worker's and this process's resident memory each ``every`` seconds."""

    def __init__(self, client, every: float = 1.0) -> None:
        self.client = client
        self.every = every
        self.peak_worker_bytes: dict[str, int] = {}
        self.peak_client_bytes = 0

    def __enter__(self) -> MemorySampler:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            self.peak_client_bytes = max(self.peak_client_bytes, me.memory_info().rss)
            if self.client is not None:
                for worker, rss in self.client.run(_rss).items():
                    self.peak_worker_bytes[worker] = max(self.peak_worker_bytes.get(worker, 0), rss)
            self._stop.wait(self.every)


def _warm_up() -> None:
    import explanations.scoring  # noqa: F401 - imported for its import time only
    import extract.partitioned  # noqa: F401
    import features.feature_file  # noqa: F401
    import lightgbm  # noqa: F401
    import runtime.risk_model  # noqa: F401


def _cpu_seconds() -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return times.user + times.system


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _gb(value: float) -> float:
    return round(value / 1e9, 2)


def _machine() -> dict:
    import psutil

    return {"cpus": os.cpu_count(), "memory_gb": _gb(psutil.virtual_memory().total),
            "load_average": os.getloadavg(), "python": platform.python_version()}


def small_model(people: int, seed: int, workdir: Path):
    """A RiskModel trained with the default configuration cut to one grid point."""
    from extract.synthetic.extract_writer import write_synthetic_extract
    from training.config import load_config
    from training.datasets import dataset_from_extract
    from training.fitting import fit_dataset

    folder = workdir / "train"
    write_synthetic_extract(folder, people, seed + 1, START, END, "parquet")
    base = load_config()
    search = base.search.model_dump()
    search["grid"] = search["grid"][:1]
    config = load_config(None, search=search)
    return fit_dataset(dataset_from_extract(folder, config), config).risk_model


def on_cluster(args, extract: Path, risk, workdir: Path, report: dict, save) -> None:
    """Features and scores of the partitioned extract on a LocalCluster of process workers."""
    from cluster.client import dask_client
    from explanations.dask_scoring import scores_on_cluster
    from features.dask_features import features_on_cluster
    from features.pipeline import FeatureConfig

    with dask_client(workers=args.workers, threads_per_worker=1, memory_limit=args.worker_memory,
                     processes=True) as client:
        workers_before = sorted(client.scheduler_info()["workers"])
        # Imports once per worker, outside the timings: a standing cluster has them done.
        started = time.perf_counter()
        client.run(_warm_up)
        result: dict = {"workers": args.workers, "threads_per_worker": 1, "memory_limit": args.worker_memory,
                        "warm_up_seconds": round(time.perf_counter() - started, 1)}
        report["cluster"] = result
        for step, run in (
            ("features", lambda: features_on_cluster(client, extract, [args.as_of], False, FeatureConfig(),
                                                     workdir / "features.parquet")),
            ("score", lambda: scores_on_cluster(client, risk, extract, workdir / "scores.parquet",
                                                as_of=[args.as_of], referrals=False, model_version="bench",
                                                explain=not args.no_explain)),
        ):
            cpu_before = client.run(_cpu_seconds)
            with MemorySampler(client) as memory:
                started = time.perf_counter()
                done = run()
                seconds = time.perf_counter() - started
            # CPU seconds do not depend on how busy the shared machine was; wall seconds do.
            cpu = sum(after - cpu_before.get(w, 0.0) for w, after in client.run(_cpu_seconds).items())
            workers_now = sorted(client.scheduler_info()["workers"])
            result[step] = {
                "seconds": round(seconds, 1), "rows": done["rows"],
                "rows_per_second": round(done["rows"] / seconds),
                "worker_cpu_seconds": round(cpu, 1), "rows_per_cpu_second": round(done["rows"] / cpu),
                "peak_worker_memory_gb": {w: _gb(b) for w, b in memory.peak_worker_bytes.items()},
                "peak_client_memory_gb": _gb(memory.peak_client_bytes),
                "same_workers_throughout": workers_now == workers_before,
                "load_average_after": os.getloadavg(),
            }
            save()
        result["no_worker_killed"] = all(result[s]["same_workers_throughout"] for s in ("features", "score"))


def single_machine(args, extract: Path, risk, report: dict, save) -> None:
    """The same extract loaded whole and run in this process (the single-machine path)."""
    import pandas as pd

    from explanations.scoring import score_extract, scoring_cohort
    from extract.loader import load_extract
    from features.feature_file import feature_frame
    from features.pipeline import FeatureConfig

    result: dict = {}
    report["single_machine"] = result
    cpu_started = _cpu_seconds()
    with MemorySampler(None) as memory:
        started = time.perf_counter()
        whole = load_extract(extract)
        result["load_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        frame, _ = feature_frame(whole, [pd.Timestamp(args.as_of)], False, FeatureConfig())
        seconds = time.perf_counter() - started
        # With the load, as each cluster task loads its own partition.
        with_load = seconds + result["load_seconds"]
        result["features"] = {"seconds": round(seconds, 1), "seconds_with_load": round(with_load, 1),
                              "rows": len(frame), "rows_per_second": round(len(frame) / with_load)}
        del frame
        started = time.perf_counter()
        cohort, _ = scoring_cohort(whole, [args.as_of], False)
        scores = score_extract(risk, whole, cohort, model_version="bench", explain=not args.no_explain)
        seconds = time.perf_counter() - started
        result["score"] = {"seconds": round(seconds, 1), "rows": len(scores),
                           "rows_per_second": round(len(scores) / seconds)}
    result["cpu_seconds_load_features_score"] = round(_cpu_seconds() - cpu_started, 1)
    result["peak_memory_gb"] = _gb(memory.peak_client_bytes)
    result["load_average_after"] = os.getloadavg()
    save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5_000_000, help="people in the partitioned extract")
    parser.add_argument("--partitions", type=int, default=50)
    parser.add_argument("--chunk-people", type=int, default=250_000, help="people generated at a time")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="4GB", help="each worker's memory limit")
    parser.add_argument("--as-of", default="2024-04-01", help="the snapshot scored")
    parser.add_argument("--train-people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--single-machine", action="store_true", help="also run the single-machine path")
    parser.add_argument("--no-explain", action="store_true", help="score without the SHAP explanations")
    parser.add_argument("--workdir", type=Path, help="where the extract and outputs go (default: a temporary folder)")
    parser.add_argument("--extract", type=Path, help="an existing partitioned extract to use instead of generating one")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()

    from extract.synthetic.partitioned import write_partitioned_synthetic_extract

    report: dict = {"machine": _machine(), "arguments": {k: str(v) for k, v in vars(args).items()}}

    def save() -> str:
        report["machine"]["load_average_now"] = os.getloadavg()
        text = json.dumps(report, indent=2, default=float)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text + "\n")
        return text

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="svrisk-bench-scale-"))
    try:
        started = time.perf_counter()
        risk = small_model(args.train_people, args.seed, workdir)
        report["model"] = {"train_people": args.train_people, "seconds": round(time.perf_counter() - started, 1),
                           "features": len(risk.feature_names)}
        save()
        extract = args.extract or workdir / "extract"
        with MemorySampler(None) as memory:
            started = time.perf_counter()
            if args.extract is None:
                write_partitioned_synthetic_extract(extract, args.people, args.seed, START, END, args.partitions,
                                                    chunk_people=args.chunk_people)
            seconds = time.perf_counter() - started
        size = sum(f.stat().st_size for f in extract.rglob("*.parquet"))
        report["generate"] = {"reused": str(args.extract) if args.extract else None,
                              "people": args.people, "partitions": args.partitions, "chunk_people": args.chunk_people,
                              "seconds": round(seconds, 1), "peak_memory_gb": _gb(memory.peak_client_bytes),
                              "parquet_gb": _gb(size), "load_average_after": os.getloadavg()}
        save()
        on_cluster(args, extract, risk, workdir, report, save)
        if args.single_machine:
            single_machine(args, extract, risk, report, save)
            cluster, single = report["cluster"], report["single_machine"]
            report["cluster_over_single_machine_throughput"] = {
                step: round(cluster[step]["rows_per_second"] / single[step]["rows_per_second"], 2)
                for step in ("features", "score")
            }
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(save())


if __name__ == "__main__":
    main()
