"""The outbox: webhook events written in the same transaction as the change they report.

``register`` hands every domain event of the catalogue to ``write``, which keeps the event until
the transaction's handlers have all run; ``flush`` then inserts them together, each with one
delivery per active endpoint that wants its type, so an endpoint registered later hears what
happens later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from arbitration.db import execute_core
from arbitration.events import DomainEvent, Handlers
from arbitration.ids import new_id
from arbitration.policy import WebhookPolicy
from arbitration.statements import prepared
from webhooks.catalogue import CATALOGUE, Outgoing, Route
from webhooks.models import ACTIVE, PENDING, Delivery, OutboxEvent, WebhookEndpoint

_WRITTEN = "webhooks.outbox.written"
_INSERT_EVENTS = prepared(insert(OutboxEvent))
# Positions in the order the rows were given, on SQLite and PostgreSQL alike.
_INSERT_EVENTS_RETURNING = prepared(
    insert(OutboxEvent).returning(OutboxEvent.position, sort_by_parameter_order=True)
)
_INSERT_DELIVERIES = prepared(insert(Delivery))
_ACTIVE_ENDPOINTS = prepared(
    select(WebhookEndpoint.id, WebhookEndpoint.event_types)
    .where(WebhookEndpoint.status == ACTIVE)
    .order_by(WebhookEndpoint.id)
)


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

    The endpoints are read here, in the transaction, after its own changes: one registered or
    disabled a moment ago, by any process, counts from the next transaction on. The events'
    positions come back (in the order written) only when there is an endpoint to deliver to.
    """
    written: list[tuple[dict[str, Any], datetime]] | None = session.info.pop(_WRITTEN, None)
    if not written:
        return
    rows = [row for row, _ in written]
    endpoints = execute_core(session, _ACTIVE_ENDPOINTS).all()
    if not endpoints:
        execute_core(session, _INSERT_EVENTS, rows, flush=False)
        return
    positions = execute_core(session, _INSERT_EVENTS_RETURNING, rows, flush=False).scalars()
    deliveries = [
        {
            "id": new_id("dlv", row["occurred_at"]),
            "endpoint_id": endpoint_id,
            "event_position": position,
            "position": position,
            "stream": row["stream"],
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": row["occurred_at"],
            "retry_until": retry_until,
            "created_at": row["occurred_at"],
        }
        for (row, retry_until), position in zip(written, positions, strict=True)
        for endpoint_id, event_types in endpoints
        if event_types is None or row["type"] in event_types
    ]
    if deliveries:
        execute_core(session, _INSERT_DELIVERIES, deliveries, flush=False)


def envelope(event: OutboxEvent) -> dict[str, Any]:
    """What a receiver gets: the id to dedupe on, the type, when, and the data."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
