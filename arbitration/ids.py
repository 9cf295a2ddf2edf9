"""Identifiers: a prefix that says what it names, then a sortable time part and randomness (ULID-like)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from os import urandom

from arbitration.errors import ValidationFailed

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_TIME_BITS, _RANDOM_BITS = 50, 80  # 10 and 16 base32 digits
# Every pair of digits (10 bits), so an id's 130 bits are spelled in 13 look-ups.
_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]
assert _TIME_BITS + _RANDOM_BITS == 130
_TIME_MASK = (1 << _TIME_BITS) - 1


def new_id(prefix: str, at: datetime) -> str:
    """``dsp_01jb…``: ids sort by creation time, so listings and cursors need no extra column.

    Ten digits of milliseconds since the epoch, then sixteen of randomness, in base32. The
    randomness is read as ``secrets.randbits`` reads it, without that function's Python frame."""
    millis = int(at.timestamp() * 1000) & _TIME_MASK
    return _spelled(prefix, millis << _RANDOM_BITS | int.from_bytes(urandom(_RANDOM_BITS // 8)))


def first_id_at(prefix: str, at: datetime) -> str:
    """The least id ``new_id(prefix, …)`` makes at ``at`` or later: ``id >= first_id_at(…)`` finds
    what was made since ``at`` (and a few of its millisecond before it) by the key's own order."""
    return _spelled(prefix, (int(at.timestamp() * 1000) & _TIME_MASK) << _RANDOM_BITS)


def _spelled(prefix: str, n: int) -> str:
    """The 130 bits of ``n`` in base32 after the prefix. Every write makes several ids, some
    while it holds SQLite's writer lock: the 13 pairs of digits are spelled by as many look-ups
    written out, which cost no function call (a comprehension is one, and
    ``base64.b32encode`` a loop in Python)."""
    p = _PAIRS
    return (
        f"{prefix}_{p[n >> 120 & 1023]}{p[n >> 110 & 1023]}{p[n >> 100 & 1023]}"
        f"{p[n >> 90 & 1023]}{p[n >> 80 & 1023]}{p[n >> 70 & 1023]}{p[n >> 60 & 1023]}"
        f"{p[n >> 50 & 1023]}{p[n >> 40 & 1023]}{p[n >> 30 & 1023]}{p[n >> 20 & 1023]}"
        f"{p[n >> 10 & 1023]}{p[n & 1023]}"
    )


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
