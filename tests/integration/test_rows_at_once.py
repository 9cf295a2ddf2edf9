"""Several rows of a write in one ``INSERT ... VALUES`` (``statements.run``): the webhook outbox's
events and their fanned-out deliveries, a ruling's deadlines, a filing's items. The rows, their types, their
generated keys and their pairing with what the caller gave are those of SQLAlchemy's own
``executemany``; a statement or a number of rows that one ``VALUES`` cannot take runs as before.

Each check runs through the fast path and through SQLAlchemy's (``statements.ENABLED``), on SQLite
and, under ``scripts/with-postgres``, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, insert, select
from sqlalchemy.exc import StatementError

from api.wiring import Services
from arbitration import filing, statements
from arbitration.db import execute_core
from arbitration.deadlines import _INSERT_DEADLINES, PENDING, REFUND_OVERDUE
from arbitration.models import Account, Deadline, IdempotencyRecord, Order
from tests.support.receiver import receiver
from tests.support.world import World
from webhooks import outbox
from webhooks.models import Delivery, OutboxEvent, WebhookEndpoint

NOON = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)

_INSERT_ACCOUNT = statements.prepared(insert(Account))
_INSERT_ORDER = statements.prepared(insert(Order))  # refunded_amount has a Python-side default
# A plain insert returning the key the database generates, and what it was given to tell rows apart.
_INSERT_FLAGS = statements.prepared(
    insert(Deadline).returning(Deadline.id, Deadline.subject_id, Deadline.due_at)
)
# A RETURNING that needs a value from each row: SQLAlchemy's own path runs it.
_INSERT_FLAGS_PLUS = statements.prepared(
    insert(Deadline).returning(
        Deadline.subject_id, (Deadline.attempts + bindparam("extra", type_=Integer)).label("more")
    )
)
# An insert with a value of its own: several rows cannot go in one ``VALUES`` with it.
_INSERT_ANSWERED = statements.prepared(insert(IdempotencyRecord).values(status_code=201))
_FLAGS = statements.prepared(
    select(Deadline.subject_id, Deadline.due_at, Deadline.attempts)
    .where(Deadline.action == "test-flag")
    .order_by(Deadline.id)
)


@pytest.fixture(params=[True, False], ids=["fast", "sqlalchemy"])
def path(request: pytest.FixtureRequest) -> Iterator[bool]:
    statements.ENABLED = request.param
    yield request.param
    statements.ENABLED = True


def _flags(count: int) -> list[dict[str, Any]]:
    return [
        {
            "subject_id": f"flag-{number}",
            "action": "test-flag",
            "due_at": NOON + timedelta(hours=number),
            "status": PENDING,
            "created_at": NOON,
            "attempts": number,
        }
        for number in range(count)
    ]


def _forms(statement: Any) -> list[Any]:
    return [form for form in statements._PREPARED[id(statement)].forms.values() if form]


def test_generated_keys_sorted_pair_with_the_rows_in_the_order_given(
    services: Services, path: bool
) -> None:
    with services.database.unit_of_work() as session:
        returned = execute_core(session, _INSERT_FLAGS, _flags(7)).all()

    # The database numbers the rows of one statement in the order given: the smallest key is the
    # first row's, whatever order RETURNING hands them back in.
    by_key = sorted(returned)
    assert [row.subject_id for row in by_key] == [f"flag-{number}" for number in range(7)]
    assert [row.due_at for row in by_key] == [NOON + timedelta(hours=n) for n in range(7)]
    assert by_key[0].due_at.tzinfo is UTC  # converted as the column type promises
    if path:  # all seven in one statement
        assert any(
            form.rows == 7 and form.sql.count("(?") + form.sql.count("(%") >= 7
            for form in _forms(_INSERT_FLAGS)
        )


def test_rows_beyond_the_bound_still_go_in_and_come_back(
    services: Services, path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statements, "MOST_ROWS", 3)
    with services.database.unit_of_work() as session:
        execute_core(session, _INSERT_ACCOUNT, _accounts(5))
        execute_core(session, _INSERT_FLAGS, _flags(3))
        execute_core(session, _INSERT_FLAGS, _flags(4)[3:] + _flags(6)[4:])  # in order, after
        flags = execute_core(session, _FLAGS, {}).all()

    assert [(row.subject_id, row.attempts) for row in flags] == [
        (f"flag-{number}", number) for number in range(6)
    ]
    if path:
        kinds = {form.rows for form in _forms(_INSERT_ACCOUNT)}
        assert statements._EACH in kinds  # five rows: an ``executemany``


def test_a_returning_that_needs_each_rows_value_returns_it(services: Services, path: bool) -> None:
    flags = [flag | {"extra": 10} for flag in _flags(3)]
    with services.database.unit_of_work() as session:
        returned = execute_core(session, _INSERT_FLAGS_PLUS, flags).all()

    assert sorted(tuple(row) for row in returned) == [(f"flag-{n}", 10 + n) for n in range(3)]


def _accounts(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"bound-{number}",
            "role": "buyer",
            "display_name": f"Buyer {number}",
            "created_at": NOON,
            "updated_at": NOON,
        }
        for number in range(count)
    ]


def test_python_side_defaults_apply_to_every_row(services: Services, path: bool) -> None:
    orders = [
        {
            "id": f"order-{number}",
            "buyer_id": "bound-0",
            "seller_id": "bound-1",
            "amount": 1_000 * (number + 1),
            "currency": "USD",
            "status": "delivered",
            "created_at": NOON,
            "updated_at": NOON,
        }
        for number in range(3)
    ]  # no refunded_amount: its default, 0, comes from SQLAlchemy
    with services.database.unit_of_work() as session:
        execute_core(session, _INSERT_ACCOUNT, _accounts(2))
        execute_core(session, _INSERT_ORDER, orders)
        refunded = session.execute(select(Order.id, Order.refunded_amount).order_by(Order.id))

    assert [tuple(row) for row in refunded] == [(f"order-{n}", 0) for n in range(3)]


def test_an_insert_with_values_of_its_own_takes_rows_one_at_a_time(
    services: Services, path: bool
) -> None:
    records = [
        {
            "account_id": "bound-0",
            "key": f"key-{number}",
            "fingerprint": f"print-{number}",
            "created_at": NOON,
        }
        for number in range(3)
    ]
    with services.database.unit_of_work() as session:
        execute_core(session, _INSERT_ACCOUNT, _accounts(1))
        execute_core(session, _INSERT_ANSWERED, records)
        stored = session.execute(
            select(IdempotencyRecord.key, IdempotencyRecord.status_code).order_by(
                IdempotencyRecord.key
            )
        )

    assert [tuple(row) for row in stored] == [(f"key-{n}", 201) for n in range(3)]


def test_a_value_a_later_row_gives_that_its_type_refuses_is_a_statement_error(
    services: Services, path: bool
) -> None:
    flags = _flags(3)
    flags[2]["due_at"] = datetime(2026, 11, 30, 12, 0)  # naive
    with (
        pytest.raises(StatementError, match="naive datetimes"),
        services.database.unit_of_work() as session,
    ):
        execute_core(session, _INSERT_FLAGS, flags)

    with services.database.unit_of_work(read_only=True) as session:
        assert execute_core(session, _FLAGS, {}).all() == []


RULING = {
    "outcome": "buyer_partial_refund",
    "refund_amount": 1_000,
    "responsibility": "seller",
    "rationale": "The photos show the crack.",
}
# What a ruling with a refund writes to the outbox, in the order written.
RULING_EVENTS = ["decision.made", "refund.instructed", "dispute.updated"]


def _register(world: World, url: str, events: list[str] | None) -> str:
    body: dict[str, Any] = {"url": url} | ({"events": events} if events is not None else {})
    response = world.call("platform", "POST", "/v1/webhook-endpoints", json=body)
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def test_a_rulings_events_each_reach_the_endpoints_that_want_them(
    world: World, services: Services, path: bool
) -> None:
    dispute, _buyer, _seller = world.awaiting_decision()
    with receiver() as hooks:
        wants = {
            _register(world, hooks.url, None): set(RULING_EVENTS),
            _register(world, hooks.url, ["refund.instructed", "dispute.updated"]): {
                "refund.instructed",
                "dispute.updated",
            },
            _register(world, hooks.url, ["decision.made"]): {"decision.made"},
        }
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    outbox.fan_out(services.database, policy=services.policy.webhooks)  # the claim's, before
    with services.database.unit_of_work(read_only=True) as session:
        before = session.scalar(select(OutboxEvent.position).order_by(OutboxEvent.position.desc()))
    world.ok(arbitrator, dispute["id"], "decide", **RULING)
    outbox.fan_out(services.database, policy=services.policy.webhooks)

    with services.database.unit_of_work(read_only=True) as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.position > before).order_by(OutboxEvent.position)
        ).all()
        deliveries = session.scalars(
            select(Delivery).where(Delivery.event_position > before).order_by(Delivery.id)
        ).all()
        endpoints = set(session.scalars(select(WebhookEndpoint.id)))

    assert [event.type for event in events] == RULING_EVENTS  # positions in the order written
    assert {event.stream for event in events} == {f"dispute:{dispute['id']}"}
    by_position = {event.position: event for event in events}
    for delivery in deliveries:
        event = by_position[delivery.event_position]
        assert event.type in wants[delivery.endpoint_id]
        assert (delivery.position, delivery.stream) == (event.position, event.stream)
        assert delivery.next_attempt_at == event.occurred_at == delivery.created_at
    delivered = {(d.endpoint_id, by_position[d.event_position].type) for d in deliveries}
    assert delivered == {(e, kind) for e, kinds in wants.items() for kind in kinds}
    assert len(deliveries) == len(delivered) == 6 and endpoints == set(wants)
    if path:
        # The six deliveries in one statement, made by the fan-out.
        assert any(form.rows == 6 for form in _forms(outbox._INSERT_DELIVERIES))
    if path and _dialect(services) == "sqlite":
        # The three events in one statement (PostgreSQL's is its own: ``test_outbox``).
        assert any(form.rows == 3 for form in _forms(outbox._INSERT_EVENTS))


def test_a_ruling_writes_its_deadlines_together(
    world: World, services: Services, path: bool
) -> None:
    dispute, _buyer, _seller = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    world.ok(arbitrator, dispute["id"], "decide", **RULING)

    with services.database.unit_of_work(read_only=True) as session:
        pending = session.execute(
            select(Deadline.action, Deadline.party, Deadline.due_at, Deadline.attempts)
            .where(Deadline.dispute_id == dispute["id"], Deadline.status == PENDING)
            .order_by(Deadline.id)
        ).all()
    now = services.clock.now()
    assert [(row.action, row.party, row.attempts) for row in pending] == [
        ("finalize", None, 0),
        (REFUND_OVERDUE, None, 0),
    ]
    assert all(row.due_at > now and row.due_at.tzinfo is UTC for row in pending)
    if path:
        assert any(form.rows == 2 for form in _forms(_INSERT_DEADLINES))


def _dialect(services: Services) -> str:
    return services.database.engine.dialect.name


def test_a_filing_of_several_lines_writes_its_items_together(
    world: World, services: Services, path: bool
) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    lines = [
        {"listing_id": f"lst-{name}", "title": name, "quantity": number, "unit_price": 1_000}
        for number, name in enumerate(["cup", "pot", "pan"], start=1)
    ]
    order_id = world.order(buyer=buyer, seller=seller, amount=6_000, items=lines)
    items = [{"listing_id": line["listing_id"], "quantity": line["quantity"]} for line in lines]
    dispute = world.file(buyer, order_id, amount=6_000, items=items)

    stored = world.read(buyer, dispute["id"])["items"]
    assert sorted(stored, key=lambda item: item["listing_id"]) == [
        {"listing_id": "lst-cup", "quantity": 1, "value": 1_000},
        {"listing_id": "lst-pan", "quantity": 3, "value": 3_000},
        {"listing_id": "lst-pot", "quantity": 2, "value": 2_000},
    ]
    if path:
        assert any(form.rows == 3 for form in _forms(filing._INSERT_ITEMS))
