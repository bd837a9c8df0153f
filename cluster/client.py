"""A Dask client: to an existing scheduler, or to a LocalCluster on this machine.

``svrisk <stage> --engine dask`` without ``--scheduler`` starts a LocalCluster
and stops it when the command ends; with ``--scheduler tcp://host:8786`` it
connects to a running cluster (docs/scale.md) and leaves it running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

SCHEDULER_NEEDS_DASK = "--scheduler is only for --engine dask"
NO_WORKERS = "the Dask cluster at {address} has no workers"
FREE_PORT = "127.0.0.1:0"


class Engine(str, Enum):
    """Where a stage runs: in this process, or on a Dask cluster."""

    local = "local"
    dask = "dask"


def check_engine(engine: Engine, scheduler: str | None) -> None:
    """A ValueError when a scheduler address is given without the Dask engine."""
    if scheduler is not None and engine is not Engine.dask:
        raise ValueError(SCHEDULER_NEEDS_DASK)


@contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | float | None = "auto",
    processes: bool = True,
) -> Iterator[Any]:
    """A ``distributed.Client``; a LocalCluster of ``workers`` workers when ``scheduler`` is None.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``).
    workers, threads_per_worker, memory_limit, processes
        The LocalCluster's settings (ignored with a scheduler). One thread per
        worker by default: the feature and scoring code is numpy- and
        LightGBM-bound, and a worker's memory limit then bounds one partition.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            if not client.scheduler_info().get("workers"):
                raise ValueError(NO_WORKERS.format(address=scheduler))
            yield client
        return
    # The scheduler's HTTP server (metrics; the dashboard when bokeh is installed) on a free
    # port: the default 8787 may be taken by another cluster on the same machine.
    with LocalCluster(
        n_workers=workers, threads_per_worker=threads_per_worker, memory_limit=memory_limit,
        processes=processes, dashboard_address=FREE_PORT,
    ) as cluster, Client(cluster) as client:
        yield client
