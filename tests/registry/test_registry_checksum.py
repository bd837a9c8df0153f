from pathlib import Path

import pytest

from registry.checksum import artifact_sha256, file_sha256


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


def test_checksum_scheme_is_the_one_registered_versions_were_tagged_with(tmp_path: Path) -> None:
    # Digest computed with the pre-file_digest implementation: a changed scheme would make
    # every registered version fail its checksum.
    (tmp_path / "a.txt").write_bytes(b"alpha")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(bytes(range(256)) * 5000)
    assert artifact_sha256(tmp_path) == "8b6f6f73112f82cc08b1151b3d6ecf2e3284e0dd5f0f85bb43a390b5b12ee9e0"
    assert file_sha256(tmp_path / "sub" / "b.bin") == (
        "7d471e4af16db5a30ce10aebbc29f5178b2edbad6c7dc2e8ff8ee6e4848a726f"
    )
