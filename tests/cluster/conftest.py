"""A small partitioned extract, generated in chunks once per session, and its single-machine load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

PEOPLE, PARTITIONS, CHUNK_PEOPLE = 2_000, 3, 800
START, END = "2021-04-01", "2025-03-31"
AS_OF = ("2022-04-01", "2024-04-01")


@dataclass(frozen=True)
class Partitioned:
    root: Path
    whole: object  # the extract loaded whole (extract.loader.load_extract on the root)


@pytest.fixture(scope="session")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> Partitioned:
    from extract.loader import load_extract
    from extract.synthetic.partitioned import write_partitioned_synthetic_extract

    root = tmp_path_factory.mktemp("partitioned") / "extract"
    write_partitioned_synthetic_extract(root, PEOPLE, 5, START, END, PARTITIONS, chunk_people=CHUNK_PEOPLE)
    return Partitioned(root, load_extract(root))
