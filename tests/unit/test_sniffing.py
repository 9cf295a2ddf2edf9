"""Sniffing: a file's type comes from its bytes; names and declared types are only compared."""

from __future__ import annotations

import pytest

from evidence.sniffing import (
    Sniffer,
    extension_type,
    normalize_media_type,
    sniff,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (PNG, "image/png"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"%PDF-1.4\n", "application/pdf"),
        (b"plain words\nand a second line\twith a tab\r\n", "text/plain"),
        ("un texte accentué, 中文".encode(), "text/plain"),
        (b"\xef\xbb\xbfwith a byte order mark", "text/plain"),
        (b"<John> a chat log in IRC style", "text/plain"),
    ],
)
def test_allowed_formats_are_recognised_from_their_bytes(data: bytes, media_type: str) -> None:
    assert sniff(data) == media_type


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (b"<!DOCTYPE html><html></html>", "text/html"),
        (b"  \n<html><body>hi</body></html>", "text/html"),
        (b"<script>alert(1)</script>", "text/html"),
        (b"<!-- a comment first --><p>", "text/html"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/svg+xml"),
        (b"<?xml version='1.0'?><svg></svg>", "image/svg+xml"),
        (b"<?xml version='1.0'?><note/>", "text/xml"),
        (b"text with a NUL \x00 in it", "application/octet-stream"),
        (b"text with an escape \x1b[31m", "application/octet-stream"),
        (b"\xc3\x28 not UTF-8", "application/octet-stream"),
        (b"MZ\x90\x00", "application/octet-stream"),
        (b"PK\x03\x04 a zip", "application/octet-stream"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"", "application/octet-stream"),
    ],
)
def test_other_bytes_are_named_for_what_they_are(data: bytes, media_type: str) -> None:
    assert sniff(data) == media_type


def test_chunks_split_inside_a_character_still_read_as_text() -> None:
    data = "é" * 100_000
    encoded = data.encode()
    sniffer = Sniffer()
    for start in range(0, len(encoded), 4097):  # odd size: splits two-byte characters
        sniffer.feed(encoded[start : start + 4097])
    assert sniffer.media_type() == "text/plain"


def test_a_control_character_deep_in_a_long_text_is_caught() -> None:
    sniffer = Sniffer()
    sniffer.feed(b"a" * 70_000)
    sniffer.feed(b"\x07")
    assert sniffer.media_type() == "application/octet-stream"


def test_a_truncated_character_at_the_end_is_not_text() -> None:
    assert sniff(b"ends mid-character \xc3") == "application/octet-stream"


@pytest.mark.parametrize(
    ("name", "claimed"),
    [
        ("photo.PNG", "image/png"),
        ("a.b.jpeg", "image/jpeg"),
        ("page.html", "text/html"),
        ("drawing.svg", "image/svg+xml"),
        ("notes", None),
        ("archive.tar.gz", None),
        (None, None),
    ],
)
def test_a_file_name_claims_a_type_by_its_extension(name: str | None, claimed: str | None) -> None:
    assert extension_type(name) == claimed


@pytest.mark.parametrize(
    ("declared", "normalized"),
    [
        ("image/png", "image/png"),
        ("Image/JPG", "image/jpeg"),
        ("text/plain; charset=utf-8", "text/plain"),
        ("application/octet-stream", None),
        ("", None),
        (None, None),
    ],
)
def test_declared_types_are_normalized(declared: str | None, normalized: str | None) -> None:
    assert normalize_media_type(declared) == normalized
