"""Working days (DESIGN §1a): "5wd" counts on the policy's calendar, across China's Spring Festival
and its make-up working Saturdays, and a deadline never lands on a day off.

The 2026 Spring Festival break runs Sunday 15 to Monday 23 February; Saturday 14 and Saturday 28
February are make-up working days (the ``holidays`` package knows both).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from arbitration.calendar import WorkCalendar, WorkingDays
from arbitration.policy import load_policy
from arbitration.policy_file import PolicyError, parse_span

CN = WorkCalendar()


def beijing(month: int, day: int, hour: int = 10) -> datetime:
    """A Beijing wall-clock time in 2026, as the UTC moment the engine stores."""
    return datetime(2026, month, day, hour - 8, tzinfo=UTC)


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before the break
        (date(2026, 2, 14), True),  # Saturday, a make-up working day
        (date(2026, 2, 16), False),  # Chinese New Year's Eve
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 2, 21), False),  # an ordinary Saturday inside the break
        (date(2026, 2, 23), False),  # Monday, a day off in lieu
        (date(2026, 2, 24), True),  # back to work
        (date(2026, 2, 28), True),  # Saturday, a make-up working day
        (date(2026, 3, 7), False),  # an ordinary Saturday
    ],
)
def test_the_cn_calendar_knows_the_spring_festival_and_its_make_up_saturdays(
    day: date, working: bool
) -> None:
    assert CN.is_working_day(day) is working


def test_three_working_days_from_the_friday_before_the_spring_festival() -> None:
    # Saturday 14 counts (make-up day), the break does not: Sat 14, Tue 24, Wed 25.
    assert CN.add(beijing(2, 13), WorkingDays(3)) == beijing(2, 25)


def test_five_working_days_across_the_break_and_the_make_up_saturday() -> None:
    # Thu 12 → Fri 13, Sat 14, Tue 24, Wed 25, Thu 26.
    assert CN.add(beijing(2, 12), WorkingDays(5)) == beijing(2, 26)
    # Wed 25 → Thu 26, Fri 27, Sat 28 (make-up), Mon 2 Mar, Tue 3 Mar.
    assert CN.add(beijing(2, 25), WorkingDays(5)) == beijing(3, 3)


def test_a_deadline_that_would_land_in_the_break_moves_to_the_next_working_day_same_time() -> None:
    due = CN.add(beijing(2, 14, hour=17), WorkingDays(1))
    assert due == beijing(2, 24, hour=17)
    assert due.astimezone(CN._zone).hour == 17


def test_working_days_count_local_dates_not_utc_ones() -> None:
    # 23:30 UTC on Friday 13 is already Saturday 14 (a make-up working day) in Beijing.
    late_friday_utc = datetime(2026, 2, 13, 23, 30, tzinfo=UTC)
    assert CN.add(late_friday_utc, WorkingDays(1)) == datetime(2026, 2, 23, 23, 30, tzinfo=UTC)


def test_started_on_a_day_off_counts_from_the_next_working_day() -> None:
    assert CN.add(beijing(2, 18), WorkingDays(1)) == beijing(2, 24)


def test_calendar_time_is_not_moved() -> None:
    assert CN.add(beijing(2, 16), timedelta(hours=48)) == beijing(2, 18)


def test_extra_holidays_and_workdays_from_the_policy(tmp_path: Path) -> None:
    policy = load_policy(
        write_policy(
            tmp_path,
            '[calendar]\nextra_holidays = [2026-03-02]\nextra_workdays = ["2026-03-07"]\n'
            '[deadlines]\nseller_fulfilment = "2wd"\n',
        )
    )
    # Fri 27 Feb → Sat 28 (make-up, from the package), Mon 2 Mar is a company holiday, Tue 3 Mar.
    assert policy.due_after("seller_fulfilment", beijing(2, 27)) == beijing(3, 3)
    # Fri 6 Mar → Sat 7 (an extra working day), Mon 9.
    assert policy.due_after("seller_fulfilment", beijing(3, 6)) == beijing(3, 9)


def test_refund_confirmation_is_three_working_days_by_default() -> None:
    policy = load_policy()
    assert policy.due_after("refund_confirmation", beijing(2, 13)) == beijing(2, 25)
    assert policy.due_before("reminder_before", beijing(2, 25)) == beijing(2, 24)


@pytest.mark.parametrize(
    ("text", "expected"), [("5wd", WorkingDays(5)), ("48h", timedelta(hours=48))]
)
def test_a_span_is_calendar_time_or_working_days(text: str, expected: object) -> None:
    assert parse_span(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[deadlines]\nseller_fulfilment = "0wd"', "deadlines.seller_fulfilment"),
        ('[deadlines]\nreminder_before = "1wd"', "deadlines.reminder_before"),
        ('[calendar]\ncountry = "XX"', "calendar.country"),
        ('[calendar]\ntimezone = "Mars/Olympus"', "calendar.timezone"),
        ('[calendar]\nextra_holidays = ["13 Feb"]', "calendar.extra_holidays[0]"),
        (
            "[calendar]\nextra_holidays = [2026-03-07]\nextra_workdays = [2026-03-07]",
            "calendar.extra_workdays",
        ),
        ('[calendar]\ncountri = "CN"', "calendar.countri"),
    ],
)
def test_a_bad_calendar_or_working_day_duration_names_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, text))
    assert caught.value.key == key


@pytest.mark.parametrize("days", [1, 3, 5, 12])
def test_a_span_counted_again_lands_where_counting_day_by_day_does(days: int) -> None:
    calendar = WorkCalendar(extra_holidays=frozenset({date(2026, 3, 2)}))
    for offset in range(60):
        start = beijing(2, 1) + timedelta(days=offset, hours=offset % 7)
        for backwards in (False, True):
            day, step = start.astimezone(calendar._zone).date(), -1 if backwards else 1
            remaining = days
            while remaining:
                day += timedelta(days=step)
                remaining -= calendar.is_working_day(day)
            # The first count and the one the calendar remembers give the same answer.
            for _ in range(2):
                moved = calendar.add(start, WorkingDays(days), backwards=backwards)
                assert moved.astimezone(calendar._zone).date() == day
                assert (
                    moved.astimezone(calendar._zone).time()
                    == start.astimezone(calendar._zone).time()
                )
