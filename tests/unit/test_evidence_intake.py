"""Checking an upload before anything is stored: names, limits, types, kinds."""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO

import pytest

from arbitration.errors import ValidationFailed
from arbitration.policy import EvidencePolicy, load_policy
from evidence.errors import PayloadTooLarge, UnsupportedMediaType
from evidence.intake import check_display_name, check_upload

PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
POLICY = load_policy().evidence
SMALL = EvidencePolicy(
    max_file_bytes=200, max_files_per_party=2, allowed_types=POLICY.allowed_types
)


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek, like a socket; counts what was read from it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.consumed += len(chunk)
        return len(chunk)


def check(data: bytes | BinaryIO, **overrides: object):  # type: ignore[no-untyped-def]
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    arguments: dict[str, object] = {
        "filename": "photo.png",
        "declared_type": "image/png",
        "kind": "photo",
        "policy": SMALL,
        **overrides,
    }
    return check_upload(source, **arguments)  # type: ignore[arg-type]


def test_a_good_upload_is_hashed_typed_and_rewound() -> None:
    checked = check(PNG)
    assert checked.sha256 == hashlib.sha256(PNG).hexdigest()
    assert checked.size == len(PNG)
    assert checked.media_type == "image/png"
    assert checked.display_name == "photo.png"
    assert checked.stream.read() == PNG


def test_a_stream_that_cannot_seek_is_copied_as_it_is_read() -> None:
    checked = check(OneWayStream(PNG))  # type: ignore[arg-type]
    assert checked.stream.read() == PNG


def test_reading_stops_just_past_the_limit() -> None:
    stream = OneWayStream(PNG + bytes(10_000))
    with pytest.raises(PayloadTooLarge) as refused:
        check(stream)  # type: ignore[arg-type]
    assert stream.consumed == SMALL.max_file_bytes + 1
    assert refused.value.details["max_bytes"] == SMALL.max_file_bytes


def test_a_file_exactly_at_the_limit_is_accepted() -> None:
    data = PNG + bytes(SMALL.max_file_bytes - len(PNG))
    assert check(data).size == SMALL.max_file_bytes


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        check(b"")


@pytest.mark.parametrize(
    ("filename", "declared"),
    [("photo.jpg", "image/png"), ("photo.png", "image/jpeg"), ("photo.html", None)],
)
def test_a_name_or_declared_type_that_disagrees_is_refused(
    filename: str, declared: str | None
) -> None:
    with pytest.raises(UnsupportedMediaType):
        check(PNG, filename=filename, declared_type=declared)


def test_a_type_outside_the_allow_list_is_refused_whatever_its_name() -> None:
    narrow = EvidencePolicy(max_file_bytes=200, max_files_per_party=2, allowed_types=frozenset())
    with pytest.raises(UnsupportedMediaType) as refused:
        check(PNG, policy=narrow)
    assert refused.value.details["accepted"] == []


def test_kinds_that_need_a_family_refuse_other_files() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check(b"just words", filename="words.txt", declared_type=None, kind="video")
    assert "kind" in refused.value.details
    assert check(b"just words", filename="w.txt", declared_type=None, kind="chat_log").size == 10


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..\\..\\windows\\system32",
        "folder/photo.png",
        "..",
        ".",
        " . ",
        "nul\x00byte.png",
        "line\nbreak.png",
        "right-to-left\u202egnp.exe",
        "x" * 256,
    ],
)
def test_names_that_could_pass_for_paths_or_hide_things_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_display_name(name)
    assert "file" in refused.value.details


@pytest.mark.parametrize("name", ["photo.png", "reçu (final).pdf", ".hidden.txt", "中文.jpg"])
def test_ordinary_names_are_kept_for_display(name: str) -> None:
    assert check_display_name(name) == name


def test_no_name_is_fine() -> None:
    assert check_display_name(None) is None
    assert check_display_name("") is None
