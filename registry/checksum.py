"""A content checksum of a logged model's artifact folder.

Training records it as the model version tag ``artifact_sha256``; the service
recomputes it on the downloaded artifact and refuses to start on a mismatch,
so a model changed after its fairness gate is never served.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHECKSUM_TAG = "artifact_sha256"
_CHUNK = 1 << 20


def artifact_sha256(folder: str | Path) -> str:
    """SHA-256 over every file below ``folder``: relative path and bytes, in sorted order.

    Raises
    ------
    ValueError
        If ``folder`` is not a directory or holds no files.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"model artifact folder not found: {root}")
    files = [p for p in root.rglob("*") if p.is_file()]
    if not files:
        raise ValueError(f"model artifact folder is empty: {root}")
    return files_sha256(root, files)


def files_sha256(root: str | Path, files: list[Path]) -> str:
    """SHA-256 over the given files below ``root``: relative path and bytes, in sorted order."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
