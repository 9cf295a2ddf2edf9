"""How SQLite and PostgreSQL run the engine's transactions: the dialects, and SQLite's writer connection.

SQLite is tuned for money (STYLE.md): WAL, ``synchronous=FULL``, a busy timeout, and write
transactions that start with ``BEGIN IMMEDIATE`` so that a read-then-write never fails half-way
under contention. Read-only units of work start a plain deferred ``BEGIN`` and never block writers;
a look-up outside any unit of work (``db.Database.lookup``) starts no transaction at all.

PostgreSQL's connections go through ``PostgresForMoney``, which sends a transaction's ``BEGIN`` and
the writes whose answer nobody reads together with the next statement: a round trip to the server
costs more than most statements do there; the dialect, not psycopg, runs the transactions, and the
engine's statements go to libpq through psycopg's C part (``arbitration.libpq``).

SQLite takes one writer at a time, and a writer that finds the file locked sleeps in SQLite's busy
handler (1 ms, 2 ms, 5 ms ... up to 100 ms at a time) while others may take the lock ahead of it: under
a few concurrent clients, some writes waited a second. Within one process, writers therefore queue
on a lock of the engine's (taken before ``BEGIN IMMEDIATE``, given back at commit or rollback), so
they take the file in turn; the busy handler then only arbitrates between processes. The write
units of work also take turns on one connection of their own (``WriterKeepingPool``), whose page
cache no other connection's commit empties.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from arbitration import libpq, statements

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 65_536
# The writer connection's cache (``WriterKeepingPool``), which no other commit empties: the pages
# every write passes through (the b-trees' upper levels, the leaves rows are added to) fit well
# within it, and a bound this size keeps a server's memory flat as the database grows.
SQLITE_WRITER_CACHE_KIB = 8_192

# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
_POSTGRES_BUSY_STATES = frozenset({"40001", "40P01", "55P03"})
_HOLDS_WRITER_LOCK = "arbitration.holds_writer_lock"
# Execution options ``SQLiteForMoney`` reads: a deferred BEGIN, or none at all (autocommit).
_READ_ONLY = "read_only"
_NO_TRANSACTION = "arbitration.no_transaction"
_BEGIN = "arbitration.begin"
_BEGIN_DEFERRED = "deferred"
_BEGIN_NONE = "none"
# The driver names ``db.make_engine`` gives a SQLite URL and a psycopg one, registered for
# ``SQLiteForMoney`` and ``PostgresForMoney``.
SQLITE_FOR_MONEY = "sqlite+arbitration"
POSTGRES_FOR_MONEY = "postgresql+arbitration"
PSYCOPG_DRIVERS = ("postgresql+psycopg", "postgresql+psycopg3")
# PostgreSQL's transaction statements (``PostgresForMoney``), and where it keeps a connection's
# isolation level (in the driver connection's ``__dict__``).
_BEGIN_TRANSACTION: statements.Waiting = ("BEGIN", None, False, None, None)
_COMMIT: statements.Waiting = ("COMMIT", None, False, None, None)
_ROLLBACK: statements.Waiting = ("ROLLBACK", None, False, None, None)
_ISOLATION = "arbitration_isolation_level"
_AUTOCOMMIT = "AUTOCOMMIT"
_IDLE = TransactionStatus.IDLE
# Statements after which the server's prepared statements may be gone: ``libpq.send`` prepares
# anew.
_DROPS_PREPARED = re.compile(r"\s*(DISCARD|DEALLOCATE)\b", re.IGNORECASE).match
# A read unit of work's connection (``db.Database.unit_of_work``): it begins deferred.
READ_ONLY_OPTIONS = {_READ_ONLY: True}
_SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")


class WriterKeepingPool(QueuePool):
    """SQLAlchemy's pool, plus one SQLite connection kept for the write units of work.

    SQLite empties a connection's page cache whenever another connection has committed since its
    last transaction, so a write on one of the pool's connections read every page it needed again
    (under four clients, 79 read calls a ruling; 12 now). Writes go one at a time anyway (the
    dialect's writer lock): on one connection of their own, whose cache only they change, they
    find their pages in memory. ``Database.unit_of_work`` asks for it (:func:`writer_connection`);
    waiting for it is waiting for the previous write to end, and a write that waited as long as
    SQLite's busy timeout takes another connection and waits in SQLite instead, as before.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer: ConnectionPoolEntry | None = None
        self._writer_free = threading.Lock()

    def _do_get(self) -> ConnectionPoolEntry:
        if not getattr(_WANTS_WRITER, "asked", False):
            return super()._do_get()
        if not self._writer_free.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            return super()._do_get()
        try:
            if self._writer is None:
                self._writer = self._create_connection()
        except BaseException:
            self._writer_free.release()
            raise
        return self._writer

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        if record is self._writer:
            self._writer_free.release()
        else:
            super()._do_return_conn(record)

    def dispose(self) -> None:
        super().dispose()
        if self._writer is not None and self._writer_free.acquire(blocking=False):
            try:
                self._writer.close()
                self._writer = None
            finally:
                self._writer_free.release()


_WANTS_WRITER = threading.local()


def writer_connection(engine: Engine) -> Connection:
    """A connection for a write unit of work: the pool's writer connection on SQLite (see
    :class:`WriterKeepingPool`), any pooled connection elsewhere."""
    _WANTS_WRITER.asked = True
    try:
        return engine.connect()
    finally:
        _WANTS_WRITER.asked = False


class _BeginsAsAsked:
    """How a dialect learns how the next transaction begins: from the execution options
    ``read_only`` (a read) and ``arbitration.no_transaction`` (a look-up, no transaction at all),
    left on the pooled connection for its ``do_begin``."""

    def set_connection_execution_options(
        self, connection: Connection, opts: Mapping[str, Any]
    ) -> None:
        super().set_connection_execution_options(connection, opts)  # type: ignore[misc]
        begin = _begin_mode(opts)
        if begin is not None:
            connection.connection.info[_BEGIN] = begin

    def set_engine_execution_options(self, engine: Engine, opts: Mapping[str, Any]) -> None:
        """``engine.execution_options(read_only=True)``: each of its connections, as it opens."""
        super().set_engine_execution_options(engine, opts)  # type: ignore[misc]
        begin = _begin_mode(opts)
        if begin is not None:

            @event.listens_for(engine, "engine_connect")
            def _mark(connection: Connection) -> None:
                connection.connection.info[_BEGIN] = begin


def _begin_mode(opts: Mapping[str, Any]) -> str | None:
    if opts.get(_NO_TRANSACTION, False):
        return _BEGIN_NONE
    if opts.get(_READ_ONLY, False):
        return _BEGIN_DEFERRED
    return None


class SQLiteForMoney(_BeginsAsAsked, SQLiteDialect_pysqlite):
    """pysqlite, with the pragmas and the transactions money needs (see the module docstring).

    Both are the dialect's own hooks rather than engine event listeners, as SQLAlchemy's recipe
    has them: one listener on an engine makes every statement walk its event hooks, about 30
    function calls of a statement's 60 to 90.

    How a transaction begins is chosen by the connection's execution options, which the dialect
    hears as they are set and leaves on the pooled connection for the ``BEGIN`` that follows:
    ``read_only`` begins deferred, ``arbitration.no_transaction`` begins none, and anything else
    (a write) ``BEGIN IMMEDIATE``.
    """

    supports_statement_cache = True  # a subclass must say so, or SQLAlchemy compiles every time

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writers = threading.Lock()

    def on_connect(self) -> Callable[[Any], None]:
        connected = super().on_connect()

        def configure(dbapi_connection: Any) -> None:
            if connected is not None:
                connected(dbapi_connection)
            # Let ``do_begin`` emit BEGIN itself instead of pysqlite's implicit one.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Hot indexes stay in memory (the writer connection's: see SQLITE_WRITER_CACHE_KIB).
            writer = getattr(_WANTS_WRITER, "asked", False)
            cursor.execute(
                f"PRAGMA cache_size=-{SQLITE_WRITER_CACHE_KIB if writer else SQLITE_CACHE_KIB}"
            )
            cursor.close()

        return configure

    def do_begin(self, dbapi_connection: Any) -> None:
        begin = dbapi_connection.info.pop(_BEGIN, None)
        if begin == _BEGIN_NONE:
            return  # pysqlite without isolation level: each statement commits on its own
        if begin == _BEGIN_DEFERRED:
            dbapi_connection.execute("BEGIN")
            return
        # Bounded like the busy timeout: a thread that already writes on another connection (which
        # would wait on itself) falls back to SQLite's own waiting and its "database is locked".
        if self._writers.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            dbapi_connection.info[_HOLDS_WRITER_LOCK] = True
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._give_back(dbapi_connection)
            raise

    def do_commit(self, dbapi_connection: Any) -> None:
        try:
            super().do_commit(dbapi_connection)  # type: ignore[no-untyped-call]
        finally:
            self._give_back(dbapi_connection)

    def do_rollback(self, dbapi_connection: Any) -> None:
        try:
            super().do_rollback(dbapi_connection)  # type: ignore[no-untyped-call]
        finally:
            self._give_back(dbapi_connection)

    def _give_back(self, dbapi_connection: Any) -> None:
        """The transaction is over: the next writer in this process may begin, and a mode set
        for a transaction that never began does not leak to the connection's next user."""
        try:
            info = dbapi_connection.info
        except NotImplementedError:  # the engine's first connect, before the pool hands it out
            return
        info.pop(_BEGIN, None)
        if info.pop(_HOLDS_WRITER_LOCK, False):
            self._writers.release()


registry.register(SQLITE_FOR_MONEY.replace("+", "."), __name__, SQLiteForMoney.__name__)


class PostgresForMoney(_BeginsAsAsked, PGDialect_psycopg):
    """psycopg, sending what needs no answer with what does: fewer round trips to the server.

    On PostgreSQL every statement is a round trip, and on a busy server each costs more than what
    most of a write's statements do there (waking the server's process, then this one): a ruling
    took sixteen. Two things wait on the connection (``statements.QUEUED``) for the next statement,
    whichever path runs it (the fast path's ``statements.run``, or SQLAlchemy's, which calls these
    hooks), or for the ``COMMIT``, and go out with it in one psycopg pipeline, one round trip:

    - the writes nobody reads (``statements.run_later``);
    - a transaction's ``BEGIN`` (``do_begin``).

    The dialect runs the transactions, not psycopg: the driver connection stays in autocommit
    (psycopg would send its own ``BEGIN`` before the first statement and wait for its answer, and
    switching it in and out of autocommit costs a request a hundred calls), the isolation level
    is kept for the ``BEGIN`` (``set_isolation_level``), and a look-up begins none. The ``COMMIT``
    and the ``ROLLBACK`` go through ``libpq`` as the fast path's statements do.

    A rollback drops what still waits: the server never saw it, and a transaction that sent
    nothing costs nothing. A failure among them surfaces at the statement or the commit they went
    out with, and the transaction rolls back as for any failure.
    """

    supports_statement_cache = True  # a subclass must say so, or SQLAlchemy compiles every time
    sends_together = True  # read by ``statements.run_later``

    def on_connect(self) -> Callable[[Any], None]:
        connected = super().on_connect()  # type: ignore[no-untyped-call]

        def configure(dbapi_connection: Any) -> None:
            dbapi_connection.autocommit = True  # psycopg begins nothing: ``do_begin`` does
            # ``libpq.send`` prepares statements; psycopg's own preparing would drop them all
            # (``DEALLOCATE ALL``) whenever it sees a rollback, even to a savepoint.
            dbapi_connection.prepare_threshold = None
            if connected is not None:
                connected(dbapi_connection)

        return configure

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        """Kept for ``do_begin``'s ``BEGIN``: the driver connection stays in autocommit."""
        dbapi_connection.__dict__[_ISOLATION] = level

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        level = dbapi_connection.__dict__.get(_ISOLATION)
        if level is None:  # as the server begins a transaction by default
            return super().get_isolation_level(dbapi_connection)  # type: ignore[no-untyped-call]
        return level

    def do_begin(self, dbapi_connection: Any) -> None:
        """The transaction's ``BEGIN`` waits for its first statement, and goes out with it: none
        for a look-up (``arbitration.no_transaction``) or in autocommit."""
        try:
            info = dbapi_connection.info
        except NotImplementedError:  # the engine's first connect: its reads need no transaction
            return
        if info.pop(_BEGIN, None) == _BEGIN_NONE:
            return
        level = dbapi_connection.dbapi_connection.__dict__.get(_ISOLATION)
        if level == _AUTOCOMMIT:
            return
        if level is None or level == self.default_isolation_level:
            info[statements.QUEUED] = [_BEGIN_TRANSACTION]
        else:
            info[statements.QUEUED] = [(f"BEGIN ISOLATION LEVEL {level}", None, False, None, None)]

    def do_ping(self, dbapi_connection: Any) -> bool:
        """The pool's check of a connection it hands out, through ``libpq.send``: psycopg's
        cursor would take the connection in and out of autocommit around it (no transaction
        for a ping), and cost a request a hundred calls."""
        if dbapi_connection._pipeline is not None:  # never so in the pool: psycopg's own way
            return bool(super().do_ping(dbapi_connection))  # type: ignore[no-untyped-call]
        libpq.send(dbapi_connection, [(self._dialect_specific_select_one, None, False)])
        return True

    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        _after_queued(cursor, context, lambda: cursor.execute(statement, parameters))
        if _DROPS_PREPARED(statement):
            libpq.forget_prepared(cursor.connection)

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        self.do_execute(cursor, statement, None, context)

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        _after_queued(cursor, context, lambda: cursor.executemany(statement, parameters))

    def do_commit(self, dbapi_connection: Any) -> None:
        """What waits, and the ``COMMIT`` as its last statement: one round trip. Nothing when
        only the ``BEGIN`` waited: the server saw nothing."""
        queued = _transaction_ended(dbapi_connection)
        driver_connection = dbapi_connection.dbapi_connection
        if queued and not (len(queued) == 1 and queued[0][0].startswith("BEGIN")):
            _send(driver_connection, [*queued, _COMMIT])
        elif not queued and driver_connection.pgconn.transaction_status != _IDLE:
            _send(driver_connection, [_COMMIT])

    def do_rollback(self, dbapi_connection: Any) -> None:
        """What waits is dropped, unsent; the ``ROLLBACK`` goes through ``libpq``."""
        _transaction_ended(dbapi_connection)
        driver_connection = dbapi_connection.dbapi_connection
        if driver_connection.pgconn.transaction_status != _IDLE:
            _send(driver_connection, [_ROLLBACK])


def _send(driver_connection: Any, waiting: statements.Queued) -> None:
    if libpq.ready(driver_connection):
        libpq.send(driver_connection, list(statements.shared(waiting)))
        return
    with driver_connection.pipeline():  # never so at a transaction's end: psycopg's own way
        statements.send_queued(driver_connection, waiting)


def _after_queued(cursor: Any, context: Any, send: Callable[[], object]) -> None:
    """``send`` a statement on ``cursor`` (SQLAlchemy's path), after what waits on its connection
    (a ``BEGIN``, writes), in one pipeline with them if writes wait. A ``BEGIN`` alone goes
    first, through ``libpq``: a psycopg pipeline costs a hundred calls and more, a round trip on
    a read costs less (the fast path's statements take theirs with them). So does what waits
    before a server-side cursor (a streamed read, ``yield_per``): psycopg runs none in a
    pipeline."""
    queued = _take_queued(context)
    if not queued:
        send()
        return
    connection = cursor.connection
    if len(queued) == 1 or getattr(cursor, "name", None) is not None:
        _send(connection, queued)
        send()
        return
    with connection.pipeline():
        statements.send_queued(connection, queued)
        send()


def _take_queued(context: Any) -> statements.Queued | None:
    """The writes waiting on the connection a statement is about to run on, taken off it."""
    if context is None:
        return None
    return _pop_queued(context.root_connection.connection)


def _pop_queued(pooled: Any) -> statements.Queued | None:
    try:
        info = pooled.info
    except (AttributeError, NotImplementedError):  # a bare driver connection (the first connect)
        return None
    queued: statements.Queued | None = info.pop(statements.QUEUED, None)
    return queued


def _transaction_ended(pooled: Any) -> statements.Queued | None:
    """What waited on the connection, taken off it, and the mode of a transaction that never
    began (a look-up's, the pool's rollback as it takes the connection back) dropped: it must not
    reach the connection's next user, whose transaction would then begin none."""
    try:
        info = pooled.info
    except (AttributeError, NotImplementedError):  # a bare driver connection (the first connect)
        return None
    info.pop(_BEGIN, None)
    queued: statements.Queued | None = info.pop(statements.QUEUED, None)
    return queued


registry.register(POSTGRES_FOR_MONEY.replace("+", "."), __name__, PostgresForMoney.__name__)


def is_busy(error: DBAPIError) -> bool:
    """True when the database refused for contention (locked, serialization, deadlock): retryable."""
    if getattr(error.orig, "sqlstate", None) in _POSTGRES_BUSY_STATES:
        return True
    message = str(error.orig).lower()
    return any(busy in message for busy in _SQLITE_BUSY_MESSAGES)


def begin_none(connection: Connection) -> None:
    """Have ``connection`` begin no transaction (a look-up's): the mode is left on the pooled
    connection for the dialect's ``do_begin``, as the execution option
    ``arbitration.no_transaction`` would leave it, without the option's copy of the connection's
    options both ways (fifty calls a write)."""
    connection.connection.info[_BEGIN] = _BEGIN_NONE


def forget_begin(connection: Connection) -> None:
    """Undo :func:`begin_none`: a look-up that ran only fast-path statements (on the driver's
    cursor) never began, and its mode still waits on the connection for the next ``BEGIN``."""
    connection.connection.info.pop(_BEGIN, None)


def begins_immediate(connection: Connection) -> bool:
    """True when ``connection``'s transaction began ``BEGIN IMMEDIATE``: SQLite's, for a write
    (no execution option asked for a deferred ``BEGIN`` or none)."""
    return isinstance(connection.dialect, SQLiteForMoney) and (
        _begin_mode(connection.get_execution_options()) is None
    )
