"""Statements sent to PostgreSQL straight through psycopg's libpq connection.

psycopg's cursor costs about seventy Python function calls a statement before and after libpq
does the work (a cursor, a query object, generators for sending, preparing and fetching, a
pipeline's queue of commands and its bookkeeping), and a ruling sends ten statements: on
PostgreSQL that was the largest share of what the engine's process did for a write, more than
SQLAlchemy's. Everything that costs per value or per byte is in psycopg's C part (``psycopg_binary``:
the parameters' dumping, the rows' loading, the waiting on the socket, libpq itself). ``send``
calls that part directly, with what the statements need and nothing else: a batch of statements
goes out as one pipeline, one round trip, and the answers of the last come back as rows.

The SQL is psycopg's (``%(name)s``), converted to PostgreSQL's (``$1``) once per statement text
with psycopg's own converter; the parameters are dumped by psycopg's transformer, as its cursor
would; the rows are loaded by it too; a failure is raised as psycopg's error for it (so SQLAlchemy
maps it as before: a unique key is an ``IntegrityError``).

Only for a connection that needs no ``BEGIN`` from psycopg (``ready``): the engine's are always
in autocommit (``dialects.PostgresForMoney`` sends a transaction's ``BEGIN`` itself, with the first
statement), and no psycopg pipeline may be open.

Each statement is prepared on the server the first time a connection sends it (in the same
round trip), and then sent by name: the server plans it once per connection rather than at
every run, which for a ruling's statements cost the server more than a millisecond. psycopg's
own preparing is off on these connections (``dialects.PostgresForMoney``): it sends ``DEALLOCATE ALL``
whenever it sees a rollback (even to a savepoint), which drops these too; a ``DEALLOCATE`` or
``DISCARD`` run through SQLAlchemy calls ``forget_prepared``. A pooler in transaction mode must
pass prepared statements through (PgBouncer's ``max_prepared_statements``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from psycopg import errors, pq
from psycopg._queries import _query2pg_nocache
from psycopg.adapt import PyFormat, Transformer
from psycopg.generators import execute, fetch_many

# A statement to send: its SQL as psycopg takes it, its parameters (a dict for named ones, a
# sequence for positional ones, None for none), and whether they are several rows' (each its own
# execution, as an ``executemany``).
Statement = tuple[str, Any, bool]

_FAILED = pq.ExecStatus.FATAL_ERROR
_DONE = pq.ExecStatus.COMMAND_OK
_ROWS = pq.ExecStatus.TUPLES_OK
_TEXT = pq.Format.TEXT

# Each statement text as PostgreSQL takes it: (SQL, the parameter names in order (None for
# positional ones), each parameter's format). The engine's statements are built once, so the
# texts are few; bounded all the same (cleared when full).
_CONVERTED: dict[str, tuple[bytes, list[str] | None, list[PyFormat]]] = {}
_MOST_CONVERTED = 2_000

# The statements a connection prepared (``_prepared_names``), in its ``__dict__``, and how many
# it prepares at most: the engine's statements are a few dozen.
_NAMES = "arbitration_prepared"
_MOST_PREPARED = 500
_NUMBERS = itertools.count()  # a prepared statement's name: unique in the process


def ready(driver_connection: Any) -> bool:
    """True when ``send`` may run on ``driver_connection``: psycopg would send no ``BEGIN`` of its
    own first (it is in autocommit, or a transaction is open), and no pipeline of its is open."""
    if driver_connection._pipeline is not None:
        return False
    if driver_connection.autocommit:
        return True
    return bool(driver_connection.pgconn.transaction_status != pq.TransactionStatus.IDLE)


Answer = tuple[list[Any], int, list[int]]  # a statement's rows, row count and columns' types


def send(driver_connection: Any, batch: Sequence[Statement], answers: int = 1) -> list[Answer]:
    """Send ``batch`` in order, in one round trip, and return the answers of its last ``answers``
    statements: each one's rows (tuples of psycopg's values), its row count, and the type of each
    of its columns (their oids).

    A failing statement raises psycopg's error for it; the server skipped the ones after it, and
    the transaction is aborted, for the caller's rollback. Every parameter is dumped before
    anything is sent: a value psycopg cannot dump raises with nothing sent."""
    pgconn = driver_connection.pgconn
    transformer = Transformer(driver_connection)
    encoding = transformer.encoding
    executions = [
        execution
        for statement in batch
        for execution in _executions(transformer, statement, encoding)
    ]
    names = _prepared_names(driver_connection)
    commands, preparing = _commands(pgconn, executions, names)
    if len(commands) == 1:
        run, arguments = commands[0]
        run(*arguments)
        results = [driver_connection.wait(execute(pgconn))]
    else:
        results = _pipelined(driver_connection, pgconn, commands)
    failed = None
    for position, answered in enumerate(results):
        for result in answered:
            if failed is None and result.status == _FAILED:
                failed = result
        if position in preparing and answered[-1].status == _DONE:
            key, name = preparing[position]
            names[key] = name
    if failed is not None:
        error = errors.error_from_result(failed, encoding=encoding)
        if isinstance(error, errors.InvalidSqlStatementName):  # dropped by someone else
            forget_prepared(driver_connection)  # this transaction fails; the next prepares anew
        raise error
    if preparing:
        results = [
            answered for position, answered in enumerate(results) if position not in preparing
        ]
    found: list[Answer] = []
    end = len(results)
    for _, parameters, many in reversed(batch[len(batch) - answers :]):
        start = end - (len(parameters) if many else 1)  # the statement's executions
        found.append(_answer(transformer, results[start:end]))
        end = start
    found.reverse()
    return found


def forget_prepared(driver_connection: Any) -> None:
    """The server may have dropped this connection's prepared statements: prepare them anew."""
    driver_connection.__dict__.pop(_NAMES, None)


def _prepared_names(driver_connection: Any) -> dict[tuple[bytes, Any], bytes]:
    """The statements prepared on this connection's server session, by SQL and parameter types."""
    names: dict[tuple[bytes, Any], bytes] | None = driver_connection.__dict__.get(_NAMES)
    if names is None:
        names = driver_connection.__dict__[_NAMES] = {}
    return names


def _commands(
    pgconn: Any, executions: list[tuple[bytes, Any, Any, Any]], names: dict[Any, bytes]
) -> tuple[list[tuple[Callable[..., None], tuple[Any, ...]]], dict[int, tuple[Any, bytes]]]:
    """What to send for ``executions``: each as a prepared statement, prepared first where this
    session has not prepared it yet (``preparing``: the position of each such command, with the
    statement's key and name), or as it is once ``_MOST_PREPARED`` are. A statement without
    parameters (``BEGIN``, ``COMMIT``) the server does not plan: it goes as it is."""
    commands: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
    preparing: dict[int, tuple[Any, bytes]] = {}
    new: dict[Any, bytes] = {}  # prepared by this batch: a statement may come twice
    for query, dumped, types, formats in executions:
        key = (query, types)
        name = names.get(key) or new.get(key)
        if name is None and dumped is not None and len(names) + len(new) < _MOST_PREPARED:
            name = new[key] = b"arbitration_%d" % next(_NUMBERS)
            preparing[len(commands)] = (key, name)
            commands.append((pgconn.send_prepare, (name, query, types)))
        if name is None:
            commands.append((pgconn.send_query_params, (query, dumped, types, formats, _TEXT)))
        else:
            commands.append((pgconn.send_query_prepared, (name, dumped, formats, _TEXT)))
    return commands, preparing


def _executions(
    transformer: Any, statement: Statement, encoding: str
) -> list[tuple[bytes, Any, Any, Any]]:
    """(SQL, dumped parameters, their types, their formats) of each execution of ``statement``:
    the arguments of libpq's ``PQsendQueryParams``, in its order."""
    sql, parameters, many = statement
    if parameters is None:
        return [(sql.encode(encoding), None, None, None)]
    query, order, formats = _converted(sql, encoding)
    executions = []
    for given in parameters if many else (parameters,):
        values = [given[name] for name in order] if order is not None else given
        dumped = transformer.dump_sequence(values, formats)
        executions.append((query, dumped, transformer.types, transformer.formats))
    return executions


def _converted(sql: str, encoding: str) -> tuple[bytes, list[str] | None, list[PyFormat]]:
    found = _CONVERTED.get(sql)
    if found is None:
        query, formats, order, _ = _query2pg_nocache(sql.encode(encoding), encoding)
        if len(_CONVERTED) >= _MOST_CONVERTED:
            _CONVERTED.clear()
        found = _CONVERTED[sql] = (query, order, formats)
    return found


def _pipelined(
    driver_connection: Any,
    pgconn: Any,
    commands: list[tuple[Callable[..., None], tuple[Any, ...]]],
) -> list[list[Any]]:
    """Each command's results, sent in one pipeline with one sync."""
    pgconn.enter_pipeline_mode()
    try:
        for run, arguments in commands:
            run(*arguments)
        pgconn.pipeline_sync()
        wait = driver_connection.wait
        results = [wait(execute(pgconn))]
        results += [wait(fetch_many(pgconn)) for _ in range(len(commands) - 1)]
        wait(fetch_many(pgconn))  # the sync's
    finally:
        # Results still pending (the connection broke): it stays so, for the pool to discard.
        with suppress(errors.OperationalError):
            pgconn.exit_pipeline_mode()
    return results


def _answer(transformer: Any, executions: list[list[Any]]) -> Answer:
    rows: list[Any] = []
    count = 0
    types: list[int] = []
    for answered in executions:
        result = answered[-1]
        if result.status == _ROWS:
            transformer.set_pgresult(result)
            rows += transformer.load_rows(0, result.ntuples, tuple)
            count += result.ntuples
            types = [result.ftype(column) for column in range(result.nfields)]
        else:
            count += result.command_tuples or 0
    return rows, count, types
