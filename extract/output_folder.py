"""The one refusal of an output folder that already holds files, for every writer of a new folder.

Writing into a folder with older files would mix two outputs (an extract's
tables, a partition's parts) that nothing could tell apart afterwards.
"""

from __future__ import annotations

from pathlib import Path

OUT_NOT_EMPTY = "{path} already holds files; write to a new or empty folder"


def refuse_non_empty_folder(path: str | Path) -> Path:
    """``path`` as a Path when it is missing or an empty folder; a ValueError when it holds files.

    A file at ``path`` is refused too (a folder cannot be made there).
    """
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(OUT_NOT_EMPTY.format(path=folder))
    return folder
