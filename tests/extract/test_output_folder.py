"""Every writer of a new output folder refuses one that already holds files, with one message."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.partitions import parts_folder
from extract.output_folder import OUT_NOT_EMPTY, refuse_non_empty_folder
from extract.partitioned import PartitionedExtractWriter
from extract.synthetic.extract_writer import write_synthetic_extract
from extract.synthetic.partitioned import write_partitioned_synthetic_extract


def test_a_missing_or_empty_folder_is_accepted(tmp_path: Path) -> None:
    assert refuse_non_empty_folder(str(tmp_path / "new")) == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    assert refuse_non_empty_folder(tmp_path / "empty") == tmp_path / "empty"


def test_a_folder_with_files_or_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("x\n")
    with pytest.raises(ValueError, match="already holds files") as held:
        refuse_non_empty_folder(tmp_path)
    assert str(held.value) == OUT_NOT_EMPTY.format(path=tmp_path)
    with pytest.raises(ValueError, match="already holds files"):
        refuse_non_empty_folder(tmp_path / "old.csv")


def _synthetic(out: Path) -> None:
    write_synthetic_extract(out, people=10, seed=1, start="2024-01-01", end="2024-12-31")


def _partitioned_synthetic(out: Path) -> None:
    write_partitioned_synthetic_extract(out, people=10, seed=1, start="2024-01-01", end="2024-12-31", partitions=2)


def _partitioned_writer(out: Path) -> None:
    with PartitionedExtractWriter(out, 2, "2025-01-01"):
        pass


@pytest.mark.parametrize("write", [_synthetic, _partitioned_synthetic, _partitioned_writer, parts_folder])
@pytest.mark.parametrize("occupied", ["folder with a file", "file"])
def test_every_writer_refuses_with_the_one_message(tmp_path: Path, write, occupied: str) -> None:
    # A file where the folder should be used to escape as NotADirectoryError from three of them.
    out = tmp_path / "out"
    if occupied == "file":
        out.write_text("x\n")
    else:
        out.mkdir()
        (out / "old.csv").write_text("x\n")
    with pytest.raises(ValueError) as refused:
        write(out)
    assert str(refused.value) == OUT_NOT_EMPTY.format(path=out)
