"""The outbox: webhook events written in the same transaction as the change they report.

``register`` hands every domain event of the catalogue to ``write``, which keeps the event until
the transaction's handlers have all run; ``flush`` then inserts them together, each with one
delivery per active endpoint that wants its type, so an endpoint registered later hears what
happens later. Every write ends with it, so it costs as few round trips as it can:

- on PostgreSQL, where each statement is a round trip to the server, one statement inserts the
  events and their deliveries, reading the endpoints itself; nothing in it is read back, so it
  waits on the connection and goes out with the ``COMMIT`` (``db.execute_later``): no round
  trip of its own;
- on SQLite, where a statement is a call into the process, the events' insert returns the active
  endpoints, and the deliveries are built in Python and inserted by a second statement when
  there is an endpoint to tell.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    String,
    Text,
    TextClause,
    bindparam,
    cast,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from arbitration import json_text
from arbitration.db import execute_core, execute_later
from arbitration.events import DomainEvent, Handlers
from arbitration.ids import new_id, new_id_in_postgres
from arbitration.policy import WebhookPolicy
from arbitration.statements import prepared
from webhooks.catalogue import CATALOGUE, Outgoing, Route
from webhooks.models import ACTIVE, PENDING, Delivery, OutboxEvent, WebhookEndpoint

_WRITTEN = "webhooks.outbox.written"
_INSERT_DELIVERIES = prepared(insert(Delivery))


def _insert_events(endpoints_as_json: ColumnElement[Any]) -> Insert:
    """The events' insert, all rows in one statement, returning each event's position and id (in
    no promised order) with the active endpoints as a JSON list of ``[id, event_types]`` (a
    subquery run in the statement's snapshot)."""
    active = WebhookEndpoint.status == ACTIVE
    endpoints = cast(select(endpoints_as_json).where(active).scalar_subquery(), Text)
    return prepared(insert(OutboxEvent).returning(OutboxEvent.position, OutboxEvent.id, endpoints))


# By dialect, for those whose flush reads the endpoints back: SQLite (see the module docstring).
_INSERT_EVENTS = {
    "sqlite": _insert_events(
        func.json_group_array(
            func.json_array(WebhookEndpoint.id, func.json(WebhookEndpoint.event_types))
        )
    ),
}


def _write_all_in_postgres() -> TextClause:
    """PostgreSQL's flush, one statement: the events in the order written (the insert takes the
    identity's next value for each row as it comes, in the ``ORDER BY``'s order), then for each
    one a delivery per active endpoint whose ``event_types`` is null (SQL's, or JSON's: the
    column stores Python's None so) or names the event's type.

    The events come as one JSON array, one parameter (``_written_as_json``): the statement is the
    same whatever their number, compiled once for the fast path (``statements.prepared``, which
    ``run_later`` needs to queue it: a statement it cannot take runs at once), and one string is
    the cheapest thing to hand the driver (an array a column took a dozen calls an element).
    ``json``, not ``jsonb``: an event's ``data`` is stored as the text it was written as."""
    sql = f"""
        WITH written AS (
            SELECT element->>'id' AS id, element->>'type' AS type,
                   element->>'stream' AS stream, element->>'dispute_id' AS dispute_id,
                   element->'data' AS data,
                   CAST(element->>'occurred_at' AS timestamptz) AS occurred_at,
                   CAST(element->>'retry_until' AS timestamptz) AS retry_until, ordinal
            FROM json_array_elements(CAST(:written AS json)) WITH ORDINALITY
              AS written (element, ordinal)
        ), event AS (
            INSERT INTO webhook_events (id, type, stream, dispute_id, data, occurred_at)
            SELECT id, type, stream, dispute_id, data, occurred_at FROM written ORDER BY ordinal
            RETURNING position, id
        )
        INSERT INTO webhook_deliveries (
            id, endpoint_id, event_position, position, stream, status, attempts,
            next_attempt_at, retry_until, created_at
        )
        SELECT {new_id_in_postgres("dlv", at_time_of="written.id", its_prefix="evt")},
               endpoint.id, event.position, event.position, written.stream, :pending, 0,
               written.occurred_at, written.retry_until, written.occurred_at
        FROM event
        JOIN written ON written.id = event.id
        JOIN webhook_endpoints AS endpoint
          ON endpoint.status = :active
         AND (coalesce(json_typeof(endpoint.event_types), 'null') = 'null'
              OR CAST(endpoint.event_types AS jsonb) @> jsonb_build_array(written.type))
    """
    return prepared(
        text(sql).bindparams(
            bindparam("written", type_=String()),
            bindparam("pending", value=PENDING, type_=String()),
            bindparam("active", value=ACTIVE, type_=String()),
        )
    )


def _written_as_json(written: list[tuple[dict[str, Any], datetime]]) -> str:
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
                "retry_until": retry_until.isoformat(),
            }
            for row, retry_until in written
        ]
    )


_WRITE_ALL_IN_POSTGRES = _write_all_in_postgres()


def register(handlers: Handlers, *, policy: WebhookPolicy) -> None:
    """Write the catalogue's webhook events for every domain event it names."""
    for event_type, route in CATALOGUE:
        handlers.on(event_type, _writer(route, policy))
    handlers.before_commit(flush)


def _writer(route: Route, policy: WebhookPolicy) -> Callable[[Session, Any], None]:
    translate = route.translate

    def handle(session: Session, event: DomainEvent) -> None:
        for outgoing in translate(session, event):
            write(session, outgoing, policy=policy, at=event.at)

    return handle


def write(session: Session, outgoing: Outgoing, *, policy: WebhookPolicy, at: datetime) -> None:
    """Put one event in this transaction's outbox, after those written before it.

    The rows are inserted together before commit (``flush``), once every handler has run: one
    statement on PostgreSQL, two on SQLite, whatever the number of events.
    """
    row = {
        "id": new_id("evt", at),
        "type": outgoing.type,
        "stream": outgoing.stream,
        "dispute_id": outgoing.dispute_id,
        "data": outgoing.data,
        "occurred_at": at,
    }
    written: list[tuple[dict[str, Any], datetime]] | None = session.info.get(_WRITTEN)
    if written is None:
        session.info[_WRITTEN] = written = []
    written.append((row, at + policy.retry_for))


def flush(session: Session) -> None:
    """Insert the events this transaction wrote, in order, with a delivery to each active endpoint
    that wants them (``Handlers.before_commit``).

    The endpoints are read by the statement that inserts the events, in the transaction, after
    its own changes: one registered or disabled a moment ago, by any process, counts from the
    next transaction on.

    Positions increase in the order written, the order a stream's receivers get them in. On
    PostgreSQL the one statement (``_WRITE_ALL_IN_POSTGRES``) waits for the ``COMMIT`` and goes
    out with it; should it fail (a bug: nothing here is a caller's mistake), the commit fails and
    the whole change rolls back. On SQLite the events go in one ``INSERT ... VALUES``, whose rows
    the database inserts in the order given, each taking a larger rowid than the row before.
    (Through SQLAlchemy's path, an ``executemany``, the same holds batch by batch, and later
    batches take later positions.) ``RETURNING`` hands the rows back in no promised order, each
    position with its event's id: a delivery takes its event's position by that id.
    """
    written: list[tuple[dict[str, Any], datetime]] | None = session.info.pop(_WRITTEN, None)
    if not written:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        execute_later(session, _WRITE_ALL_IN_POSTGRES, {"written": _written_as_json(written)})
        return
    rows = [row for row, _ in written]
    inserted = execute_core(session, _INSERT_EVENTS[bind.dialect.name], rows).all()
    found = inserted[0][2]  # the same for every row
    if found == "[]":
        return
    endpoints = sorted(json.loads(found))
    position_of = {event_id: position for position, event_id, _ in inserted}
    deliveries = [
        {
            "id": new_id("dlv", row["occurred_at"]),
            "endpoint_id": endpoint_id,
            "event_position": position_of[row["id"]],
            "position": position_of[row["id"]],
            "stream": row["stream"],
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": row["occurred_at"],
            "retry_until": retry_until,
            "created_at": row["occurred_at"],
        }
        for row, retry_until in written
        for endpoint_id, event_types in endpoints
        if event_types is None or row["type"] in event_types
    ]
    if deliveries:
        execute_later(session, _INSERT_DELIVERIES, deliveries, flush=False)


def envelope(event: OutboxEvent) -> dict[str, Any]:
    """What a receiver gets: the id to dedupe on, the type, when, and the data."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
