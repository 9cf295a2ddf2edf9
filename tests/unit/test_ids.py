"""Generated ids: the base32 encoding, digit for digit, and their order by creation time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from arbitration import ids

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _digits(number: int, length: int) -> str:
    """The encoding spelled out: ``length`` base32 digits of ``number``, most significant first."""
    return "".join(CROCKFORD[(number >> 5 * (length - 1 - i)) & 31] for i in range(length))


@pytest.mark.parametrize("seed", range(5))
def test_an_id_is_the_time_then_the_randomness_in_crockford_base32(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    chooser = random.Random(seed)
    for _ in range(200):
        at = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(milliseconds=chooser.randrange(10**12))
        drawn = chooser.getrandbits(80)
        monkeypatch.setattr(ids, "urandom", lambda size, drawn=drawn: drawn.to_bytes(size))
        made = ids.new_id("dsp", at)
        millis = int(at.timestamp() * 1000)
        assert made == f"dsp_{_digits(millis, 10)}{_digits(drawn, 16)}"
        assert ids.is_generated_id(made, "dsp")


def test_ids_sort_by_creation_time() -> None:
    start = datetime(2026, 11, 30, tzinfo=UTC)
    made = [ids.new_id("ref", start + timedelta(milliseconds=step)) for step in range(0, 5000, 7)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


@pytest.mark.parametrize("drawn", [0, 1, 1023, 1 << 79, (1 << 80) - 1])
@pytest.mark.parametrize("millis", [0, 1, 1023, (1 << 47) + 12_345, 253_402_300_799_999])
def test_the_extreme_times_and_draws_are_spelled_digit_for_digit(
    millis: int, drawn: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pair of digits, the first and the last included (the latest time is 9999's end)."""
    monkeypatch.setattr(ids, "urandom", lambda size: drawn.to_bytes(size))
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    read = int(at.timestamp() * 1000)  # a float's rounding may take a millisecond off
    assert abs(read - millis) <= 1
    assert ids.new_id("evt", at) == f"evt_{_digits(read, 10)}{_digits(drawn, 16)}"


def test_first_id_at_bounds_every_id_made_at_that_time_or_later_and_none_before() -> None:
    at = datetime(2026, 12, 1, 5, 30, 0, 123_456, tzinfo=UTC)
    bound = ids.first_id_at("fbk", at)
    assert ids.is_generated_id(bound, "fbk")
    for _ in range(200):
        assert ids.new_id("fbk", at) >= bound
        assert ids.new_id("fbk", at + timedelta(milliseconds=1)) > bound
        assert ids.new_id("fbk", at - timedelta(milliseconds=1)) < bound
