"""An uploaded file checked against the policy before anything is stored: its name, its size (read
no further than the limit), its type sniffed from the bytes, and its SHA-256.

No database and no storage here: a refused upload leaves nothing behind because nothing was kept.
"""

from __future__ import annotations

import hashlib
import tempfile
import unicodedata
from dataclasses import dataclass
from typing import IO

from arbitration.errors import ValidationFailed
from arbitration.policy import EvidencePolicy
from evidence.errors import PayloadTooLarge, UnsupportedMediaType
from evidence.sniffing import Sniffer, extension_type, normalize_media_type
from evidence.storage import CHUNK_BYTES

MAX_DISPLAY_NAME = 255

# Kinds whose files must be of one family; the other kinds take any allowed type.
KIND_FAMILIES = {"photo": "image/", "video": "video/"}


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check, ready to store: ``stream`` is rewound to its start."""

    stream: IO[bytes]
    sha256: str
    size: int
    media_type: str
    display_name: str | None
    offset: int = 0

    def rewind(self) -> None:
        self.stream.seek(self.offset)


def check_display_name(filename: str | None) -> str | None:
    """The client's file name, kept for display only; names that could pass for a path are refused."""
    if not filename:
        return None
    problem = None
    if len(filename) > MAX_DISPLAY_NAME:
        problem = f"at most {MAX_DISPLAY_NAME} characters"
    elif "/" in filename or "\\" in filename:
        problem = "must be a plain file name, without / or \\"
    elif filename.strip(" .") == "":
        problem = "must be a file name, not dots or spaces"
    elif any(unicodedata.category(char) in ("Cc", "Cf", "Cs") for char in filename):
        problem = "must not contain control or invisible formatting characters"
    if problem:
        raise ValidationFailed("the file name is not acceptable", details={"file": [problem]})
    return unicodedata.normalize("NFC", filename)


def check_upload(
    source: IO[bytes],
    *,
    filename: str | None,
    declared_type: str | None,
    kind: str,
    policy: EvidencePolicy,
) -> CheckedFile:
    """Read ``source`` once (at most ``max_file_bytes`` + 1 bytes) and refuse what breaks a rule.

    A seekable source (werkzeug spools uploads to a temporary file) is rewound and reused; any
    other is copied to a temporary file as it is read, so memory holds one chunk at a time.
    """
    display_name = check_display_name(filename)
    # A copy is returned open (the caller stores it); the OS deletes it once it is closed.
    stream = source if _seekable(source) else tempfile.TemporaryFile()  # noqa: SIM115
    start = source.tell() if stream is source else 0
    sniffer = Sniffer()
    digest = hashlib.sha256()
    size = 0
    limit = policy.max_file_bytes
    while chunk := source.read(min(CHUNK_BYTES, limit + 1 - size)):
        size += len(chunk)
        if size > limit:
            _close_copy(stream, source)
            raise PayloadTooLarge(
                f"the file is larger than {limit} bytes",
                details={"file": [f"at most {limit} bytes"], "max_bytes": limit},
            )
        sniffer.feed(chunk)
        digest.update(chunk)
        if stream is not source:
            stream.write(chunk)
    if size == 0:
        _close_copy(stream, source)
        raise ValidationFailed("the file is empty", details={"file": ["must not be empty"]})
    media_type = sniffer.media_type()
    try:
        _check_type(media_type, filename=display_name, declared_type=declared_type, policy=policy)
        _check_kind(kind, media_type)
    except Exception:
        _close_copy(stream, source)
        raise
    stream.seek(start)
    return CheckedFile(stream, digest.hexdigest(), size, media_type, display_name, start)


def _check_type(
    media_type: str, *, filename: str | None, declared_type: str | None, policy: EvidencePolicy
) -> None:
    allowed = sorted(policy.allowed_types)
    if media_type not in policy.allowed_types:
        raise UnsupportedMediaType(
            f"the file is {media_type}, which is not accepted",
            details={"file": [f"sniffed as {media_type}"], "accepted": allowed},
        )
    claims = {
        "file name": extension_type(filename),
        "Content-Type": normalize_media_type(declared_type),
    }
    for source, claimed in claims.items():
        if claimed is not None and claimed != media_type:
            raise UnsupportedMediaType(
                f"the file's {source} says {claimed} but its bytes are {media_type}",
                details={"file": [f"{source} says {claimed}, the bytes are {media_type}"]},
            )


def _check_kind(kind: str, media_type: str) -> None:
    family = KIND_FAMILIES.get(kind)
    if family is not None and not media_type.startswith(family):
        raise ValidationFailed(
            f"a {kind} must be {family.rstrip('/')}, and this file is {media_type}",
            details={"kind": [f"{kind} needs {family}* (the file is {media_type})"]},
        )


def _seekable(source: IO[bytes]) -> bool:
    try:
        return source.seekable()
    except (AttributeError, ValueError):
        return False


def _close_copy(stream: IO[bytes], source: IO[bytes]) -> None:
    if stream is not source:
        stream.close()
