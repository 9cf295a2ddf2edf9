"""What a file is, from its bytes alone: magic numbers for binary formats, and a strict check for
plain text (valid UTF-8, no control characters, not markup a browser would render).

The client's file name and ``Content-Type`` are only compared against the answer, never trusted.
``Sniffer`` is fed the file a chunk at a time, so a 20 MiB upload is never held in memory.
"""

from __future__ import annotations

import codecs
import re

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"
HTML = "text/html"
XML = "text/xml"
SVG = "image/svg+xml"

# Enough of the head for every signature below and for the markup check on text.
HEAD_BYTES = 512

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)

# ISO base media files share the ``ftyp`` box; its major brand says which format this one is.
_FTYP_IMAGE_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
}
_FTYP_OTHER_BRANDS = {b"qt  ": "video/quicktime", b"crx ": "image/x-canon-cr3"}

# Control characters other than tab, line feed, form feed and carriage return (C0, DEL and C1).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_BOM = "\ufeff"
# Text that a browser would sniff as markup (WHATWG MIME sniffing: a known tag at the start).
_MARKUP = re.compile(
    r"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p"
    r"|svg|math|object|embed|meta|link|img|form)(?=[\s>/])|<!--|<\?xml",
    re.IGNORECASE,
)
_SVG = re.compile(r"<svg(?=[\s>/])", re.IGNORECASE)

# What a file name's extension claims; names with other extensions claim nothing.
EXTENSION_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".pdf": "application/pdf",
    ".txt": TEXT,
    ".text": TEXT,
    ".log": TEXT,
    ".htm": HTML,
    ".html": HTML,
    ".xhtml": "application/xhtml+xml",
    ".svg": SVG,
    ".xml": XML,
    ".js": "text/javascript",
    ".mjs": "text/javascript",
}

# Other spellings clients send for the same type.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "application/x-pdf": "application/pdf",
    "video/x-m4v": "video/mp4",
}


def normalize_media_type(value: str | None) -> str | None:
    """``Image/JPG; q=1`` → ``image/jpeg``; empty and ``application/octet-stream`` claim nothing."""
    if not value:
        return None
    essence = value.split(";", 1)[0].strip().lower()
    if not essence or essence == OCTET_STREAM:
        return None
    return _ALIASES.get(essence, essence)


def extension_type(filename: str | None) -> str | None:
    """The media type a file name's extension claims, if it is one we know."""
    if not filename or "." not in filename:
        return None
    return EXTENSION_TYPES.get(filename[filename.rindex(".") :].lower())


def sniff_head(head: bytes) -> str | None:
    """The binary format the first bytes announce, or None when they announce none we know."""
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and len(head) >= 12 and int.from_bytes(head[:4], "big") >= 8:
        brand = head[8:12]
        if brand in _FTYP_IMAGE_BRANDS:
            return _FTYP_IMAGE_BRANDS[brand]
        if brand in _FTYP_OTHER_BRANDS:
            return _FTYP_OTHER_BRANDS[brand]
        if brand.startswith(b"3g"):
            return "video/3gpp"
        return "video/mp4"
    return None


def text_type(head: str) -> str:
    """Plain text, unless it opens like markup a browser would render (HTML, SVG, XML)."""
    start = head.lstrip(_BOM).lstrip()
    if not _MARKUP.match(start):
        return TEXT
    if _SVG.match(start):
        return SVG
    if start[:5].lower() == "<?xml":
        return SVG if "<svg" in start.lower() else XML
    return HTML


class Sniffer:
    """Fed a file chunk by chunk; ``media_type()`` at the end says what the whole file is."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._text_head: list[str] = []
        self._text_head_length = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._may_be_text = True

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        if self._may_be_text:
            self._check_text(chunk, final=False)

    def media_type(self) -> str:
        """The sniffed type: a known binary format, ``text/plain``, markup, or octet-stream."""
        binary = sniff_head(bytes(self._head))
        if binary is not None:
            return binary
        if self._may_be_text:
            self._check_text(b"", final=True)
        if not self._may_be_text or not self._head:
            return OCTET_STREAM
        return text_type("".join(self._text_head))

    def _check_text(self, chunk: bytes, *, final: bool) -> None:
        try:
            text = self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError:
            self._may_be_text = False
            return
        if _CONTROL.search(text):
            self._may_be_text = False
            return
        if self._text_head_length < HEAD_BYTES:
            self._text_head.append(text[: HEAD_BYTES - self._text_head_length])
            self._text_head_length += len(self._text_head[-1])


def sniff(data: bytes) -> str:
    """The media type of ``data`` (a whole file, for small inputs and tests)."""
    sniffer = Sniffer()
    sniffer.feed(data)
    return sniffer.media_type()
