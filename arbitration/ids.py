"""Identifiers: a prefix that says what it names, then a sortable time part and randomness (ULID-like)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from arbitration.errors import ValidationFailed

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


def is_generated_id(value: str, prefix: str) -> bool:
    """Whether ``value`` has the shape of an id ``new_id(prefix, …)`` makes."""
    return re.fullmatch(rf"{prefix}_[{_ALPHABET}]{{26}}", value) is not None


def new_token() -> str:
    """A bearer token: 256 bits of randomness, shown once and stored only as a hash."""
    return "arb_" + secrets.token_urlsafe(32)


EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")


def check_external_id(value: str, field: str) -> None:
    """Ids the marketplace chooses (accounts, orders): 1-64 characters, safe in URLs and logs."""
    if not EXTERNAL_ID.fullmatch(value):
        raise ValidationFailed(
            f"bad {field}",
            details={
                field: ["1 to 64 letters, digits or . _ : @ -, starting with a letter or digit"]
            },
        )
