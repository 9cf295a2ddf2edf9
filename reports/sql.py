"""SQL that differs between SQLite and PostgreSQL, written once: elapsed seconds, the UTC day, and
a median per group.

SQLite has no ``percentile_cont``, so the median is computed the portable way, with window
functions both databases have: number each group's values in order, keep the middle one (or the
two middle ones) and average them. Everything stays in the database; only one row per group
comes back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, FromClause, Select, String, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):  # named like the SQL function it is
    """``end - start`` in seconds, as a float (timestamps as stored by ``UTCDateTime``)."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between)
def _seconds_default(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM {end}) - EXTRACT(EPOCH FROM {start}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


class utc_day(FunctionElement[str]):
    """The UTC calendar day of a timestamp, as ``YYYY-MM-DD`` text."""

    type = String()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"to_char({moment} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"date({moment})"


def grouped_median(values: FromClause) -> Select[Any]:
    """``(key, median)`` per key of ``values``, a selectable with columns ``key`` and ``value``
    (rows whose value is NULL are left out)."""
    key: ColumnElement[Any] = values.c.key
    value: ColumnElement[Any] = values.c.value
    ranked = (
        select(
            key.label("key"),
            value.label("value"),
            func.row_number().over(partition_by=key, order_by=value).label("position"),
            func.count().over(partition_by=key).label("size"),
        )
        .where(value.is_not(None))
        .subquery("ranked")
    )
    # Integer division on both databases: the middle row, or the two middle rows of an even count.
    middle = ranked.c.position.in_([(ranked.c.size + 1) // 2, (ranked.c.size + 2) // 2])
    return (
        select(ranked.c.key, func.avg(ranked.c.value).label("median"))
        .where(middle)
        .group_by(ranked.c.key)
    )
