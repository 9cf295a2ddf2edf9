"""A write's statements that need no answer wait on the connection (``db.execute_later``) and, on
PostgreSQL, go out with the next statement or the COMMIT in one pipeline (``PostgresForMoney``); a
write request looks its caller up and writes on one connection.

What must hold whatever the path: a later statement sees the writes before it, a failure of a write
that waited rolls the whole transaction back, a rollback drops them unsent, and a ruling talks to the
server in few round trips (counted from libpq's own trace of what the client sent).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Engine,
    StaticPool,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from api.wiring import Services
from arbitration import statements
from arbitration.db import Database, execute_core, execute_core_together, execute_later
from arbitration.models import Account
from tests.support.seed import account_row
from tests.support.world import World

RULING = {
    "outcome": "buyer_full_refund",
    "responsibility": "seller",
    "rationale": "The photos show the crack.",
}
_INSERT_ACCOUNT = statements.prepared(insert(Account))
_COUNT_NAMED = statements.prepared(
    select(func.count()).select_from(Account).where(Account.display_name == "queued")
)
_NAMED_IDS = statements.prepared(
    select(Account.id).where(Account.display_name == bindparam("display_name"))
)


def _postgres(services: Services) -> bool:
    return services.database.engine.dialect.name == "postgresql"


def _account(account_id: str, services: Services) -> dict[str, Any]:
    return account_row(account_id, display_name="queued", at=services.clock.now())


def _named(services: Services) -> int:
    with services.database.unit_of_work(read_only=True) as session:
        return session.scalar(select(func.count()).where(Account.display_name == "queued")) or 0


def test_a_later_statement_sees_the_writes_that_waited(services: Services) -> None:
    with services.database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))
        execute_later(session, _INSERT_ACCOUNT, _account("queued-2", services))
        queued = session.connection().connection.info.get(statements.QUEUED) or []
        inserts = [waiting[0] for waiting in queued if waiting[0].startswith("INSERT")]
        assert len(inserts) == (2 if _postgres(services) else 0)
        assert execute_core(session, _COUNT_NAMED).scalar() == 2  # the fast path's statement
        execute_later(session, _INSERT_ACCOUNT, _account("queued-3", services))
        orm = session.scalar(select(func.count()).where(Account.display_name == "queued"))
        assert orm == 3  # and SQLAlchemy's own path
    assert _named(services) == 3


def test_writes_that_waited_go_out_with_the_commit(services: Services) -> None:
    with services.database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))
    assert _named(services) == 1


def test_a_failing_write_that_waited_rolls_everything_back(services: Services) -> None:
    with pytest.raises(IntegrityError), services.database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))  # the same key
    assert _named(services) == 0
    with services.database.unit_of_work() as session:  # the connection is fit for the next
        execute_later(session, _INSERT_ACCOUNT, _account("queued-2", services))
    assert _named(services) == 1


class _Refused(Exception):
    pass


def test_a_rollback_drops_the_writes_that_waited(services: Services) -> None:
    with pytest.raises(_Refused), services.database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))
        execute_later(session, _INSERT_ACCOUNT, _account("queued-2", services))
        raise _Refused
    assert _named(services) == 0


def test_on_postgresql_a_rollback_never_sends_them(services: Services) -> None:
    if not _postgres(services):
        pytest.skip("SQLite runs each write at once")
    with pytest.raises(_Refused), services.database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))  # would fail
        raise _Refused  # not the duplicate key's IntegrityError: nothing was sent
    assert _named(services) == 0


@contextmanager
def _sent_to_the_server(engine: Engine, folder: Path) -> Iterator[list[str]]:
    """What the client sent (libpq's trace of every connection checked out in the block): one line
    a message, ``Sync`` and ``Query`` closing each round trip. (A checkout's ping comes before the
    pool's checkout event, so it is not in the trace.)"""
    trace = folder / "libpq.trace"
    descriptor = os.open(trace, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)

    def traced(dbapi_connection: Any, *_: object) -> None:
        dbapi_connection.pgconn.trace(descriptor)

    def untraced(dbapi_connection: Any, *_: object) -> None:
        dbapi_connection.pgconn.untrace()

    sent: list[str] = []
    event.listen(engine.pool, "checkout", traced)
    event.listen(engine.pool, "checkin", untraced)
    try:
        yield sent
    finally:
        event.remove(engine.pool, "checkout", traced)
        event.remove(engine.pool, "checkin", untraced)
        os.close(descriptor)
        sent.extend(line for line in trace.read_text().splitlines() if "\tF\t" in line)


def _round_trips(sent: list[str]) -> int:
    return sum(1 for line in sent if re.search(r"\tF\t\d+\t(Sync|Query)\b", line))


def test_a_ruling_talks_to_postgresql_in_few_round_trips(
    world: World, services: Services, tmp_path: Path
) -> None:
    if not _postgres(services):
        pytest.skip("SQLite runs in the process: it has no round trips")
    filed, _, _ = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, filed["id"], "claim")

    with _sent_to_the_server(services.database.engine, tmp_path) as sent:
        world.ok(arbitrator, filed["id"], "decide", **RULING)

    # The caller's look-up; BEGIN with the dispute under its lock; the order's refund with the
    # timers' cancelling; the ruling's rows and the webhook outbox with the COMMIT. Sixteen before.
    assert _round_trips(sent) <= 4, "\n".join(sent)
    assert sum("\tParse\t" in line or "\tBind\t" in line for line in sent) >= 10  # all were sent


def test_filing_talks_to_postgresql_in_few_round_trips(
    world: World, services: Services, tmp_path: Path
) -> None:
    if not _postgres(services):
        pytest.skip("SQLite runs in the process: it has no round trips")
    buyer, _, order_id = world.parties()

    with _sent_to_the_server(services.database.engine, tmp_path) as sent:
        world.file(buyer, order_id)

    # The caller's look-up; BEGIN, the order under its lock and the open-dispute check after it
    # (five before they went together); the dispute's rows with its batch's count; the webhook
    # outbox with the COMMIT.
    assert _round_trips(sent) <= 4, "\n".join(sent)


def test_statements_run_together_answer_each_in_order(services: Services) -> None:
    with services.database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))
        counted, listed = execute_core_together(
            session,
            [
                (_COUNT_NAMED, None),
                (_NAMED_IDS, {"display_name": "queued"}),
            ],
        )
        assert counted.scalar() == 1  # after the write that waited
        assert listed.scalars().all() == ["queued-1"]


def test_a_transaction_that_sends_nothing_costs_no_round_trip(
    services: Services, tmp_path: Path
) -> None:
    if not _postgres(services):
        pytest.skip("SQLite runs in the process: it has no round trips")
    database = services.database
    with _sent_to_the_server(database.engine, tmp_path) as sent:
        with database.unit_of_work():
            pass
        with database.unit_of_work(read_only=True):
            pass
    assert sent == []


def test_the_begin_goes_out_with_the_first_statement(services: Services, tmp_path: Path) -> None:
    if not _postgres(services):
        pytest.skip("SQLite runs in the process: it has no round trips")
    with (
        _sent_to_the_server(services.database.engine, tmp_path) as sent,
        services.database.unit_of_work(read_only=True) as session,
    ):
        assert execute_core(session, _COUNT_NAMED).scalar() == 0  # BEGIN with it, then COMMIT
    assert _round_trips(sent) == 2, "\n".join(sent)
    assert "BEGIN" in sent[0]

    with _sent_to_the_server(services.database.engine, tmp_path) as sent:
        assert _named(services) == 0  # SQLAlchemy's path: BEGIN alone, then its SELECT, COMMIT
    assert _round_trips(sent) == 3, "\n".join(sent)


def test_a_connection_leaves_a_failed_transaction_fit_for_the_next(services: Services) -> None:
    database = services.database
    with pytest.raises(IntegrityError), database.unit_of_work() as session:
        execute_core(session, _INSERT_ACCOUNT, _account("queued-1", services))
        execute_core(session, _INSERT_ACCOUNT, _account("queued-1", services))
    if _postgres(services):
        with database.engine.connect() as connection:  # a pooled connection, given back
            driver_connection: Any = connection.connection.driver_connection
            assert driver_connection.info.transaction_status.name == "IDLE"  # rolled back
            assert statements.QUEUED not in connection.connection.info  # nothing left waiting
    with database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-2", services))
    assert _named(services) == 1


def test_a_look_up_given_back_unused_leaves_the_next_transaction_whole(services: Services) -> None:
    # One connection: the next checkout gets the look-up's, as a refused write request leaves it.
    engine = create_engine(services.database.engine.url, poolclass=StaticPool)
    database = Database(engine)
    try:
        database.lookup().close()
        with pytest.raises(_Refused), database.unit_of_work() as session:
            execute_core(session, _INSERT_ACCOUNT, _account("queued-1", services))
            raise _Refused
        assert _named(services) == 0  # the insert was in a transaction, and rolled back
    finally:
        engine.dispose()


def test_a_write_request_takes_its_connections_and_gives_them_back(
    world: World, services: Services
) -> None:
    """On PostgreSQL one checkout (each pings the server): the look-up's connection goes on to
    write. On SQLite the write takes the pool's writer connection (``WriterKeepingPool``), whose
    page cache no other connection's commit empties."""
    buyer, _, order = world.parties()
    pool = services.database.engine.pool
    checkouts: list[object] = []

    def counted(*_: object) -> None:
        checkouts.append(None)

    event.listen(pool, "checkout", counted)
    try:
        world.file(buyer, order)
        filing = len(checkouts)
        refused = world.call(buyer, "POST", "/v1/disputes", json={"order_id": 7})
        bad_key = world.call(
            buyer,
            "POST",
            "/v1/disputes",
            json={"order_id": order, "reason": "not_as_described", "remedy": "refund_only"},
            headers=world.headers(buyer, **{"Idempotency-Key": "k" * 300}),
        )
    finally:
        event.remove(pool, "checkout", counted)
    assert filing == (1 if _postgres(services) else 2)
    assert (refused.status_code, bad_key.status_code) == (422, 422)
    assert pool.checkedout() == 0  # the refused requests gave theirs back


def test_a_write_on_the_connection_that_found_its_caller_is_one_transaction(
    services: Services,
) -> None:
    """The look-up runs outside any transaction (a fast-path statement on the driver's cursor, as
    ``authenticate`` runs it); the unit of work that follows on its connection is still one
    transaction: all of it or nothing."""
    database = services.database
    for fails in (True, False):
        connection = database.lookup()
        try:
            assert statements.run(connection, _COUNT_NAMED, {}).scalar() == 0
            with (
                pytest.raises(_Refused) if fails else nullcontext(),
                database.unit_of_work(on=connection) as session,
            ):
                execute_core(session, _INSERT_ACCOUNT, _account("queued-1", services))
                execute_later(session, _INSERT_ACCOUNT, _account("queued-2", services))
                if fails:
                    raise _Refused
        finally:
            connection.close()
        assert _named(services) == (0 if fails else 2)


_RENAME = statements.prepared(
    update(Account).where(Account.id == bindparam("account")).values(display_name="renamed")
)


def test_writes_share_a_statement_only_where_running_them_in_turn_gives_the_same_rows(
    services: Services,
) -> None:
    """An insert then an update of its row: the update must see the insert (a ``WITH`` of one
    statement would not), so they go as two; two inserts go as one."""
    with services.database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))
        execute_later(session, _INSERT_ACCOUNT, _account("queued-2", services))
        execute_later(session, _RENAME, {"account": "queued-1"})
    with services.database.unit_of_work(read_only=True) as session:
        names = {
            row.id: row.display_name
            for row in session.execute(select(Account.id, Account.display_name))
        }
    assert (names["queued-1"], names["queued-2"]) == ("renamed", "queued")


def _waiting(sql: str, reads: frozenset[str] | None, writes: str | None) -> statements.Waiting:
    return (sql, {"id": 1, "value": 2}, False, reads, writes)


def test_which_writes_share_a_statement() -> None:
    insert_a = _waiting("INSERT INTO a VALUES (%(id)s, %(value)s)", frozenset(), "a")
    insert_b = _waiting("INSERT INTO b VALUES (%(id)s, %(value)s)", frozenset(), "b")
    update_a = _waiting("UPDATE a SET v = %(value)s WHERE id = %(id)s", frozenset({"a"}), "a")
    text = _waiting("SELECT f(%(id)s, %(value)s)", None, None)

    def sent(*queued: statements.Waiting) -> list[tuple[str, Any, bool]]:
        return list(statements.shared(list(queued)))

    [(sql, parameters, many)] = sent(insert_a, insert_b)
    assert sql == (
        "WITH w0 AS (INSERT INTO a VALUES (%(w0_id)s, %(w0_value)s))"
        " INSERT INTO b VALUES (%(w1_id)s, %(w1_value)s)"
    )
    assert (parameters, many) == ({"w0_id": 1, "w0_value": 2, "w1_id": 1, "w1_value": 2}, False)
    assert len(sent(update_a, insert_b)) == 1  # different tables, neither reading the other
    assert len(sent(insert_a, update_a)) == 2  # the update reads the table the insert wrote
    assert len(sent(update_a, insert_a)) == 2  # a unique key must see the update first
    assert len(sent(insert_a, insert_a)) == 2
    update_b_from_a = _waiting("UPDATE b SET v = (SELECT ...)", frozenset({"a", "b"}), "b")
    assert len(sent(insert_a, update_b_from_a)) == 2  # it reads a table written before it
    assert [sql for sql, _, _ in sent(insert_a, text, insert_b)] == [
        insert_a[0],
        text[0],
        insert_b[0],
    ]
    many_tables = [
        _waiting(f"INSERT INTO t{n} VALUES (%(id)s, %(value)s)", frozenset(), f"t{n}")
        for n in range(30)
    ]  # 60 parameters in all
    assert len(sent(*many_tables)) == 2  # psycopg keeps its conversion up to 50


def test_a_streamed_read_runs_after_what_waited(services: Services) -> None:
    """A server-side cursor (``yield_per``) cannot run in psycopg's pipeline: the BEGIN and the
    writes that waited go first, and the read sees them."""
    database = services.database
    streamed = select(Account.id).where(Account.display_name == "queued")
    with database.unit_of_work(read_only=True) as session:  # its first statement
        assert session.execute(streamed.execution_options(yield_per=10)).all() == []
    with database.unit_of_work() as session:
        execute_later(session, _INSERT_ACCOUNT, _account("queued-1", services))
        found = session.execute(streamed.execution_options(yield_per=10)).scalars().all()
    assert found == ["queued-1"]
    assert _named(services) == 1
