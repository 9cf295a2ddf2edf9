"""``UTCDateTime``'s bind conversion: its one-call path for UTC values gives what SQLAlchemy's
composition (``process_bind_param``, then the column type's own) gives, on each dialect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from arbitration.db import UTCDateTime

VALUES = [
    None,
    datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 11, 30, 7, 0, 0, 5, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1, minutes=30))),
    datetime(2026, 11, 30, 12, 0, tzinfo=timezone(timedelta(0), "Z")),  # UTC, not ``UTC``
]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=lambda d: d.name)
def test_binding_gives_what_sqlalchemys_composition_gives(dialect: Dialect) -> None:
    bound = UTCDateTime().dialect_impl(dialect)
    ours = bound.bind_processor(dialect)
    theirs: Any = TypeDecorator.bind_processor(bound, dialect)
    assert ours is not None and theirs is not None
    for value in VALUES:
        assert ours(value) == theirs(value)
        assert type(ours(value)) is type(theirs(value))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=lambda d: d.name)
def test_a_naive_time_is_refused(dialect: Dialect) -> None:
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    with pytest.raises(ValueError, match="naive datetimes"):
        process(datetime(2026, 11, 30, 12, 0))


@pytest.mark.parametrize(
    ("given", "read"),
    [
        (None, None),
        ("2026-11-30 12:00:00.123456", datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-30 12:00:00", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
    ],
)
def test_sqlite_text_reads_as_aware_utc(given: str | None, read: datetime | None) -> None:
    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert process is not None
    value = process(given)
    assert value == read
    assert value is None or value.tzinfo is UTC


@pytest.mark.parametrize(
    "given",
    [
        datetime(2026, 11, 30, 12, 0, 0, 5, tzinfo=UTC),
        datetime(2026, 11, 30, 7, 0, 0, 5, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 11, 30, 12, 0, 0, 5),  # a driver handing back naive UTC
    ],
)
def test_postgresql_values_read_as_aware_utc(given: datetime) -> None:
    dialect = postgresql.dialect()
    process = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert process is not None
    value = process(given)
    assert value == datetime(2026, 11, 30, 12, 0, 0, 5, tzinfo=UTC)
    assert value.tzinfo is UTC
    assert process(None) is None
