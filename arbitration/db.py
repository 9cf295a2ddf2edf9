"""Engines, the declarative base, the column types, the unit of work and the statements run in it.

How an engine's dialect begins, commits and queues (SQLite's writer lock and writer connection,
PostgreSQL's pipelines): ``arbitration.dialects``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Executable,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.elements import SQLCoreOperations
from sqlalchemy.types import TypeDecorator

from arbitration import dialects, json_text, party_standing, statements
from arbitration.events import Handlers

DEFAULT_DATABASE_FILE = "arbitration.db"
_KEPT = "arbitration.kept"
# A unit of work's connection, kept by ``execute_core``: its transaction is the unit's.
_CONNECTION = "arbitration.connection"
# How many loaded rows a write unit of work keeps alive (see ``WriteSession``): a request's handful,
# not a bulk command's thousands (those fall back to the identity map's weak references).
KEEP_AT_MOST = 1_000


def database_url_from_env(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    """``ARBITRATION_DATABASE_URL``, or a SQLite file in the working directory."""
    url = environ.get("ARBITRATION_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``, its connections run by ``arbitration.dialects``, its JSON columns
    written by ``arbitration.json_text``."""
    if not url.startswith("sqlite"):
        postgres_url = make_url(url)
        if postgres_url.drivername in dialects.PSYCOPG_DRIVERS:
            postgres_url = postgres_url.set(drivername=dialects.POSTGRES_FOR_MONEY)
        return create_engine(postgres_url, pool_pre_ping=True, json_serializer=json_text.dumps)
    sqlite_url = make_url(url)
    if sqlite_url.drivername in ("sqlite", "sqlite+pysqlite"):
        sqlite_url = sqlite_url.set(drivername=dialects.SQLITE_FOR_MONEY)
    in_memory = sqlite_url.database in (None, "", ":memory:") or "mode=memory" in url
    return create_engine(
        sqlite_url,
        connect_args={"timeout": dialects.SQLITE_BUSY_TIMEOUT_MS / 1000},
        json_serializer=json_text.dumps,
        **({} if in_memory else {"poolclass": dialects.WriterKeepingPool}),
    )


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back timezone-aware UTC, on SQLite (naive text) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:  # the clock's are UTC already: no conversion
            if value.tzinfo is None:
                raise ValueError("naive datetimes are not accepted; use the injected clock")
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """SQLAlchemy's: ``process_bind_param``, then the column type's own conversion. A value in
        UTC (the clock's) takes only the type's own, and None neither: one call a value rather than
        four, and a write binds a dozen and more. The type's own reads the fields (SQLite's writes
        them as text), so it takes the aware value as it takes ``process_bind_param``'s naive copy."""
        convert = super().bind_processor(dialect)
        assert convert is not None
        store = self.impl_instance.bind_processor(dialect)

        def process(value: datetime | None) -> Any:
            if value is None:
                return None
            if value.tzinfo is not UTC:
                return convert(value)
            return value if store is None else store(value)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """The column type's own conversion (SQLite's parses the text), then the value made UTC:
        what SQLAlchemy's composition with a ``process_result_value`` does, in one call a value
        rather than three (a row read holds several)."""
        parse = self.impl_instance.result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if parse is not None:
                value = parse(value)
            read: datetime = value
            return read.replace(tzinfo=UTC) if read.tzinfo is None else read.astimezone(UTC)

        return process


def not_by_index(column: SQLCoreOperations[str]) -> ColumnElement[str]:
    """``column`` as an expression no index can look up (``column || ''``, the same text), for a
    condition that should filter the rows an index walk finds rather than choose the index.

    SQLite plans without statistics (the engine never gathers them), so among two indexes it
    may take the one that matches a condition over the one whose order is the query's, then sort
    every match: a list of the newest 50 among a million closed disputes read them all. Where a
    list says which index should drive it, the other conditions go through here. PostgreSQL,
    which plans by its statistics, is left the same driving index, the one the list wants.
    """
    return column.concat("")


def execute_core(
    session: Session,
    statement: Executable,
    params: dict[str, Any] | list[dict[str, Any]] | None = None,
    *,
    flush: bool = True,
) -> statements.Ran:
    """Run a statement that needs no ORM objects (an UPDATE by key, a look-up of ids) on the
    session's connection, in its transaction: a quarter of the cost of ``Session.execute``, and
    less again for a statement built once at import and marked ``statements.prepared``.

    It flushes first, as ``Session.execute`` would (``flush=False`` when the statement cannot
    depend on anything pending); rows it changes are not synchronised into the session.
    """
    return statements.run(_connection_of(session, flush), statement, params)


def execute_core_together(
    session: Session,
    runs: Sequence[tuple[Executable, dict[str, Any] | None]],
    *,
    flush: bool = True,
) -> Sequence[statements.Ran]:
    """``execute_core`` for statements whose answers are all read, in order: on PostgreSQL in one
    round trip (``statements.run_together``), each on its own snapshot as it starts."""
    return statements.run_together(_connection_of(session, flush), runs)


def execute_later(
    session: Session,
    statement: Executable,
    params: dict[str, Any] | list[dict[str, Any]] | None = None,
    *,
    flush: bool = True,
) -> None:
    """``execute_core`` for a write whose result is not read and whose failure is a bug (nothing
    catches it): on PostgreSQL it goes out with the next statement or the commit, in the same
    round trip (``statements.run_later``); on SQLite it runs at once."""
    statements.run_later(_connection_of(session, flush), statement, params)


def _connection_of(session: Session, flush: bool) -> Connection:
    if flush:
        session.flush()
    connection: Connection | None = session.info.get(_CONNECTION)
    if connection is None:
        connection = session.connection()
        if _CONNECTION in session.info:
            session.info[_CONNECTION] = connection
    return connection


class WriteSession(Session):
    """The session of a write unit of work: it keeps the rows it loaded or wrote alive until it ends.

    SQLAlchemy's identity map holds clean objects weakly, so an order looked up by one step of a
    use case and dropped was selected again by the next (three times in a ruling). A unit of work
    lives for one request: keeping its few objects costs nothing and saves those round trips.
    """


@event.listens_for(WriteSession, "loaded_as_persistent")
@event.listens_for(WriteSession, "pending_to_persistent")
@event.listens_for(WriteSession, "detached_to_persistent")  # a row inserted or read as plain values
def _keep(session: Session, instance: object) -> None:
    kept: list[object] = session.info.setdefault(_KEPT, [])
    if len(kept) < KEEP_AT_MOST:
        kept.append(instance)


@dataclass(frozen=True)
class Database:
    """The engine and the domain-event handlers every unit of work on it runs before commit.

    Built once by the composition root (``api.wiring.build``), so a handler registered there runs
    whichever entry point made the change: the API, the worker, the CLI or a test.
    """

    engine: Engine
    handlers: Handlers = field(default_factory=Handlers)

    @contextmanager
    def unit_of_work(
        self, *, read_only: bool = False, on: Connection | None = None
    ) -> Iterator[Session]:
        """One transaction: the handlers of the events it recorded run in it, then it commits;
        if anything raises, everything rolls back.

        ``on``: a write's connection from :meth:`lookup`, which found its caller, to run on rather
        than take another from the pool (on PostgreSQL each checkout pings the server first). It
        stays the caller's to close. On a SQLite file every write runs on the pool's writer
        connection instead (``dialects.WriterKeepingPool``): the pages it finds in that connection's
        cache save more than the second checkout costs.
        """
        factory = Session if read_only else WriteSession
        bind: Engine | Connection = self.engine
        writer: Connection | None = None
        if not read_only and type(self.engine.pool) is dialects.WriterKeepingPool:
            bind = writer = dialects.writer_connection(self.engine)
        elif on is not None:
            assert not read_only, "a lookup's connection is reused for writes only"
            bind = _writable(on)
        try:
            with (
                factory(bind=bind, expire_on_commit=False, autoflush=True) as session,
                session.begin(),
            ):
                if read_only:
                    # Marked on the connection, not by binding an ``Engine.execution_options``
                    # copy: such a copy walks its own listeners and the engine's on every statement.
                    session.connection(execution_options=dialects.READ_ONLY_OPTIONS)
                session.info[party_standing.SESSION_KEY] = self.handlers.party_standing
                session.info[_CONNECTION] = None  # ``execute_core`` keeps it once one needs it
                yield session
                self.handlers.dispatch(session)
        finally:
            if writer is not None:
                writer.close()

    def lookup(self) -> Connection:
        """A connection outside any unit of work, for reads that need no snapshot (a write's
        caller, found before its body is read), with no transaction: on SQLite no BEGIN, so no
        writer lock is taken and no snapshot held; on PostgreSQL no BEGIN and no ROLLBACK go to
        the server (two round trips of a write's few).

        Use it as ``with database.lookup() as connection``: the connection is its own context
        manager (a generator's would cost a write request a dozen calls more). Its mode waits on
        the pooled connection (``dialects.begin_none``; ``_writable`` undoes it)."""
        connection = self.engine.connect()
        dialects.begin_none(connection)
        return connection

    def dispose(self) -> None:
        self.engine.dispose()


def _writable(connection: Connection) -> Connection:
    """A :meth:`Database.lookup` connection made a write's: the look-up's transaction (none on the
    server) ended, and its mode undone, so the unit of work's session begins its own (``BEGIN
    IMMEDIATE`` on SQLite) and commits it."""
    connection.rollback()
    dialects.forget_begin(connection)
    return connection


def reads_are_current(session: Session) -> bool:
    """True when a row ``session`` read is still the database's row, and stays so until commit.

    So on SQLite in a write unit of work: its transaction began ``BEGIN IMMEDIATE`` (SQLite lets
    one writer in at a time and it is this one, from its first statement: no one else can change
    a row before it commits), and its session lives for that one transaction (a ``WriteSession``
    is only made by ``Database.unit_of_work``), so nothing it holds was read before. A
    compare-and-set on what it read then cannot fail. Not on PostgreSQL, where a row read without
    a lock can change under the reader, nor on a connection marked to begin deferred or not at all.
    """
    if type(session) is not WriteSession:
        return False
    connection: Connection = session.info.get(_CONNECTION) or session.connection()
    return dialects.begins_immediate(connection)
