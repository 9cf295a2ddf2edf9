"""Identifiers: a prefix that says what it names, then a sortable time part and randomness (ULID-like)."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime

from arbitration.errors import ValidationFailed

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# The standard library's base32 digits (RFC 4648), mapped to Crockford's: same 5-bit values.
_TO_ALPHABET = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())
_TIME_BITS, _RANDOM_BITS = 50, 80  # 10 and 16 base32 digits
_PADDING_BITS = 6  # 130 bits padded to 17 bytes: their first 26 digits are the id's


def new_id(prefix: str, at: datetime) -> str:
    """``dsp_01jb…``: ids sort by creation time, so listings and cursors need no extra column.

    Ten digits of milliseconds since the epoch, then sixteen of randomness, in base32 (every write
    makes several: encoded in one pass by ``base64``, not digit by digit)."""
    millis = int(at.timestamp() * 1000) & ((1 << _TIME_BITS) - 1)
    number = (millis << _RANDOM_BITS | secrets.randbits(_RANDOM_BITS)) << _PADDING_BITS
    digits = base64.b32encode(number.to_bytes(17, "big"))[:26].translate(_TO_ALPHABET)
    return f"{prefix}_{digits.decode()}"


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
