"""A link's payload is hashed as the database will return it (``audit.as_stored``): plain values
are copied as they are, anything else goes through JSON, and both give what JSON would."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

import pytest

from arbitration.audit import as_stored


class Level(IntEnum):
    HIGH = 2


PAYLOADS: list[dict[Any, Any]] = [
    {},
    {"reason": "It broke.", "amount": 1_000, "done": True, "note": None},
    {"reason": "\ud800 lone surrogate, é, 日本"},
    {"items": [{"listing_id": "lst-a", "quantity": 1}], "at": ("a", "b")},
    {"level": Level.HIGH, "ratio": 0.5},
    {1: "an int key"},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_payload_is_what_a_json_round_trip_gives(payload: dict[Any, Any]) -> None:
    stored = as_stored(payload)
    expected = json.loads(json.dumps(payload))
    assert stored == expected
    assert [(type(k), type(v)) for k, v in stored.items()] == [
        (type(k), type(v)) for k, v in expected.items()
    ]
    assert stored is not payload
