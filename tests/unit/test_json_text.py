"""The JSON the engine stores and answers (``arbitration.json_text``) parses to exactly what the
standard library's would, including for what orjson cannot write itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import pytest

from arbitration import json_text


class Level(IntEnum):
    HIGH = 2


@dataclass
class Point:
    x: int


VALUES: list[Any] = [
    {},
    {"reason": "It broke.", "amount": 1_000, "done": True, "note": None, "ratio": 0.1},
    {"reason": "é, 日本, emoji 🙂", "nested": {"list": [1, [2, [3]]], "tuple": ("a", "b")}},
    {"level": Level.HIGH, 1: "an int key", None: "a null key", 2.5: "a float key"},
    [10**100, -(10**40), 2**63 - 1, -(2**63)],  # beyond 64 bits: the standard library's
    {"note": "a lone \ud800 surrogate"},  # not UTF-8: the standard library's
    [1e16, 5e-324, -0.0, 1 / 3],
]


@pytest.mark.parametrize("value", VALUES)
def test_the_text_parses_to_what_json_dumps_wrote(value: Any) -> None:
    text = json_text.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert json_text.dumps_bytes(value) == text.encode()


def test_the_text_is_compact_and_keeps_characters_as_they_are() -> None:
    assert json_text.dumps({"a": [1, 2], "b": "é"}) == '{"a":[1,2],"b":"é"}'


def test_what_json_dumps_hands_to_default_goes_to_default() -> None:
    at = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    seen: list[object] = []

    def default(value: object) -> object:
        seen.append(value)
        return str(value)

    assert json.loads(json_text.dumps({"at": at, "p": Point(1)}, default=default)) == {
        "at": str(at),
        "p": str(Point(1)),
    }
    assert seen == [at, Point(1)]
    with pytest.raises(TypeError):
        json_text.dumps({"at": at})  # as json.dumps refuses it


def test_a_float_that_is_not_a_number_is_written_null_not_invalid_json() -> None:
    assert json_text.dumps([float("nan"), float("inf")]) == "[null,null]"
