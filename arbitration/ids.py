"""Identifiers: a prefix that says what it names, then a sortable time part and randomness (ULID-like)."""

from __future__ import annotations

import secrets
from datetime import datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _base32(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, remainder = divmod(number, 32)
        chars.append(_ALPHABET[remainder])
    return "".join(reversed(chars))


def new_id(prefix: str, at: datetime) -> str:
    """``dsp_01jb…``: ids sort by creation time, so listings and cursors need no extra column."""
    millis = int(at.timestamp() * 1000)
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"


def new_token() -> str:
    """A bearer token: 256 bits of randomness, shown once and stored only as a hash."""
    return "arb_" + secrets.token_urlsafe(32)
