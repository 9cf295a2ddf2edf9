"""JSON text for what the engine stores and answers: orjson writes it, the standard library behind.

Every write stores JSON (the audit link's payload, each webhook event's data) and every answer
is a JSON body: ``json.dumps`` took 80 to 90 microseconds of a ruling's 1.7 milliseconds, orjson
a tenth of that. The text differs in form, never in what it parses to: compact (no space after
``,`` and ``:``), and UTF-8 rather than ``\\u`` escapes. What orjson will not write goes to the
standard library as before: an integer beyond 64 bits (a body may carry one of up to 100
digits), a string holding a lone surrogate (the edge refuses those in a body, but not every
value comes from one); and what ``json.dumps`` hands to ``default`` (a datetime, a dataclass)
orjson hands to it too (``PASSTHROUGH``), but a UUID, which it writes as the text Flask's
``default`` gave. One difference is left: a float that is not a number
(``1e400`` parses as infinity) is written ``null``, where the standard library wrote
``Infinity``, which no JSON parser accepts.

Reading stays ``json.loads``'s: orjson would read an integer beyond 64 bits as a float, changing
it without a word. And hashed forms stay ``json.dumps``'s, byte for byte (an audit link's
canonical JSON, an idempotency key's body), so chains and keys written before still verify.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

# What ``json.dumps`` writes natively orjson writes natively; what it hands to ``default``,
# orjson hands over too. Keys that are not text are written as ``json.dumps`` writes them.
PASSTHROUGH = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps_bytes(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """``value`` as compact UTF-8 JSON; ``default`` as ``json.dumps`` takes it."""
    try:
        return orjson.dumps(value, default=default, option=PASSTHROUGH)
    except orjson.JSONEncodeError:
        # What orjson refuses and the standard library writes (or refuses with its own error).
        return json.dumps(value, default=default, separators=(",", ":")).encode()


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """``dumps_bytes`` as text: what a JSON column stores."""
    return dumps_bytes(value, default=default).decode()
