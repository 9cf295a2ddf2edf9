"""Content-addressed storage for evidence bytes: a blob's name is its SHA-256, so it is immutable
and two uploads of the same bytes share one blob.

``BlobStore`` is the whole interface the engine uses; ``FilesystemBlobStore`` is the default. An
S3-style store implements the same four methods: ``put`` streams to a temporary key and copies it
to ``<sha256>`` once the digest is known (or uploads with a checksum header), ``open`` returns the
object's body stream, ``exists`` is a HEAD, ``delete`` a DELETE.

Stores know nothing of the database: deciding whether a blob is still referenced is the service's job.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO, BinaryIO, Protocol

CHUNK_BYTES = 64 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobMissing(Exception):
    """No blob is stored under this hash."""


class StorageUnavailable(Exception):
    """The store cannot take bytes now (its disk is full, over quota, or read-only): nothing was
    stored, and the same request may succeed once an operator has made room. The cause is chained."""


# What the operating system says when the disk, not the request, is the problem.
_UNAVAILABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


class BlobStore(Protocol):
    """Bytes kept under their SHA-256 (lower-case hex)."""

    def put(self, source: IO[bytes]) -> str:
        """Store everything ``source`` yields (read from its current position); return the SHA-256.

        Atomic: the blob appears whole or not at all. Storing bytes already there is harmless.
        Raises ``StorageUnavailable`` when the store is full or read-only (nothing is left behind).
        """
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A binary stream of the blob; raises ``BlobMissing`` if there is none."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None:
        """Remove the blob if it is there (deleting a missing blob is not an error)."""
        ...


def check_sha256(sha256: str) -> str:
    """Refuse anything but 64 lower-case hex digits, so a hash can never name a path outside."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256[:80]!r}")
    return sha256


class FilesystemBlobStore:
    """Blobs as files under ``root``, sharded ``ab/cd/abcd…`` so no directory grows huge.

    A blob is written to ``root/tmp`` first, flushed to disk, then renamed into place: a crash
    leaves at most a stray temporary file, never a half-written blob under a real name.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def path_of(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, source: IO[bytes]) -> str:
        try:
            return self._put(source)
        except OSError as error:
            if error.errno in _UNAVAILABLE_ERRNOS:
                raise StorageUnavailable(f"evidence store {self.root}: {error}") from error
            raise

    def _put(self, source: IO[bytes]) -> str:
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=staging, prefix="upload-")
        try:
            digest = hashlib.sha256()
            with os.fdopen(descriptor, "wb") as target:
                while chunk := source.read(CHUNK_BYTES):
                    digest.update(chunk)
                    target.write(chunk)
                target.flush()
                os.fsync(target.fileno())
            sha256 = digest.hexdigest()
            final = self.path_of(sha256)
            final.parent.mkdir(parents=True, exist_ok=True)
            # Replacing an existing blob writes the same bytes (or repairs an altered copy).
            os.replace(temporary, final)
            _fsync_directory(final.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return sha256

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path_of(sha256).open("rb")
        except FileNotFoundError:
            raise BlobMissing(sha256) from None

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def delete(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
