"""The outbox: webhook events written in the same transaction as the change they report, and
fanned out to the endpoints later, by the delivery job.

``register`` hands every domain event of the catalogue to ``write``, which keeps the event until
the transaction's handlers have all run; ``flush`` then inserts them together, marked
``fanout_pending``. Every write ends with it, so it costs as little as it can: the events alone,
one statement, nothing read back (on PostgreSQL it goes out with the ``COMMIT``,
``db.execute_later``; on SQLite it is a call into the process).

``fan_out``, the delivery job's first step, turns the events waiting into one delivery per
active endpoint that wants each, a batch a transaction. A write does not pay for the endpoints
(reading them, matching each event's type, inserting a row for each into a table with six
indexes: an eighth of a ruling's CPU in process), and the job writes many deliveries a page.
An endpoint hears the events written after its registration (``WebhookEndpoint.starts_after``)
and fanned out while it is active: registered or disabled by any process, it counts from the
next change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import String, TextClause, bindparam, insert, select, text, true, update
from sqlalchemy.orm import Session

from arbitration import json_text
from arbitration.db import Database, execute_core, execute_later
from arbitration.events import DomainEvent, Handlers
from arbitration.ids import new_id
from arbitration.policy import WebhookPolicy
from arbitration.statements import prepared
from webhooks.catalogue import CATALOGUE, Outgoing, Route
from webhooks.models import ACTIVE, PENDING, Delivery, OutboxEvent, WebhookEndpoint

_WRITTEN = "webhooks.outbox.written"
_INSERT_EVENTS = prepared(insert(OutboxEvent))
_INSERT_DELIVERIES = prepared(insert(Delivery))

# Events fanned out a transaction at a time: on SQLite, where the job shares the one writer with
# the requests, a batch holds it a few milliseconds.
FAN_OUT_BATCH = 200
# The events waiting, oldest first: a walk of the partial index, whose term this is.
_WAITING = (
    select(OutboxEvent.position, OutboxEvent.type, OutboxEvent.stream, OutboxEvent.occurred_at)
    .where(OutboxEvent.fanout_pending == true())
    .order_by(OutboxEvent.position)
)
_FANNED_OUT = (
    update(OutboxEvent)
    .where(OutboxEvent.position.in_(bindparam("positions", expanding=True)))
    .values(fanout_pending=False)
)


def _write_all_in_postgres() -> TextClause:
    """PostgreSQL's flush, one statement: the events in the order written (the insert takes the
    identity's next value for each row as it comes, in the ``ORDER BY``'s order).

    The events come as one JSON array, one parameter (``_written_as_json``): the statement is the
    same whatever their number, compiled once for the fast path (``statements.prepared``, which
    ``run_later`` needs to queue it: a statement it cannot take runs at once), and one string is
    the cheapest thing to hand the driver (an array a column took a dozen calls an element).
    ``json``, not ``jsonb``: an event's ``data`` is stored as the text it was written as."""
    sql = """
        INSERT INTO webhook_events (id, type, stream, dispute_id, data, occurred_at, fanout_pending)
        SELECT element->>'id', element->>'type', element->>'stream', element->>'dispute_id',
               element->'data', CAST(element->>'occurred_at' AS timestamptz), true
        FROM json_array_elements(CAST(:written AS json)) WITH ORDINALITY AS written (element, ordinal)
        ORDER BY ordinal
    """
    return prepared(text(sql).bindparams(bindparam("written", type_=String())))


def _written_as_json(written: list[dict[str, Any]]) -> str:
    """The events as ``_WRITE_ALL_IN_POSTGRES`` reads them: a JSON array, in the order written,
    each ``data`` serialised as the column's own serialisation would (``json_text.dumps``)."""
    return json_text.dumps(
        [
            {
                "id": row["id"],
                "type": row["type"],
                "stream": row["stream"],
                "dispute_id": row["dispute_id"],
                "data": row["data"],
                "occurred_at": row["occurred_at"].isoformat(),
            }
            for row in written
        ]
    )


_WRITE_ALL_IN_POSTGRES = _write_all_in_postgres()


def register(handlers: Handlers) -> None:
    """Write the catalogue's webhook events for every domain event it names."""
    for event_type, route in CATALOGUE:
        handlers.on(event_type, _writer(route))
    handlers.before_commit(flush)


def _writer(route: Route) -> Callable[[Session, Any], None]:
    translate = route.translate

    def handle(session: Session, event: DomainEvent) -> None:
        for outgoing in translate(session, event):
            write(session, outgoing, at=event.at)

    return handle


def write(session: Session, outgoing: Outgoing, *, at: datetime) -> None:
    """Put one event in this transaction's outbox, after those written before it.

    The rows are inserted together before commit (``flush``), once every handler has run: one
    statement, whatever the number of events.
    """
    row = {
        "id": new_id("evt", at),
        "type": outgoing.type,
        "stream": outgoing.stream,
        "dispute_id": outgoing.dispute_id,
        "data": outgoing.data,
        "occurred_at": at,
        "fanout_pending": True,
    }
    written: list[dict[str, Any]] | None = session.info.get(_WRITTEN)
    if written is None:
        session.info[_WRITTEN] = written = []
    written.append(row)


def flush(session: Session) -> None:
    """Insert the events this transaction wrote, in order, waiting to be fanned out
    (``Handlers.before_commit``).

    Positions increase in the order written, the order a stream's receivers get them in. On
    PostgreSQL the one statement (``_WRITE_ALL_IN_POSTGRES``) waits for the ``COMMIT`` and goes
    out with it; should it fail (a bug: nothing here is a caller's mistake), the commit fails and
    the whole change rolls back. On SQLite the rows go in one after another, each taking a larger
    rowid than the row before.
    """
    written: list[dict[str, Any]] | None = session.info.pop(_WRITTEN, None)
    if not written:
        return
    if session.get_bind().dialect.name == "postgresql":
        execute_later(session, _WRITE_ALL_IN_POSTGRES, {"written": _written_as_json(written)})
    else:
        execute_later(session, _INSERT_EVENTS, written)


def fan_out(database: Database, *, policy: WebhookPolicy) -> int:
    """Make the deliveries of every event waiting, in order, a batch a transaction; returns how
    many events were fanned out (the delivery job's first step).

    Each event gets one delivery per active endpoint registered before it was written
    (``starts_after``) whose ``event_types`` is null or names its type, due at once and
    retried until ``retry_for`` after the event. On PostgreSQL the batch's events are locked in
    order (``FOR UPDATE``), so two jobs at once fan out in turn, never an event twice (the second
    finds them done), and a stream's deliveries are made in its order before any is claimed.
    """
    fanned = 0
    with database.unit_of_work(read_only=True) as session:  # an idle run takes no write lock
        if session.execute(_WAITING.limit(1)).first() is None:
            return 0
    while True:
        with database.unit_of_work() as session:
            events = session.execute(
                _WAITING.limit(FAN_OUT_BATCH).with_for_update(of=OutboxEvent)
            ).all()
            if not events:
                return fanned
            endpoints = session.execute(
                select(
                    WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.starts_after
                )
                .where(WebhookEndpoint.status == ACTIVE)
                .order_by(WebhookEndpoint.id)
            ).all()
            deliveries = [
                {
                    "id": new_id("dlv", event.occurred_at),
                    "endpoint_id": endpoint_id,
                    "event_position": event.position,
                    "position": event.position,
                    "stream": event.stream,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": event.occurred_at,
                    "retry_until": event.occurred_at + policy.retry_for,
                    "created_at": event.occurred_at,
                }
                for event in events
                for endpoint_id, event_types, starts_after in endpoints
                if event.position > starts_after
                and (event_types is None or event.type in event_types)
            ]
            if deliveries:
                execute_core(session, _INSERT_DELIVERIES, deliveries)
            positions = [event.position for event in events]
            execute_core(session, _FANNED_OUT, {"positions": positions})
            fanned += len(events)
        if len(events) < FAN_OUT_BATCH:
            return fanned


def envelope(event: OutboxEvent) -> dict[str, Any]:
    """What a receiver gets: the id to dedupe on, the type, when, and the data."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
