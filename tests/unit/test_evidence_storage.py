"""The filesystem blob store: content-addressed, sharded, atomic, and never outside its root."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from evidence.storage import BlobMissing, FilesystemBlobStore


class FailingStream(io.RawIOBase):
    """Yields some bytes, then fails as a dropped connection would."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        self.reads += 1
        if self.reads > 2:
            raise OSError("connection reset")
        buffer[:4] = b"data"
        return 4


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_a_blob_is_stored_under_its_sha256_in_shards(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    sha256 = store.put(io.BytesIO(b"evidence"))

    assert sha256 == hashlib.sha256(b"evidence").hexdigest()
    assert files_under(tmp_path) == [tmp_path / sha256[:2] / sha256[2:4] / sha256]
    assert store.exists(sha256)
    with store.open(sha256) as blob:
        assert blob.read() == b"evidence"


def test_storing_the_same_bytes_twice_keeps_one_blob(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    assert store.put(io.BytesIO(b"same")) == store.put(io.BytesIO(b"same"))
    assert len(files_under(tmp_path)) == 1


def test_storing_again_repairs_an_altered_copy(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    sha256 = store.put(io.BytesIO(b"original"))
    store.path_of(sha256).write_bytes(b"tampered")
    store.put(io.BytesIO(b"original"))
    assert store.path_of(sha256).read_bytes() == b"original"


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    with pytest.raises(OSError):
        store.put(FailingStream())  # type: ignore[arg-type]
    assert files_under(tmp_path) == []


def test_deleting_is_idempotent_and_opening_a_missing_blob_says_so(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    sha256 = store.put(io.BytesIO(b"gone soon"))
    store.delete(sha256)
    store.delete(sha256)
    assert not store.exists(sha256)
    with pytest.raises(BlobMissing):
        store.open(sha256)


@pytest.mark.parametrize("name", ["../../etc/passwd", "ab", "A" * 64, "g" * 64, "0" * 63])
def test_only_hex_digests_name_blobs(tmp_path: Path, name: str) -> None:
    store = FilesystemBlobStore(tmp_path)
    with pytest.raises(ValueError):
        store.path_of(name)
