"""The outbox: webhook events written in the same transaction as the change they report.

``register`` hands every domain event of the catalogue to ``write``; each event gets one delivery
per active endpoint that wants its type, so an endpoint registered later hears what happens later.
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
from webhooks.catalogue import CATALOGUE, Outgoing, Route
from webhooks.models import ACTIVE, PENDING, Delivery, OutboxEvent, WebhookEndpoint

_ENDPOINTS = "webhooks.outbox.active_endpoints"
_INSERT_EVENT = insert(OutboxEvent)
_INSERT_EVENT_RETURNING = insert(OutboxEvent).returning(OutboxEvent.position)
_ACTIVE_ENDPOINTS = (
    select(WebhookEndpoint.id, WebhookEndpoint.event_types)
    .where(WebhookEndpoint.status == ACTIVE)
    .order_by(WebhookEndpoint.id)
)


def register(handlers: Handlers, *, policy: WebhookPolicy) -> None:
    """Write the catalogue's webhook events for every domain event it names."""
    for event_type, route in CATALOGUE:
        handlers.on(event_type, _writer(route, policy))


def _writer(route: Route, policy: WebhookPolicy) -> Callable[[Session, Any], None]:
    def handle(session: Session, event: DomainEvent) -> None:
        for outgoing in route.translate(session, event):
            write(session, outgoing, policy=policy, at=event.at)

    return handle


def write(session: Session, outgoing: Outgoing, *, policy: WebhookPolicy, at: datetime) -> None:
    """Put one event in the outbox with a delivery to each endpoint that wants it.

    Inserted at once, in the order written, as a plain row (no ORM object to track); its
    position comes back only when an endpoint wants it, to order the deliveries.
    """
    row = {
        "id": new_id("evt", at),
        "type": outgoing.type,
        "stream": outgoing.stream,
        "dispute_id": outgoing.dispute_id,
        "data": outgoing.data,
        "occurred_at": at,
    }
    wanting = [
        endpoint_id
        for endpoint_id, event_types in active_endpoints(session)
        if event_types is None or outgoing.type in event_types
    ]
    if not wanting:
        execute_core(session, _INSERT_EVENT, row, flush=False)
        return
    position = execute_core(session, _INSERT_EVENT_RETURNING, row, flush=False).scalar_one()
    for endpoint_id in wanting:
        session.add(
            Delivery(
                id=new_id("dlv", at),
                endpoint_id=endpoint_id,
                event_position=position,
                position=position,
                stream=outgoing.stream,
                status=PENDING,
                attempts=0,
                next_attempt_at=at,
                retry_until=at + policy.retry_for,
                created_at=at,
            )
        )


def active_endpoints(session: Session) -> list[tuple[str, list[str] | None]]:
    """The active endpoints (id, the types they want, None for all), read once per transaction:
    a change writes several events, and the endpoints do not change while it runs (registering
    or disabling one calls ``forget_endpoints``)."""
    found: list[tuple[str, list[str] | None]] | None = session.info.get(_ENDPOINTS)
    if found is None:
        rows = execute_core(session, _ACTIVE_ENDPOINTS, flush=False)
        found = [(row[0], row[1]) for row in rows]
        session.info[_ENDPOINTS] = found
    return found


def forget_endpoints(session: Session) -> None:
    """The endpoints changed in this transaction: the next event reads them again."""
    session.info.pop(_ENDPOINTS, None)


def envelope(event: OutboxEvent) -> dict[str, Any]:
    """What a receiver gets: the id to dedupe on, the type, when, and the data."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
