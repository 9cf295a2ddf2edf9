"""Reading a policy file strictly: each value checked as it is taken, with the key it sits under
named when it is wrong (``PolicyError``), a key nobody took refused (a typo surfaces at start-up,
not weeks later), and the durations' syntax (``"48h"``, ``"7d"``, ``"5wd"``). ``arbitration.policy``
says what the values are and builds the policy from them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from arbitration.calendar import Duration, WorkingDays


class PolicyError(Exception):
    """The policy cannot be used; ``key`` is the dotted path of what is wrong (or the file)."""

    def __init__(self, key: str, problem: str, *, source: str | None = None) -> None:
        self.key = key
        self.problem = problem
        self.source = source
        where = f" (in {source})" if source else ""
        super().__init__(f"{key}: {problem}{where}")


# --- durations ------------------------------------------------------------------------------------

_DURATION = re.compile(
    r"(?:(?P<w>[0-9]+)w)?(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?"
)
_DURATION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_DURATION_HINT = 'write e.g. "48h", "7d", "2s"'
_WORKING_DAYS = re.compile(r"(?P<n>[0-9]+)wd")
_SPAN_HINT = 'write e.g. "48h", "7d", "2s", or "5wd" for working days'


def parse_span(text: str) -> Duration:
    """A duration (``parse_duration``) or a number of working days, ``"5wd"`` (DESIGN §1a)."""
    match = _WORKING_DAYS.fullmatch(text)
    if match is None:
        return parse_duration(text)
    days = int(match["n"])
    if not days:
        raise ValueError(f"{text!r} is zero; a duration must be longer than that")
    if days > 10_000:
        raise ValueError(f"{text!r} is too long a duration")
    return WorkingDays(days)


def parse_duration(text: str) -> timedelta:
    """Parse ``"2s"``, ``"30m"``, ``"48h"``, ``"7d"``, ``"1w"`` or a combination, largest unit
    first (``"1d12h"``). Empty, zero and anything else raise ValueError (zero is always a mistake).
    """
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration; {_DURATION_HINT}")
    parts = {
        _DURATION_UNITS[unit]: int(n) for unit, n in match.groupdict().items() if n is not None
    }
    try:
        duration = timedelta(**parts)
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None
    if not duration:
        raise ValueError(f"{text!r} is zero; a duration must be longer than that")
    return duration


# --- strict reading of raw TOML -------------------------------------------------------------------


def _describe(value: object) -> str:
    """Name a TOML value's type the way the file's author wrote it."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {value}"


class Table:
    """A TOML table read key by key; ``finish`` refuses any key nobody read, so typos surface."""

    def __init__(self, raw: object, path: str) -> None:
        if not isinstance(raw, dict):
            raise PolicyError(path, f"must be a table, got {_describe(raw)}")
        self._raw: dict[str, Any] = raw
        self._path = path
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def names(self) -> list[str]:
        return list(self._raw)

    def has(self, name: str) -> bool:
        self._read.add(name)
        return name in self._raw

    def finish(self, *, what: str = "key") -> None:
        unknown = [name for name in self._raw if name not in self._read]
        if unknown:
            name = unknown[0]
            close = difflib.get_close_matches(name, self._read, n=1)
            hint = f"did you mean {close[0]!r}?" if close else _one_of(sorted(self._read))
            raise PolicyError(self.key(name), f"unknown {what}; {hint}")

    def _take(self, name: str) -> Any:
        self._read.add(name)
        if name not in self._raw:
            close = difflib.get_close_matches(name, self._raw, n=1)
            hint = f" (is {close[0]!r} a typo for it?)" if close else ""
            raise PolicyError(self.key(name), f"is missing{hint}")
        return self._raw[name]

    def table(self, name: str) -> Table:
        return Table(self._take(name), self.key(name))

    def tables(self, name: str, *, non_empty: bool = False) -> list[Table]:
        value = self._take(name)
        if not isinstance(value, list):
            raise PolicyError(self.key(name), f"must be an array of tables, got {_describe(value)}")
        if non_empty and not value:
            raise PolicyError(self.key(name), "must not be empty")
        return [Table(item, f"{self.key(name)}[{index}]") for index, item in enumerate(value)]

    def duration(self, name: str) -> timedelta:
        value = self._take(name)
        if not isinstance(value, str):
            problem = f"must be a duration string, got {_describe(value)}; {_DURATION_HINT}"
            raise PolicyError(self.key(name), problem)
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise PolicyError(self.key(name), str(exc)) from None

    def span(self, name: str) -> Duration:
        """A duration that may also be written in working days (``"5wd"``)."""
        value = self._take(name)
        if not isinstance(value, str):
            problem = f"must be a duration string, got {_describe(value)}; {_SPAN_HINT}"
            raise PolicyError(self.key(name), problem)
        try:
            return parse_span(value)
        except ValueError as exc:
            raise PolicyError(self.key(name), str(exc)) from None

    def dates(self, name: str) -> frozenset[date]:
        """An array of dates, written as TOML dates (2026-02-14) or strings ("2026-02-14")."""
        value = self._take(name)
        if not isinstance(value, list):
            raise PolicyError(self.key(name), f"must be an array of dates, got {_describe(value)}")
        days: set[date] = set()
        for index, item in enumerate(value):
            if isinstance(item, date) and not isinstance(item, datetime):
                days.add(item)
                continue
            try:
                days.add(date.fromisoformat(item) if isinstance(item, str) else _not_a_date())
            except ValueError:
                problem = f"must be a date like 2026-02-14, got {_describe(item)}"
                raise PolicyError(f"{self.key(name)}[{index}]", problem) from None
        return frozenset(days)

    def integer(self, name: str, *, minimum: int) -> int:
        value = self._take(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(self.key(name), f"must be an integer, got {_describe(value)}")
        if value < minimum:
            expected = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
            raise PolicyError(self.key(name), f"{expected}, got {value}")
        return value

    def number(self, name: str) -> float:
        value = self._take(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(self.key(name), f"must be a number, got {_describe(value)}")
        if not value > 0:  # also refuses nan
            raise PolicyError(self.key(name), f"must be above zero, got {value}")
        return float(value)

    def string(self, name: str) -> str:
        value = self._take(name)
        if not isinstance(value, str) or not value:
            raise PolicyError(self.key(name), f"must be a non-empty string, got {_describe(value)}")
        return value

    def choice(self, name: str, allowed: Iterable[str], *, what: str) -> str:
        value = self._take(name)
        if not isinstance(value, str) or value not in allowed:
            raise PolicyError(self.key(name), _not_one_of(value, allowed, what))
        return value

    def strings(self, name: str) -> list[str]:
        value = self._take(name)
        if not isinstance(value, list):
            raise PolicyError(
                self.key(name), f"must be an array of strings, got {_describe(value)}"
            )
        for index, item in enumerate(value):
            if not isinstance(item, str):
                problem = f"must be a string, got {_describe(item)}"
                raise PolicyError(f"{self.key(name)}[{index}]", problem)
        return value

    def choices(self, name: str, allowed: Iterable[str], *, what: str) -> frozenset[str]:
        items = self.strings(name)
        for index, item in enumerate(items):
            if item not in allowed:
                raise PolicyError(f"{self.key(name)}[{index}]", _not_one_of(item, allowed, what))
        return frozenset(items)


def _not_a_date() -> date:
    raise ValueError("not a date")


def _one_of(names: Iterable[str]) -> str:
    return "expected one of: " + ", ".join(names)


def _not_one_of(value: object, allowed: Iterable[str], what: str) -> str:
    shown = repr(value) if isinstance(value, str) else _describe(value)
    return f"{shown} is not a known {what}; {_one_of(allowed)}"
