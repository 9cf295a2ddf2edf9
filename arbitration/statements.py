"""Statements built once, run straight on the database driver's cursor.

A write runs ten to fifteen statements, and SQLAlchemy's ``Connection.execute`` costs about
15 microseconds and 60 to 90 function calls for each before the driver sees it: the cache key, an
execution context, the parameters bound one by one, a cursor result. For a statement that never
changes, most of that work gives the same answer every time. ``prepared(statement)`` marks such a
statement (built at import, or once per process; never per call: each is kept for the life of
the process), and ``run`` does that work once per dialect and shape of parameters: it compiles
the statement as ``Connection.execute`` would and keeps the SQL, where each parameter's value
comes from with its type conversion, and the result columns with theirs. Each later execution
picks and converts the values, calls the cursor, and hands the rows back in a SQLAlchemy
``Result``; a driver's error is raised as SQLAlchemy raises it. About 8 microseconds a statement.

Several rows given to a plain ``INSERT`` go as one statement, ``INSERT ... VALUES (...), (...)``,
compiled once per number of rows (up to ``MOST_ROWS``): the database takes one step for them all
where an ``executemany`` takes one a row, and each step inside a write's transaction holds the
writer lock. The database takes the rows in the order given, but its ``RETURNING`` rows come back
in no promised order: a caller pairs them with its rows by a value it gave (``webhooks.outbox``).
More rows than that, or a statement that is not a plain insert, run as an ``executemany``.

A write whose result nobody reads (an insert of a link, a timer, a ruling; an update of a row
this transaction holds) can wait (``run_later``). On a dialect that sends statements together
(``sends_together``: psycopg's, ``dialects.PostgresForMoney``) it waits on the connection (``QUEUED``)
and goes out with the next statement sent there, or with the ``COMMIT``, in one pipeline
(``libpq.send``): one round trip for them all, where each would cost its own (on PostgreSQL, a
round trip costs more than the statement); writes in a row to different tables go as one
statement (``shared``). Several reads whose answers are all needed can go together too
(``run_together``). Everything still reaches the database in the order it was run, so a later
statement sees the writes before it; what changes is where a failure surfaces: a write that
waited fails at the statement or the commit it went out with, and the transaction rolls back as
for any failure. So only a write whose failure is a bug waits: none that a caller catches (a
unique key that answers 409). Elsewhere (SQLite, whose statements are calls into the process)
it runs at once.

SQLAlchemy's own path still runs a statement it would do more for: one whose compiled form
computes Python-side column defaults or renders parameters at execution time (expanding ``IN``),
an ``executemany`` with ``RETURNING``, a statement that was not prepared, and every statement on
an engine with cursor event listeners (the tests that count statements) or logging. ``ENABLED``
turns the fast path off, for the tests and benchmarks that hold the two paths to each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, CursorResult, Delete, Executable, Insert, Update, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import (
    ArgumentError,
    CompileError,
    DBAPIError,
    InvalidRequestError,
    StatementError,
)
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.util import find_tables

from arbitration import libpq

Statement = TypeVar("Statement", bound=Executable)
Params = dict[str, Any] | list[dict[str, Any]] | None

# How many rows one ``INSERT ... VALUES`` takes at most, and how many values: within what every
# SQLite build accepts (999 before 3.32) and PostgreSQL's 65535, and a bound on the forms kept.
MOST_ROWS = 100
_MOST_VALUES = 999
_EACH = 0  # the ``rows`` of a form run as an ``executemany``, one row at a time


@dataclass(slots=True)
class _Form:
    """A prepared statement compiled for one dialect, one set of parameter names and a number of
    rows (``rows``: 1, ``_EACH`` for an ``executemany``, or that many in one ``VALUES``).

    The shape of the caller's parameters is part of what the form was compiled for, so where
    each value comes from is settled once: the caller's dict under the bind's key (or its compiled
    name), else the value compiled into the statement (``constants``).
    """

    sql: str
    rows: int
    pick: Callable[[dict[str, Any]], Any]  # the values, in the SQL's order, from one dict
    constants: dict[str, Any]
    after: tuple[Any, ...]  # of several rows in one ``VALUES``: the values after the rows'
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, conversion) where needed
    names: tuple[str, ...] | None  # for a dialect with named parameters: their names, in order
    columns: Sequence[Any]  # the compiled result columns (their keys and types)
    metadata: SimpleResultMetaData
    # The result columns whose values a type converts, with how: learnt from the first cursor that
    # returned rows (a type's conversion may depend on the driver's type code for the column).
    converters: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def parameters(self, given: dict[str, Any]) -> list[Any] | dict[str, Any]:
        try:
            values = list(self.pick(self.constants | given if self.constants else given))
        except KeyError as missing:
            raise InvalidRequestError(f"A value is required for bind parameter {missing}") from None
        for position, convert in self.convert:
            values[position] = convert(values[position])
        if self.names is None:
            return values
        return dict(zip(self.names, values, strict=True))

    def parameters_of_rows(self, rows: list[dict[str, Any]]) -> list[Any] | dict[str, Any]:
        """The values of a form that takes several rows in one ``VALUES``: each row's in turn."""
        try:
            values = [value for row in rows for value in self.pick(row)]
        except KeyError as missing:
            raise InvalidRequestError(f"A value is required for bind parameter {missing}") from None
        values += self.after
        for position, convert in self.convert:
            values[position] = convert(values[position])
        if self.names is None:
            return values
        return dict(zip(self.names, values, strict=True))


class _Prepared:
    """What ``run`` keeps for one prepared statement: its forms, by dialect and parameter names,
    and the tables it reads and the one it writes (``_touched``)."""

    __slots__ = ("forms", "reads", "statement", "writes")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self.forms: dict[tuple[type[Dialect], tuple[str, ...], int], _Form | None] = {}
        self.reads, self.writes = _touched(statement)


def _touched(statement: Executable) -> tuple[frozenset[str] | None, str | None]:
    """The tables a write reads (its own, for an update or a delete: its WHERE reads it; any in
    a subquery) and the one it writes: what ``send_queued`` needs to know to send it in one
    statement with others. (None, None) for anything else (a select, a text)."""
    if not isinstance(statement, Insert | Update | Delete):
        return None, None
    target = statement.table.name  # type: ignore[union-attr]
    named = frozenset(table.name for table in find_tables(statement, include_crud=True))
    if isinstance(statement, Insert) and statement.select is None:
        named -= {target}  # its own table is only written (rows of ``VALUES``)
    return named, target


_PREPARED: dict[int, _Prepared] = {}
ENABLED = True


def prepared(statement: Statement) -> Statement:
    """Mark ``statement`` for the fast path of ``run``; returns it unchanged. Only for a statement
    built once (at import, or once per process): each one is kept for the life of the process."""
    _PREPARED.setdefault(id(statement), _Prepared(statement))
    return statement


class _Ran(IteratorResult[*tuple[Any, ...]]):
    """A fast-path result: SQLAlchemy's own ``Result`` over the fetched rows, with ``rowcount``."""

    rowcount: int


# What ``run`` returns either way.
Ran = CursorResult[*tuple[Any, ...]] | _Ran
_NO_COLUMNS = SimpleResultMetaData([])


# A connection's writes waiting to go out (``run_later``), in the pooled connection's ``info``, in
# the order run: (SQL, parameters, as an ``executemany``, the tables it reads, the one it
# writes; None for those two where it may share no statement). ``send_queued`` sends them.
QUEUED = "arbitration.queued"
Waiting = tuple[str, Any, bool, frozenset[str] | None, str | None]
Queued = list[Waiting]
# At most so many parameters and characters in one statement made of several: psycopg's cursor
# (SQLAlchemy's path) converts a statement's placeholders in Python, and keeps the conversion only
# of one within both. ``libpq.send`` keeps its own; raising the bounds for it saved a ruling 18
# calls of 2,583 (ninth session): not worth more statement variants.
_MOST_SHARED_PARAMETERS = 50
_LONGEST_SHARED_SQL = 4_000
_NAMED_PARAMETER = re.compile(r"%\((\w+)\)s")


def run(connection: Connection, statement: Executable, params: Params) -> Ran:
    """Execute ``statement`` on ``connection`` in its current transaction, as
    ``connection.execute`` would, through the fast path when the statement is prepared."""
    found = _fast_form(connection, statement, params)
    if found is None:
        return connection.execute(statement, params)
    form, rows = found
    return _execute(connection, connection.dialect, form, rows)


def run_later(connection: Connection, statement: Executable, params: Params) -> None:
    """Execute a write whose result is not read: queued on a dialect that sends statements
    together (see the module docstring), else at once, as ``run``."""
    found = _fast_form(connection, statement, params) if _sends_together(connection) else None
    if found is None:
        run(connection, statement, params)
        return
    form, rows = found
    parameters = _parameters(form, rows)
    kept = _PREPARED[id(statement)]
    queued: Queued = connection.connection.info.setdefault(QUEUED, [])
    queued.append((form.sql, parameters, form.rows == _EACH, kept.reads, kept.writes))


def _sends_together(connection: Connection) -> bool:
    return getattr(connection.dialect, "sends_together", False) is True


def send_queued(dbapi_connection: Any, queued: Queued) -> None:
    """Send writes that waited, on a driver connection in pipeline mode: their results come back
    with the pipeline's sync (a failure raises there). Writes in a row that can share one
    statement go as one (``shared``): each statement costs the driver a hundred calls."""
    cursor = dbapi_connection.cursor()
    for sql, parameters, many in shared(queued):
        _send(cursor, sql, parameters, many)


def shared(queued: Sequence[Waiting]) -> Iterator[libpq.Statement]:
    """The statements that send ``queued``: writes in a row each in a ``WITH`` of one statement,
    as long as none touches a table an earlier one of them writes.

    PostgreSQL runs the parts of one statement on one snapshot, each blind to the others'
    changes, in an order of its own (a part nothing refers to runs after the last), and checks
    foreign keys at the statement's end. Writes to different tables that read none of the
    others' give the same rows either way; two on one table may not (an update must see the
    insert before it; a unique key must see the cancelled row before the new one). Such a write
    starts a new statement, as does one that may share none (a text, an ``executemany``,
    positional or escaped parameters).
    """
    group: list[Waiting] = []
    written: set[str] = set()
    counted = length = 0
    for waiting in queued:
        sql, parameters, many, reads, writes = waiting
        shareable = (
            reads is not None and not many and isinstance(parameters, dict) and "%%" not in sql
        )
        if group and (
            not shareable
            or writes in written
            or not reads.isdisjoint(written)  # type: ignore[union-attr]
            or counted + len(parameters) > _MOST_SHARED_PARAMETERS
            or length + len(sql) > _LONGEST_SHARED_SQL
        ):
            yield _one_statement(group)
            group, written, counted, length = [], set(), 0, 0
        if not shareable:
            yield sql, parameters, many
            continue
        group.append(waiting)
        written.add(writes)  # type: ignore[arg-type]
        counted += len(parameters)
        length += len(sql) + 16  # and its share of the WITH
    if group:
        yield _one_statement(group)


def _one_statement(group: list[Waiting]) -> tuple[str, Any, bool]:
    """``WITH w0 AS (first), w1 AS (second) last``, each part's parameters renamed ``w<i>_``
    (worked out once for each run of statements: ``_SHARED``)."""
    if len(group) == 1:
        sql, parameters, many, _, _ = group[0]
        return sql, parameters, many
    parts = tuple(sql for sql, _, _, _, _ in group)
    found = _SHARED.get(parts)
    if found is None:
        if len(_SHARED) >= _MOST_SHARED_FORMS:
            _SHARED.clear()
        found = _SHARED[parts] = _shared_form(parts)
    sql, prefixes = found
    shared: dict[str, Any] = {}
    for prefix, (_, parameters, _, _, _) in zip(prefixes, group, strict=True):
        shared.update(zip([prefix + name for name in parameters], parameters.values(), strict=True))
    return sql, shared, False


# The statements ``_one_statement`` made, by the SQL of their parts: a run of statements recurs
# with every write of its kind. Bounded: cleared when full.
_SHARED: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}
_MOST_SHARED_FORMS = 1_000


def _shared_form(parts: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    prefixes = tuple(f"w{number}_" for number in range(len(parts)))
    renamed = [
        _NAMED_PARAMETER.sub(rf"%({prefix}\1)s", part)
        for prefix, part in zip(prefixes, parts, strict=True)
    ]
    ahead = ", ".join(f"w{number} AS ({part})" for number, part in enumerate(renamed[:-1]))
    return f"WITH {ahead} {renamed[-1]}", prefixes


def _fast_form(
    connection: Connection, statement: Executable, params: Params
) -> tuple[_Form, list[dict[str, Any]]] | None:
    """The form the fast path runs ``statement`` with, and the rows of ``params``; None where
    SQLAlchemy's own path must run it (see the module docstring)."""
    kept = _PREPARED.get(id(statement))
    if (
        not ENABLED
        or kept is None
        or connection._has_events
        or connection.engine._has_events
        or connection._echo
        or params == []
    ):
        return None
    rows = params if isinstance(params, list) else [params or {}]
    names = tuple(rows[0])
    dialect = connection.dialect
    count = len(rows)
    shape = (type(dialect), names, count if count <= MOST_ROWS else _EACH)
    if shape not in kept.forms:
        kept.forms[shape] = _form(kept, dialect, names, shape[2])
    form = kept.forms[shape]
    if form is None:
        return None
    return form, rows


def _form(kept: _Prepared, dialect: Dialect, names: tuple[str, ...], rows: int) -> _Form | None:
    """The form that runs ``rows`` rows of ``names``: several in one ``VALUES`` when the
    statement takes them so, else one ``executemany`` form for any number of them."""
    if rows == 1 or rows == _EACH:
        return _compile(kept.statement, dialect, names, rows)
    form = _compile_rows(kept.statement, dialect, names, rows)
    if form is not None:
        return form
    each = (type(dialect), names, _EACH)
    if each not in kept.forms:
        kept.forms[each] = _compile(kept.statement, dialect, names, _EACH)
    return kept.forms[each]


def _compile(
    statement: Executable, dialect: Dialect, names: tuple[str, ...], rows: int
) -> _Form | None:
    """The statement's form for ``dialect`` and parameter ``names``, one row or an
    ``executemany``, or None when SQLAlchemy's execution would do more than bind values and read
    rows (see the module docstring)."""
    many = rows == _EACH
    compiled = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, column_keys=sorted(names), for_executemany=many
    )
    if isinstance(statement, Insert) and getattr(compiled, "implicit_returning", None):
        # A RETURNING of the new row's key (PostgreSQL's, for a serial key), which SQLAlchemy asks
        # for to hand back ``inserted_primary_key``: the fast path hands back no such thing.
        compiled = statement.inline().compile(
            dialect=dialect, column_keys=sorted(names), for_executemany=many
        )
    if not isinstance(compiled, SQLCompiler) or _needs_sqlalchemy(compiled, many):
        return None
    defaults = compiled.construct_params(escape_names=False, _check=False)
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    order = list(compiled.positiontup or ()) if compiled.positional else list(defaults)
    given = set(names)
    keys, constants = [], {}
    for name in order:
        bind = binds[name]
        if bind.key in given or name in given:
            keys.append(bind.key if bind.key in given else name)
        elif bind.required:
            keys.append(bind.key)  # missing: ``parameters`` says so, as SQLAlchemy would
        else:
            keys.append(name)
            constants[name] = defaults[name]
    return _finished(compiled, rows, order, _picker(keys), constants)


def _compile_rows(
    statement: Executable, dialect: Dialect, names: tuple[str, ...], rows: int
) -> _Form | None:
    """The form of a plain ``INSERT`` (no values or select of its own) that takes ``rows`` rows
    of ``names`` in one ``VALUES``, or None when the statement is not one or the compiled form
    is not exactly that: each row's values, in the same column order, one row after the other.
    SQLAlchemy refuses such a ``VALUES`` with an ordered ``RETURNING``
    (``sort_by_parameter_order``): that statement runs as an ``executemany``."""
    if not isinstance(statement, Insert) or rows * len(names) > _MOST_VALUES:
        return None
    given = set(names)
    columns = [column for column in statement.table.c if column.key in given]
    if not columns:
        return None
    slots = [f"{column.key}__{row}" for row in range(rows) for column in columns]
    try:
        compiled = statement.values(
            [
                {column: bindparam(f"{column.key}__{row}", type_=column.type) for column in columns}
                for row in range(rows)
            ]
        ).compile(dialect=dialect)
    except (ArgumentError, CompileError, InvalidRequestError):
        return None  # it has values or a select of its own, or an ordered RETURNING
    if not isinstance(compiled, SQLCompiler) or _needs_sqlalchemy(compiled, False):
        return None
    defaults = compiled.construct_params(escape_names=False, _check=False)
    order = list(compiled.positiontup or ()) if compiled.positional else list(defaults)
    own = order[len(slots) :]  # the statement's own values: after the rows' (its RETURNING)
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    if order[: len(slots)] != slots or any(binds[name].required for name in own):
        return None  # values of its own (a Python-side default) among the rows', or wanted
    pick = _picker([column.key for column in columns])
    return _finished(compiled, rows, order, pick, {}, tuple(defaults[name] for name in own))


def _finished(
    compiled: SQLCompiler,
    rows: int,
    order: list[str],
    pick: Callable[[dict[str, Any]], Any],
    constants: dict[str, Any],
    after: tuple[Any, ...] = (),
) -> _Form:
    """The form of ``compiled``, whose parameters are ``order``: their conversions, their names
    for a dialect with named parameters, and the result columns."""
    conversions = compiled._bind_processors
    convert = tuple(
        (position, cast(Callable[[Any], Any], conversions[name]))
        for position, name in enumerate(order)
        if name in conversions
    )
    escaped = compiled.escaped_bind_names
    named = None if compiled.positional else tuple(escaped.get(name, name) for name in order)
    columns = compiled._result_columns
    metadata = (
        SimpleResultMetaData([column.keyname for column in columns]) if columns else _NO_COLUMNS
    )
    return _Form(compiled.string, rows, pick, constants, after, convert, named, columns, metadata)


def _picker(keys: list[str]) -> Callable[[dict[str, Any]], Any]:
    """The values under ``keys`` of a dict, as a sequence, in one call."""
    if not keys:
        return lambda _: ()
    if len(keys) == 1:
        key = keys[0]
        return lambda given: (given[key],)
    return itemgetter(*keys)


def _needs_sqlalchemy(compiled: SQLCompiler, many: bool) -> bool:
    return bool(
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.implicit_returning
        or compiled.schema_translate_map
        or any(bind.callable for bind in compiled.bind_names)
        or (many and compiled._result_columns)
    )


def _parameters(form: _Form, rows: list[dict[str, Any]]) -> Any:
    try:
        if form.rows == 1:
            return form.parameters(rows[0])
        if form.rows == _EACH:
            return [form.parameters(row) for row in rows]
        return form.parameters_of_rows(rows)
    except Exception as refused:  # a value its column type refuses, a missing parameter
        raise StatementError(str(refused), form.sql, rows, refused) from refused


def run_together(
    connection: Connection, runs: Sequence[tuple[Executable, Params]]
) -> Sequence[Ran]:
    """Execute several statements in order, as ``run`` would each, in one round trip on a
    dialect that sends statements together (with what waits on the connection), where all are
    prepared; else one after another. Each runs on its own snapshot, taken as it starts: a read
    after a row lock sees what the lock waited for."""
    if _sends_together(connection) and libpq.ready(connection.connection.dbapi_connection):
        found = [_fast_form(connection, statement, params) for statement, params in runs]
        forms = [each for each in found if each is not None]
        if len(forms) == len(runs):
            return _sent(connection, connection.dialect, forms)
    return [run(connection, statement, params) for statement, params in runs]


def _execute(
    connection: Connection, dialect: Dialect, form: _Form, rows: list[dict[str, Any]]
) -> _Ran:
    pooled = connection.connection
    dbapi_connection: Any = pooled.dbapi_connection
    together = _sends_together(connection)
    if together and libpq.ready(dbapi_connection):
        return _sent(connection, dialect, [(form, rows)])[0]
    many = form.rows == _EACH
    parameters = _parameters(form, rows)
    queued = pooled.info.pop(QUEUED, None) if together else None
    cursor = dbapi_connection.cursor()
    try:
        if queued:
            with dbapi_connection.pipeline():
                send_queued(dbapi_connection, queued)
                _send(cursor, form.sql, parameters, many)
        else:
            _send(cursor, form.sql, parameters, many)
        fetched = cursor.fetchall() if form.columns else []
        if form.columns and form.converters is None:
            form.converters = _result_conversions(dialect, form.columns, cursor.description)
        return _result(form, fetched, cursor.rowcount)
    except dialect.loaded_dbapi.Error as error:
        raise _failed(connection, dialect, form.sql, parameters, error, cursor) from error
    finally:
        cursor.close()


def _sent(
    connection: Connection, dialect: Dialect, forms: list[tuple[_Form, list[dict[str, Any]]]]
) -> list[_Ran]:
    """The statements of ``forms`` sent through ``libpq``, after what waits on the connection,
    in one round trip; their results."""
    pooled = connection.connection
    parameters = [_parameters(form, rows) for form, rows in forms]
    queued: Queued | None = pooled.info.pop(QUEUED, None)
    batch = [
        *shared(queued or ()),
        *(
            (form.sql, given, form.rows == _EACH)
            for (form, _), given in zip(forms, parameters, strict=True)
        ),
    ]
    try:
        answers = libpq.send(pooled.dbapi_connection, batch, answers=len(forms))
    except dialect.loaded_dbapi.Error as error:
        raise _failed(connection, dialect, forms[-1][0].sql, parameters[-1], error) from error
    results = []
    for (form, _), (fetched, rowcount, types) in zip(forms, answers, strict=True):
        if form.columns and form.converters is None:
            form.converters = _result_conversions(dialect, form.columns, [(None, t) for t in types])
        results.append(_result(form, fetched, rowcount))
    return results


def _result(form: _Form, fetched: list[Any], rowcount: int) -> _Ran:
    if form.converters:
        fetched = [_converted(row, form.converters) for row in fetched]
    result = _Ran(form.metadata, iter(fetched))
    result.rowcount = rowcount
    return result


def _failed(
    connection: Connection,
    dialect: Dialect,
    sql: str,
    parameters: Any,
    error: Any,
    cursor: Any = None,
) -> StatementError:
    """The driver's ``error`` as SQLAlchemy raises it; the connection invalidated if it broke."""
    if dialect.is_disconnect(error, connection.connection, cursor):
        connection.invalidate(error)
    raised: StatementError = DBAPIError.instance(
        sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
    )
    return raised


def _send(cursor: Any, sql: str, parameters: Any, many: bool) -> None:
    if many:
        cursor.executemany(sql, parameters)
    else:
        cursor.execute(sql, parameters)


def _result_conversions(
    dialect: Dialect, columns: Sequence[Any], description: Sequence[Any]
) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """(position, conversion) for each result column whose type converts what the driver gives."""
    found = (
        (position, column.type._cached_result_processor(dialect, described[1]))
        for position, (column, described) in enumerate(zip(columns, description, strict=True))
    )
    return tuple((position, convert) for position, convert in found if convert is not None)


def _converted(row: Sequence[Any], converters: tuple[tuple[int, Callable[[Any], Any]], ...]) -> Any:
    values = list(row)
    for position, convert in converters:
        values[position] = convert(values[position])
    return tuple(values)
