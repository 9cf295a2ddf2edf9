"""The outbox's flush (``webhooks.outbox``): the events a transaction wrote, in order, each with a
delivery to every active endpoint that wants it, on both databases; on PostgreSQL in one
statement that waits for the ``COMMIT`` and fails with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from api.wiring import Services
from arbitration import accounts, ids, statements
from arbitration.models import Account
from tests.support.world import World
from webhooks import outbox
from webhooks.catalogue import Outgoing
from webhooks.models import ACTIVE, Delivery, OutboxEvent, WebhookEndpoint

# Written in this order, in one transaction.
WRITTEN = [
    Outgoing("dispute.created", "dispute:d1", "d1", {"n": 1}),
    Outgoing("decision.made", "dispute:d1", "d1", {"n": 2}),
    Outgoing("refund.instructed", "dispute:d1", "d1", {"n": 3}),
    Outgoing("dispute.updated", "dispute:d2", "d2", {"n": 4}),
    Outgoing("decision.made", "seller:s1", None, {"n": 5}),
]


def _on_postgres(services: Services) -> bool:
    return services.database.engine.dialect.name == "postgresql"


def _write(services: Services, written: list[Outgoing]) -> None:
    """One unit of work that writes ``written`` to the outbox, at the clock's time, and commits
    (the outbox flushes before the commit, as for every change)."""
    with services.database.unit_of_work() as session:
        for outgoing in written:
            outbox.write(
                session, outgoing, policy=services.policy.webhooks, at=services.clock.now()
            )


def _register(world: World, url: str, events: list[str] | None = None) -> str:
    body: dict[str, object] = {"url": url}
    if events is not None:
        body["events"] = events
    response = world.call("platform", "POST", "/v1/webhook-endpoints", json=body)
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def _events(services: Services) -> list[OutboxEvent]:
    with services.database.unit_of_work(read_only=True) as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.position)))


def _deliveries(services: Services) -> list[Delivery]:
    with services.database.unit_of_work(read_only=True) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.position)))


def test_events_written_together_take_positions_in_the_order_written(
    services: Services,
) -> None:
    _write(services, WRITTEN)
    _write(services, WRITTEN[:2])

    events = _events(services)
    assert [e.data["n"] for e in events] == [1, 2, 3, 4, 5, 1, 2]
    assert [(e.type, e.stream, e.dispute_id) for e in events[:5]] == [
        (o.type, o.stream, o.dispute_id) for o in WRITTEN
    ]
    assert all(ids.is_generated_id(e.id, "evt") for e in events)
    assert all(e.occurred_at == services.clock.now() for e in events)


def test_each_endpoint_gets_a_delivery_for_exactly_the_events_it_wants(
    world: World, services: Services
) -> None:
    everything = _register(world, "https://platform.example/all")
    rulings = _register(world, "https://platform.example/rulings", events=["decision.made"])
    disabled = _register(world, "https://platform.example/off")
    response = world.call("platform", "POST", f"/v1/webhook-endpoints/{disabled}/disable")
    assert response.status_code == 200, response.json
    with services.database.unit_of_work() as session:  # no filter as SQL's NULL, not JSON's
        session.execute(
            insert(WebhookEndpoint).values(
                id="whe_sql_null",
                owner_id="platform",
                url="https://platform.example/null",
                description="",
                secret="s" * 64,
                status=ACTIVE,
                created_at=services.clock.now(),
            )
        )
        assert session.scalar(
            select(WebhookEndpoint.id).where(WebhookEndpoint.event_types.is_(None))
        )

    _write(services, WRITTEN)

    events = _events(services)
    deliveries = _deliveries(services)
    wanted = {
        (event.position, endpoint)
        for event in events
        for endpoint in (everything, "whe_sql_null")
        + ((rulings,) if event.type == "decision.made" else ())
    }
    assert sorted((d.position, d.endpoint_id) for d in deliveries) == sorted(wanted)
    by_position = {event.position: event for event in events}
    retry_for = services.policy.webhooks.retry_for
    for delivery in deliveries:
        event = by_position[delivery.event_position]
        assert delivery.position == event.position
        assert (delivery.stream, delivery.status, delivery.attempts) == (event.stream, "pending", 0)
        assert delivery.next_attempt_at == delivery.created_at == event.occurred_at
        assert delivery.retry_until == event.occurred_at + retry_for
        assert (delivery.leased_until, delivery.last_attempt_at, delivery.delivered_at) == (
            None,
            None,
            None,
        )
        assert (delivery.last_status_code, delivery.last_error) == (None, None)
        assert ids.is_generated_id(delivery.id, "dlv")
        # The time digits: those of an id made at the event's time (its own), so ids sort by time.
        assert delivery.id[4:14] == event.id[4:14]
    assert len({d.id for d in deliveries}) == len(deliveries)


def test_a_write_with_no_endpoint_to_tell_stores_its_events_alone(services: Services) -> None:
    _write(services, WRITTEN)
    assert len(_events(services)) == len(WRITTEN)
    assert _deliveries(services) == []


def test_delivery_ids_made_in_postgres_are_well_formed_unique_and_sort_by_time(
    services: Services,
) -> None:
    if not _on_postgres(services):
        pytest.skip("the ids PostgreSQL makes itself")
    start = services.clock.now()
    times = [start + timedelta(milliseconds=step) for step in (0, 1, 1, 999, 86_400_000)]
    event_ids = [ids.new_id("evt", at) for at in times for _ in range(200)]
    made = text(
        "SELECT event_id, "
        + ids.new_id_in_postgres("dlv", at_time_of="event_id", its_prefix="evt")
        + " FROM unnest(CAST(:event_ids AS text[])) AS written (event_id)"
    )
    with services.database.unit_of_work(read_only=True) as session:
        rows = session.execute(made, {"event_ids": event_ids}).all()
    assert len(rows) == len(event_ids)
    assert all(ids.is_generated_id(delivery_id, "dlv") for _, delivery_id in rows)
    assert len({delivery_id for _, delivery_id in rows}) == len(rows)
    # Each has the time digits Python's id of its event's time has, so ids sort by time.
    time_of = {event_id: times[n // 200] for n, event_id in enumerate(event_ids)}
    for event_id, delivery_id in rows:
        assert delivery_id[4:14] == ids.new_id("dlv", time_of[event_id])[4:14]
    in_order_of_ids = [time_of[event_id] for event_id, _ in sorted(rows, key=lambda r: r[1])]
    assert in_order_of_ids == sorted(time_of[event_id] for event_id in event_ids)


def test_on_postgres_the_flush_waits_for_the_commit(world: World, services: Services) -> None:
    """Nothing of the flush reaches the server before the COMMIT: its one statement waits on the
    connection, then goes out with the COMMIT, in the same round trip."""
    if not _on_postgres(services):
        pytest.skip("SQLite runs every statement at once: there is no round trip to save")
    endpoint = _register(world, "https://platform.example/all")
    last_query = text("SELECT state, query FROM pg_stat_activity WHERE pid = :pid")
    with services.database.unit_of_work() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        for outgoing in WRITTEN:
            outbox.write(
                session, outgoing, policy=services.policy.webhooks, at=services.clock.now()
            )
        outbox.flush(session)
        with services.database.engine.connect() as watcher:
            state, query = watcher.execute(last_query, {"pid": pid}).one()
        assert (state, query) == ("idle in transaction", "SELECT pg_backend_pid()")
        queued = session.connection().connection.info.get(statements.QUEUED)
        assert queued is not None and len(queued) == 1
        [(sql, _parameters, many, *_)] = queued
        assert "INSERT INTO webhook_events" in sql and "INSERT INTO webhook_deliveries" in sql
        assert not many
    assert len(_events(services)) == len(WRITTEN)
    assert {d.endpoint_id for d in _deliveries(services)} == {endpoint}
    assert len(_deliveries(services)) == len(WRITTEN)


def test_on_postgres_a_failing_flush_rolls_the_whole_change_back(
    world: World, services: Services
) -> None:
    """The flush's statement fails at the COMMIT it went out with (here a stream longer than its
    column): the account created in the same transaction is gone with it, and the connection
    serves the next unit of work."""
    if not _on_postgres(services):
        pytest.skip("on SQLite the flush runs at once and fails there, as any statement")
    _register(world, "https://platform.example/all")
    too_long = Outgoing("dispute.created", "dispute:" + "x" * 100, "d1", {})
    with pytest.raises(DBAPIError), services.database.unit_of_work() as session:
        accounts.create_account(
            session, role="buyer", display_name="Lost", account_id="lost", at=services.clock.now()
        )
        outbox.write(session, WRITTEN[0], policy=services.policy.webhooks, at=services.clock.now())
        outbox.write(session, too_long, policy=services.policy.webhooks, at=services.clock.now())
    with services.database.unit_of_work(read_only=True) as session:
        assert session.get(Account, "lost") is None
    assert _events(services) == []
    assert _deliveries(services) == []

    _write(services, WRITTEN)
    assert len(_events(services)) == len(WRITTEN)
