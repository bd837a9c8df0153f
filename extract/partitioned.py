"""An extract partitioned by person, for a cluster: one contract extract per partition.

Layout (Parquet only)::

    extract/
      partitions.json        {"partitions": N, "key": "person_id", "hash": ...}
      manifest.json          extracted_on, as in any extract
      part-00000/            a complete contract extract: every table, manifest.json
      ...
      part-<N-1>/

Every row of a person, in every table, is in the partition
``person_partition(person_id, N)``: a fixed hash of the id, so a partition
holds whole people and its features, scores and audit counts need no other
partition. Each partition folder is an extract :func:`extract.loader.load_extract`
reads on its own (:func:`extract.loader.load_partition` also checks that each of its people
belongs there); ``load_extract`` on the root reads the whole.

:class:`PartitionedExtractWriter` appends frames chunk by chunk (one Parquet
row group per chunk and partition), so a population larger than memory is
written a chunk at a time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from extract.contract import CONTRACT_VERSION, MANIFEST_FILE, TABLES, UNKNOWN_TABLE
from extract.output_folder import refuse_non_empty_folder

PARTITIONS_FILE = "partitions.json"
PARTITION_FOLDER = "part-{index:05d}"
PARTITION_KEY = "person_id"
# pandas' SipHash of the id text with its fixed default key: the same id gives the same
# partition in every process and on every machine (Python's own hash() is salted per process).
HASH_NAME = "pandas.util.hash_array(person_id) mod partitions"

BAD_PARTITIONS = "partitions must be a whole number from 1 to {most}, got {value!r}"
MAX_PARTITIONS = 100_000
NOT_PARTITIONED = "{path} is not a partitioned extract (no {file})"
BAD_LAYOUT = "{path}: {file} must be a JSON object with a whole number of partitions: {reason}"
MISSING_PARTITION = "{path}: partition folder {folder} is missing"
WRITER_CLOSED = "the partitioned writer is closed"


def check_partition_count(partitions: object) -> int:
    """``partitions`` as an int, or a ValueError naming the allowed range."""
    if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or not (
        1 <= partitions <= MAX_PARTITIONS
    ):
        raise ValueError(BAD_PARTITIONS.format(most=MAX_PARTITIONS, value=partitions))
    return int(partitions)


def person_partition(person_ids: np.ndarray | pd.Series, partitions: int) -> np.ndarray:
    """The partition of each person id (int64 in ``[0, partitions)``)."""
    values = np.asarray(person_ids, dtype=object)
    hashes = pd.util.hash_array(values, categorize=True)
    return (hashes % np.uint64(check_partition_count(partitions))).astype(np.int64)


def is_partitioned(path: str | Path) -> bool:
    """Whether ``path`` is the root of a partitioned extract."""
    return (Path(path) / PARTITIONS_FILE).is_file()


def partition_count(path: str | Path) -> int:
    """The number of partitions recorded in ``path``'s ``partitions.json``."""
    root = Path(path)
    layout = root / PARTITIONS_FILE
    if not layout.is_file():
        raise ValueError(NOT_PARTITIONED.format(path=root, file=PARTITIONS_FILE))
    try:
        content = json.loads(layout.read_text(encoding="utf-8"))
        return check_partition_count(content["partitions"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(BAD_LAYOUT.format(path=root, file=PARTITIONS_FILE, reason=err)) from None


def partition_folders(path: str | Path) -> list[Path]:
    """The partition folders of ``path``, in partition order (each must exist)."""
    root = Path(path)
    folders = [root / PARTITION_FOLDER.format(index=i) for i in range(partition_count(root))]
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(MISSING_PARTITION.format(path=root, folder=folder.name))
    return folders


class PartitionedExtractWriter:
    """Write contract frames into a partitioned extract, one chunk of people at a time.

    Parameters
    ----------
    out_dir : str or Path
        New or empty folder.
    partitions : int
        Number of partition folders.
    extracted_on : date-like
        Written to every ``manifest.json``.

    Use as a context manager; :meth:`write` may be called any number of times
    with disjoint sets of people (a person's rows all in one call).
    """

    def __init__(self, out_dir: str | Path, partitions: int, extracted_on: str | pd.Timestamp) -> None:
        self.out_dir = out_dir
        self.partitions = partitions
        self.extracted_on = extracted_on

    def __enter__(self) -> PartitionedExtractWriter:
        root = refuse_non_empty_folder(self.out_dir)
        self.partitions_ = check_partition_count(self.partitions)
        self.root_ = root
        self.schemas_: dict = {}
        self.writers_: dict = {}
        self.rows_ = np.zeros(self.partitions_, dtype=np.int64)
        self.open_ = True
        return self

    def write(self, frames: Mapping[str, pd.DataFrame]) -> None:
        """Append the contract tables of one chunk of people to their partitions."""
        import pyarrow.parquet as pq

        from extract.writer import contract_arrow_table

        if not getattr(self, "open_", False):
            raise ValueError(WRITER_CLOSED)
        unknown = [name for name in frames if name not in TABLES]
        if unknown:
            raise ValueError(UNKNOWN_TABLE.format(table=unknown[0], allowed=", ".join(TABLES)))
        for name in TABLES:  # contract order: same frames, same bytes
            if name not in frames:
                continue
            table = contract_arrow_table(name, frames[name])
            schema = self.schemas_.setdefault(name, table.schema)
            table = table.cast(schema)
            part = person_partition(frames[name]["person_id"], self.partitions_)
            if name == "people":
                self.rows_ += np.bincount(part, minlength=self.partitions_)
            order = np.argsort(part, kind="stable")
            bounds = np.searchsorted(part[order], np.arange(self.partitions_ + 1))
            for index in range(self.partitions_):
                rows = order[bounds[index]:bounds[index + 1]]
                if not len(rows):
                    continue
                key = (index, name)
                if key not in self.writers_:
                    path = self._folder(index) / f"{name}.parquet"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self.writers_[key] = pq.ParquetWriter(path, schema, compression="zstd", write_statistics=True)
                self.writers_[key].write_table(table.take(rows))

    def __exit__(self, kind, value, traceback) -> None:
        import pyarrow.parquet as pq

        for writer in self.writers_.values():
            writer.close()
        self.open_ = False
        if kind is not None:
            return
        day = pd.Timestamp(self.extracted_on).strftime("%Y-%m-%d")
        manifest = json.dumps({"extracted_on": day}) + "\n"
        for index in range(self.partitions_):
            folder = self._folder(index)
            folder.mkdir(parents=True, exist_ok=True)
            # A partition without rows of a table still has the table, empty: every
            # partition is a complete extract.
            for name, schema in self.schemas_.items():
                if (index, name) not in self.writers_:
                    pq.write_table(schema.empty_table(), folder / f"{name}.parquet", compression="zstd")
            (folder / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
        (self.root_ / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
        layout = {
            "partitions": self.partitions_,
            "key": PARTITION_KEY,
            "hash": HASH_NAME,
            "contract_version": CONTRACT_VERSION,
            "people_per_partition": self.rows_.tolist(),
        }
        (self.root_ / PARTITIONS_FILE).write_text(json.dumps(layout, indent=2) + "\n", encoding="utf-8")

    def _folder(self, index: int) -> Path:
        return self.root_ / PARTITION_FOLDER.format(index=index)
