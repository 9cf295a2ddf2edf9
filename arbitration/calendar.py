"""Working days (DESIGN §1a): a policy duration may count calendar time (``"48h"``) or working days
(``"5wd"``) on the policy's calendar.

A working day is a weekday that is not a public holiday of ``country`` (the ``holidays`` package,
which also knows the make-up working weekends of countries that have them, such as China's), nor one
of ``extra_holidays``; a date in ``extra_workdays`` is a working day whatever it is. Days are the
calendar's local dates (``timezone``): ``N`` working days after a moment is the same local time of
day on the ``N``-th working day after that moment's date, so a deadline never lands on a weekend or a
holiday. Everything goes through ``WorkCalendar.add``; ``Policy.due_after`` is the one entry point
the deadlines use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays


@dataclass(frozen=True)
class WorkingDays:
    """A span of ``days`` working days on the policy's calendar (``"5wd"``)."""

    days: int

    def __str__(self) -> str:
        return f"{self.days}wd"


# A policy duration: calendar time, or working days.
Duration = timedelta | WorkingDays


@dataclass(frozen=True)
class WorkCalendar:
    """Which local dates are working days, and how a duration lands on them."""

    country: str = "CN"
    timezone: str = "Asia/Shanghai"
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _public(self) -> holidays.HolidayBase:
        return holidays.country_holidays(self.country)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        return bool(self._public.is_working_day(day))

    def add(self, start: datetime, duration: Duration, *, backwards: bool = False) -> datetime:
        """``start`` moved by ``duration`` (forwards, or back for a reminder before a deadline)."""
        if isinstance(duration, timedelta):
            return start - duration if backwards else start + duration
        local = start.astimezone(self._zone)
        day = self._working_day(local.date(), -duration.days if backwards else duration.days)
        moved = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=self._zone)
        return moved.astimezone(start.tzinfo or UTC)

    @cached_property
    def _counted(self) -> dict[tuple[date, int], date]:
        """The days :meth:`_working_day` counted, by its arguments. The calendar never changes, so
        neither does an answer: a day's deadlines (every ruling's refund watch) count it once."""
        return {}

    def _working_day(self, day: date, days: int) -> date:
        """The ``days``-th working day after ``day`` (before it, if ``days`` is negative)."""
        counted = self._counted.get((day, days))
        if counted is None:
            step = timedelta(days=1 if days > 0 else -1)
            counted, remaining = day, abs(days)
            while remaining:
                counted += step
                if self.is_working_day(counted):
                    remaining -= 1
            self._counted[day, days] = counted
        return counted


def validate_country(country: str) -> None:
    """Raise ValueError if the ``holidays`` package does not know ``country``."""
    if country not in holidays.list_supported_countries():
        raise ValueError(f"{country!r} is not a country code the holidays package knows")


def validate_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise ValueError(f"{name!r} is not a time zone name like 'Asia/Shanghai'") from None
