from pathlib import Path

import pytest

from registry.checksum import artifact_sha256


def test_checksum_changes_with_content_and_name(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.pkl").write_bytes(b"weights")
    (tmp_path / "MLmodel").write_text("flavors: {}")
    first = artifact_sha256(tmp_path)
    assert first == artifact_sha256(tmp_path)
    (tmp_path / "a" / "model.pkl").write_bytes(b"weightz")
    assert artifact_sha256(tmp_path) != first
    (tmp_path / "a" / "model.pkl").write_bytes(b"weights")
    (tmp_path / "a" / "model.pkl").rename(tmp_path / "a" / "model2.pkl")
    assert artifact_sha256(tmp_path) != first


def test_checksum_refuses_missing_or_empty(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        artifact_sha256(tmp_path / "nope")
    with pytest.raises(ValueError, match="empty"):
        artifact_sha256(tmp_path)
