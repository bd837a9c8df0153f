"""One task per partition of a partitioned extract, run on the cluster, results in partition order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from extract.output_folder import refuse_non_empty_folder
from extract.partitioned import partition_folders

PART_FILE = "part-{index:05d}.parquet"


def map_partitions(client: Any, task: Callable[..., Any], extract_dir: str | Path, *args: Any, **kwargs: Any) -> list:
    """``task(extract_dir, index, *args, **kwargs)`` for every partition index, on the cluster.

    The task loads its own partition (``extract.loader.load_partition``), so
    only a path and an index travel to the workers; extra arguments are sent
    once each (scattered when large, such as a model). Returns the tasks' results
    in partition order.
    """
    root = Path(extract_dir).resolve()
    count = len(partition_folders(root))
    shared = [client.scatter(value, broadcast=True) if _large(value) else value for value in args]
    futures = [
        client.submit(task, str(root), index, *shared, pure=False, **kwargs)
        for index in range(count)
    ]
    return client.gather(futures)


def parts_folder(path: str | Path) -> Path:
    """``path`` made ready to receive part files: created, and refused when it already holds files."""
    out = refuse_non_empty_folder(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def part_path(folder: str | Path, index: int) -> Path:
    """The part file of partition ``index`` in a parts folder (read the whole with pandas.read_parquet)."""
    return Path(folder) / PART_FILE.format(index=index)


def _large(value: Any) -> bool:
    # Plain values travel inside the task; objects (a model, a policy) are sent once per worker.
    return not isinstance(value, (str, int, float, bool, type(None), Path, tuple, list, dict))
