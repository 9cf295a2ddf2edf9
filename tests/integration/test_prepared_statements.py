"""``statements.prepared``: a statement built once at import runs straight on the driver's cursor,
and gives what SQLAlchemy's own execution gives: the same rows and types, the same row counts, the
same errors, and SQLAlchemy's path whenever it would do more (Python-side defaults, listeners).

Each check runs twice, through the fast path and through ``Connection.execute``
(``statements.ENABLED``), on SQLite and, under ``scripts/with-postgres``, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError, StatementError

from api.wiring import Services
from arbitration import statements
from arbitration.db import execute_core
from arbitration.models import Account, IdempotencyRecord, Order

_INSERT_ACCOUNT = statements.prepared(insert(Account))
_INSERT_RECORD = statements.prepared(insert(IdempotencyRecord))
_INSERT_ORDER = statements.prepared(insert(Order))  # refunded_amount has a Python-side default
_RECORDS = statements.prepared(
    select(
        IdempotencyRecord.key,
        IdempotencyRecord.status_code,
        IdempotencyRecord.response,
        IdempotencyRecord.created_at,
    )
    .where(IdempotencyRecord.account_id == bindparam("account"))
    .order_by(IdempotencyRecord.key)
)
_COMPLETE = statements.prepared(
    update(IdempotencyRecord)
    .where(
        IdempotencyRecord.account_id == bindparam("account"),
        IdempotencyRecord.key == bindparam("record"),
    )
    .values(status_code=bindparam("code"))
    .returning(IdempotencyRecord.fingerprint, IdempotencyRecord.status_code)
)
_FORGET_ALL = statements.prepared(
    update(IdempotencyRecord)
    .where(IdempotencyRecord.account_id == bindparam("account"))
    .values(response=None)
)
_COUNT = statements.prepared(select(func.count()).select_from(IdempotencyRecord))
_REFUNDED = statements.prepared(select(Order.refunded_amount).where(Order.id == bindparam("order")))

NOON = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=[True, False], ids=["fast", "sqlalchemy"])
def path(request: pytest.FixtureRequest) -> Iterator[bool]:
    statements.ENABLED = request.param
    yield request.param
    statements.ENABLED = True


def _account(services: Services, account_id: str) -> None:
    with services.database.unit_of_work() as session:
        row = {"role": "buyer", "display_name": account_id, "created_at": NOON}
        execute_core(session, _INSERT_ACCOUNT, row | {"id": account_id, "updated_at": NOON})


def _records(account_id: str) -> list[dict[str, Any]]:
    return [
        {
            "account_id": account_id,
            "key": f"key-{number}",
            "fingerprint": f"print-{number}",
            "status_code": None if number == 2 else 200 + number,
            "response": None if number == 2 else {"id": number, "lines": ["a", "b"]},
            "created_at": NOON + timedelta(minutes=number),
        }
        for number in range(3)
    ]


def test_rows_come_back_with_their_types(services: Services, path: bool) -> None:
    _account(services, "buyer-types")
    with services.database.unit_of_work() as session:
        execute_core(session, _INSERT_RECORD, _records("buyer-types"))  # several rows at once
        rows = execute_core(session, _RECORDS, {"account": "buyer-types"}).all()

    assert [tuple(row) for row in rows] == [
        ("key-0", 200, {"id": 0, "lines": ["a", "b"]}, NOON),
        ("key-1", 201, {"id": 1, "lines": ["a", "b"]}, NOON + timedelta(minutes=1)),
        ("key-2", None, None, NOON + timedelta(minutes=2)),
    ]
    assert rows[0].created_at.tzinfo is UTC  # timezone-aware, as the column type promises
    assert rows[1].response == {"id": 1, "lines": ["a", "b"]}  # by name, too
    if path:  # and it did take the fast path
        assert any(statements._PREPARED[id(_RECORDS)].forms.values())


def test_an_update_returns_its_rows_and_counts_them(services: Services, path: bool) -> None:
    _account(services, "buyer-update")
    with services.database.unit_of_work() as session:
        execute_core(session, _INSERT_RECORD, _records("buyer-update"))
        returned = execute_core(
            session, _COMPLETE, {"account": "buyer-update", "record": "key-2", "code": 409}
        ).one()
        missing = execute_core(
            session, _COMPLETE, {"account": "buyer-update", "record": "nope", "code": 409}
        ).all()
        forgotten = execute_core(session, _FORGET_ALL, {"account": "buyer-update"})

    assert tuple(returned) == ("print-2", 409)
    assert missing == []
    assert forgotten.rowcount == 3
    with services.database.unit_of_work(read_only=True) as session:
        rows = execute_core(session, _RECORDS, {"account": "buyer-update"}).all()
    assert [(row.status_code, row.response) for row in rows] == [
        (200, None),
        (201, None),
        (409, None),
    ]


def test_a_refused_statement_raises_sqlalchemys_error_and_writes_nothing(
    services: Services, path: bool
) -> None:
    _account(services, "buyer-twice")
    with pytest.raises(IntegrityError), services.database.unit_of_work() as session:
        execute_core(session, _INSERT_RECORD, _records("buyer-twice")[0])
        execute_core(session, _INSERT_RECORD, _records("buyer-twice")[0])  # the same key again

    with services.database.unit_of_work(read_only=True) as session:
        assert execute_core(session, _COUNT).scalar() == 0


def test_a_value_its_column_type_refuses_is_a_statement_error(
    services: Services, path: bool
) -> None:
    _account(services, "buyer-naive")
    naive = _records("buyer-naive")[0] | {"created_at": datetime(2026, 11, 30, 12, 0)}
    with (
        pytest.raises(StatementError, match="naive datetimes"),
        services.database.unit_of_work() as session,
    ):
        execute_core(session, _INSERT_RECORD, naive)


def test_a_time_in_another_offset_is_stored_as_its_utc_instant(
    services: Services, path: bool
) -> None:
    _account(services, "buyer-offset")
    rows = _records("buyer-offset")
    rows[1]["created_at"] = rows[1]["created_at"].astimezone(timezone(timedelta(hours=-5)))
    with services.database.unit_of_work() as session:
        execute_core(session, _INSERT_RECORD, rows)  # several rows at once
        execute_core(session, _INSERT_RECORD, _records("buyer-offset")[0] | {"key": "key-9"})
    with services.database.unit_of_work(read_only=True) as session:
        stored = execute_core(session, _RECORDS, {"account": "buyer-offset"}).all()

    assert [row.created_at for row in stored] == [
        NOON,
        NOON + timedelta(minutes=1),
        NOON + timedelta(minutes=2),
        NOON,
    ]
    assert all(row.created_at.tzinfo is UTC for row in stored)


def test_a_missing_parameter_is_refused(services: Services, path: bool) -> None:
    with (
        pytest.raises(StatementError, match="account"),
        services.database.unit_of_work(read_only=True) as session,
    ):
        execute_core(session, _RECORDS, {}).all()


def test_python_side_defaults_are_still_applied(services: Services, path: bool) -> None:
    _account(services, "buyer-order")
    order = {
        "id": "order-default",
        "buyer_id": "buyer-order",
        "seller_id": "buyer-order",
        "amount": 5_000,
        "currency": "USD",
        "status": "delivered",
        "created_at": NOON,
        "updated_at": NOON,
    }  # no refunded_amount: its default, 0, comes from SQLAlchemy
    with services.database.unit_of_work() as session:
        execute_core(session, _INSERT_ORDER, order)
        assert execute_core(session, _REFUNDED, {"order": "order-default"}).scalar() == 0


def test_statements_are_seen_by_cursor_listeners(services: Services) -> None:
    seen: list[str] = []

    def heard(*args: Any) -> None:
        seen.append(args[2])

    engine = services.database.engine
    event.listen(engine, "before_cursor_execute", heard)
    try:
        with services.database.unit_of_work(read_only=True) as session:
            execute_core(session, _COUNT).scalar()
    finally:
        event.remove(engine, "before_cursor_execute", heard)
    assert any("count(*)" in statement for statement in seen)


def test_a_row_of_several_missing_a_value_is_refused(services: Services, path: bool) -> None:
    _account(services, "buyer-ragged")
    rows = _records("buyer-ragged")
    del rows[1]["fingerprint"]  # the first row's names are the statement's
    with (
        pytest.raises(StatementError, match="fingerprint"),
        services.database.unit_of_work() as session,
    ):
        execute_core(session, _INSERT_RECORD, rows)
