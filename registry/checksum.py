"""Content checksums: of a logged model's artifact folder, of an extract, of one file.

Training records the model folder's checksum as the version tag
``artifact_sha256`` (:data:`registry.names.TAG_CHECKSUM`); every reader
recomputes it on the downloaded artifact (:func:`registry.versions.download_verified`)
and refuses a mismatch, so a model changed after its fairness gate is never
used. The extract and file checksums are training's record of its input.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ERR_FOLDER_NOT_FOUND = "model artifact folder not found: {path}"
ERR_FOLDER_EMPTY = "model artifact folder is empty: {path}"
ERR_EXTRACT_NOT_FOUND = "extract folder not found: {path}"


def artifact_sha256(folder: str | Path) -> str:
    """SHA-256 over every file below ``folder``: relative path and bytes, in sorted order.

    Raises
    ------
    ValueError
        If ``folder`` is not a directory or holds no files.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(ERR_FOLDER_NOT_FOUND.format(path=root))
    files = [p for p in root.rglob("*") if p.is_file()]
    if not files:
        raise ValueError(ERR_FOLDER_EMPTY.format(path=root))
    return files_sha256(root, files)


def files_sha256(root: str | Path, files: list[Path]) -> str:
    """SHA-256 over the given files below ``root``: relative path and bytes, in sorted order.

    One running digest over ``path NUL bytes NUL`` per file (the scheme registered
    versions were tagged with, so it must not change).
    """
    root = Path(root)
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            # file_digest feeds the file into the running digest it is handed.
            hashlib.file_digest(handle, lambda: digest)
        digest.update(b"\0")
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of one file (a bring-your-own feature table)."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def extract_sha256(path: str | Path) -> str:
    """Fingerprint of an extract: the contract files and manifest (not ``_truth/``)."""
    from extract.contract import FILE_FORMATS, MANIFEST_FILE, TABLES

    root = Path(path)
    if not root.is_dir():
        raise ValueError(ERR_EXTRACT_NOT_FOUND.format(path=root))
    names = {f"{table}.{fmt}" for table in TABLES for fmt in FILE_FORMATS} | {MANIFEST_FILE}
    return files_sha256(root, [p for p in root.iterdir() if p.is_file() and p.name in names])
