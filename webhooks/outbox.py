"""The outbox: webhook events written in the same transaction as the change they report.

``register`` hands every domain event of the catalogue to ``write``, which keeps the event until
the transaction's handlers have all run; ``flush`` then inserts them together, each with one
delivery per active endpoint that wants its type, so an endpoint registered later hears what
happens later. The statement that inserts the events also reads the active endpoints: a change
with no endpoint to tell costs one statement, and one more for the deliveries when there is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Text, cast, func, insert, select
from sqlalchemy.orm import Session

from arbitration.db import execute_core, execute_later
from arbitration.events import DomainEvent, Handlers
from arbitration.ids import new_id
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


# Built once per dialect: each says "a JSON list of the rows" its own way.
_INSERT_EVENTS = {
    "sqlite": _insert_events(
        func.json_group_array(
            func.json_array(WebhookEndpoint.id, func.json(WebhookEndpoint.event_types))
        )
    ),
    "postgresql": _insert_events(
        func.json_agg(func.json_build_array(WebhookEndpoint.id, WebhookEndpoint.event_types))
    ),
}


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
    statement for the events, one for their deliveries, whatever the number of events.
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

    The endpoints are read as the events are inserted, in the transaction, after its own changes:
    one registered or disabled a moment ago, by any process, counts from the next transaction on.

    The events go in one ``INSERT ... VALUES``, whose rows the database inserts in the order
    given, each taking a larger ``position`` than the row before (SQLite's rowid, PostgreSQL's
    identity): positions increase in the order written, the order a stream's receivers get them
    in. (Through SQLAlchemy's path, an ``executemany``, the same holds batch by batch, and later
    batches take later positions.) ``RETURNING`` hands the rows back in no promised order, each
    position with its event's id: a delivery takes its event's position by that id.
    """
    written: list[tuple[dict[str, Any], datetime]] | None = session.info.pop(_WRITTEN, None)
    if not written:
        return
    rows = [row for row, _ in written]
    bind = session.get_bind()
    inserted = execute_core(session, _INSERT_EVENTS[bind.dialect.name], rows).all()
    found = inserted[0][2]  # the same for every row; NULL on PostgreSQL when there is none
    if found is None or found == "[]":
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
