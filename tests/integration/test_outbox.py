"""The outbox (``webhooks.outbox``): a write stores its events, in order, and nothing more; the
delivery job's ``fan_out`` then gives each event one delivery per active endpoint that wants it
and was registered before it, once, on both databases. On PostgreSQL the write's one statement
waits for the ``COMMIT`` and fails with it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from api.wiring import Services
from arbitration import accounts, ids, statements
from arbitration.models import Account
from tests.support.assertions import assert_fresh_delivery
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
            outbox.write(session, outgoing, at=services.clock.now())


def _fan_out(services: Services) -> int:
    return outbox.fan_out(services.database, policy=services.policy.webhooks)


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
        return list(
            session.scalars(select(Delivery).order_by(Delivery.position, Delivery.endpoint_id))
        )


def test_events_written_together_take_positions_in_the_order_written_and_wait_to_fan_out(
    world: World, services: Services
) -> None:
    _register(world, "https://platform.example/all")
    _write(services, WRITTEN)
    _write(services, WRITTEN[:2])

    events = _events(services)
    assert [e.data["n"] for e in events] == [1, 2, 3, 4, 5, 1, 2]
    assert [(e.type, e.stream, e.dispute_id) for e in events[:5]] == [
        (o.type, o.stream, o.dispute_id) for o in WRITTEN
    ]
    assert all(ids.is_generated_id(e.id, "evt") for e in events)
    assert all(e.occurred_at == services.clock.now() for e in events)
    # The write stops there: an endpoint is listening, but its deliveries are the job's to make.
    assert all(e.fanout_pending for e in events)
    assert _deliveries(services) == []


def test_fanning_out_gives_each_endpoint_a_delivery_for_exactly_the_events_it_wants_once(
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
    assert _fan_out(services) == len(WRITTEN)

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
        assert_fresh_delivery(delivery, event, retry_for)
        assert ids.is_generated_id(delivery.id, "dlv")
        # The time digits: those of an id made at the event's time (its own), so ids sort by time.
        assert delivery.id[4:14] == event.id[4:14]
    assert len({d.id for d in deliveries}) == len(deliveries)
    assert not any(event.fanout_pending for event in events)

    assert _fan_out(services) == 0  # nothing waits: nothing is made twice
    assert len(_deliveries(services)) == len(deliveries)


def test_an_endpoint_hears_only_what_is_written_after_it_is_registered(
    world: World, services: Services
) -> None:
    """However long the events before it wait to be fanned out, and whoever inserts it."""
    early = _register(world, "https://platform.example/early")
    _write(services, WRITTEN[:2])
    late = _register(world, "https://platform.example/late")
    with services.database.unit_of_work() as session:  # as another program would insert it
        session.add(
            WebhookEndpoint(
                id="whe_raw",
                owner_id="platform",
                url="https://platform.example/raw",
                secret="s" * 64,
                status=ACTIVE,
                created_at=services.clock.now(),
            )
        )
    _write(services, WRITTEN[2:3])
    _fan_out(services)

    first, second, third = _events(services)
    heard = {(d.event_position, d.endpoint_id) for d in _deliveries(services)}
    assert heard == {
        (first.position, early),
        (second.position, early),
        (third.position, early),
        (third.position, late),
        (third.position, "whe_raw"),
    }


def test_many_events_are_fanned_out_a_batch_at_a_time_in_order(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "FAN_OUT_BATCH", 4)
    endpoint = _register(world, "https://platform.example/all")
    for _ in range(3):
        _write(services, WRITTEN)  # 15 events: batches of 4, 4, 4, 3

    assert _fan_out(services) == 15
    events = _events(services)
    deliveries = _deliveries(services)
    assert [d.event_position for d in deliveries] == [e.position for e in events]
    assert {d.endpoint_id for d in deliveries} == {endpoint}
    assert not any(event.fanout_pending for event in events)


def test_two_jobs_fanning_out_at_once_make_each_delivery_once(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "FAN_OUT_BATCH", 5)
    endpoints = [_register(world, f"https://platform.example/{n}") for n in range(2)]
    for _ in range(20):
        _write(services, WRITTEN)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def job() -> None:
        start.wait()
        try:
            _fan_out(services)
        except BaseException as error:  # reported below
            failures.append(error)

    runners = [threading.Thread(target=job) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(60)

    assert failures == []
    made = [(d.event_position, d.endpoint_id) for d in _deliveries(services)]
    assert sorted(made) == sorted(
        (event.position, endpoint) for event in _events(services) for endpoint in endpoints
    )


def test_a_write_with_no_endpoint_to_tell_stores_its_events_alone(services: Services) -> None:
    _write(services, WRITTEN)
    assert _fan_out(services) == len(WRITTEN)
    assert len(_events(services)) == len(WRITTEN)
    assert _deliveries(services) == []


def test_on_postgres_the_flush_waits_for_the_commit(world: World, services: Services) -> None:
    """Nothing of the flush reaches the server before the COMMIT: its one statement waits on the
    connection, then goes out with the COMMIT, in the same round trip."""
    if not _on_postgres(services):
        pytest.skip("SQLite runs every statement at once: there is no round trip to save")
    _register(world, "https://platform.example/all")
    last_query = text("SELECT state, query FROM pg_stat_activity WHERE pid = :pid")
    with services.database.unit_of_work() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        for outgoing in WRITTEN:
            outbox.write(session, outgoing, at=services.clock.now())
        outbox.flush(session)
        with services.database.engine.connect() as watcher:
            state, query = watcher.execute(last_query, {"pid": pid}).one()
        assert (state, query) == ("idle in transaction", "SELECT pg_backend_pid()")
        queued = session.connection().connection.info.get(statements.QUEUED)
        assert queued is not None and len(queued) == 1
        [(sql, _parameters, many, *_)] = queued
        assert "INSERT INTO webhook_events" in sql and "webhook_deliveries" not in sql
        assert not many
    assert [e.data["n"] for e in _events(services)] == [1, 2, 3, 4, 5]
    assert all(e.fanout_pending for e in _events(services))


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
        outbox.write(session, WRITTEN[0], at=services.clock.now())
        outbox.write(session, too_long, at=services.clock.now())
    with services.database.unit_of_work(read_only=True) as session:
        assert session.get(Account, "lost") is None
    assert _events(services) == []

    _write(services, WRITTEN)
    assert len(_events(services)) == len(WRITTEN)
