"""The SQL a block runs, as SQLite itself sees it: for ``bench.profile`` and the tests that count
statements (this module needs nothing beyond the project's own dependencies)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL ``engine``'s SQLite connections run inside the block, in order, as SQLite itself
    sees it: ``BEGIN`` and ``COMMIT`` included, and an ``executemany`` once per row. A cursor
    listener would hear less, and would send every later statement down SQLAlchemy's own path
    instead of ``statements.prepared``'s."""
    seen: list[str] = []

    def trace(dbapi_connection: sqlite3.Connection, *_: object) -> None:
        dbapi_connection.set_trace_callback(seen.append)

    def untrace(dbapi_connection: sqlite3.Connection, *_: object) -> None:
        dbapi_connection.set_trace_callback(None)

    event.listen(engine.pool, "checkout", trace)
    event.listen(engine.pool, "checkin", untrace)
    try:
        yield seen
    finally:
        event.remove(engine.pool, "checkout", trace)
        event.remove(engine.pool, "checkin", untrace)
