"""The outbox: webhook events written in the same transaction as the change they report.

``register`` hands every domain event of the catalogue to ``write``; each event gets one delivery
per active endpoint that wants its type, so an endpoint registered later hears what happens later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.events import DomainEvent, Handlers
from arbitration.ids import new_id
from arbitration.policy import WebhookPolicy
from webhooks.catalogue import CATALOGUE, Outgoing, Route, jsonable
from webhooks.models import ACTIVE, PENDING, Delivery, OutboxEvent, WebhookEndpoint


def register(handlers: Handlers, *, policy: WebhookPolicy) -> None:
    """Write the catalogue's webhook events for every domain event it names."""
    for event_type, route in CATALOGUE:
        handlers.on(event_type, _writer(route, policy))


def _writer(route: Route, policy: WebhookPolicy) -> Callable[[Session, Any], None]:
    def handle(session: Session, event: DomainEvent) -> None:
        for outgoing in route.translate(session, event):
            write(session, outgoing, policy=policy, at=event.at)

    return handle


def write(
    session: Session, outgoing: Outgoing, *, policy: WebhookPolicy, at: datetime
) -> OutboxEvent:
    """Put one event in the outbox with a delivery to each endpoint that wants it."""
    event = OutboxEvent(
        id=new_id("evt", at),
        type=outgoing.type,
        stream=outgoing.stream,
        dispute_id=outgoing.dispute_id,
        data=jsonable(outgoing.data),
        occurred_at=at,
    )
    session.add(event)
    session.flush()  # the position orders deliveries
    endpoints = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.status == ACTIVE)
    ).all()
    for endpoint in endpoints:
        if endpoint.event_types is not None and event.type not in endpoint.event_types:
            continue
        session.add(
            Delivery(
                id=new_id("dlv", at),
                endpoint_id=endpoint.id,
                event_position=event.position,
                position=event.position,
                stream=event.stream,
                status=PENDING,
                attempts=0,
                next_attempt_at=at,
                retry_until=at + policy.retry_for,
                created_at=at,
            )
        )
    return event


def envelope(event: OutboxEvent) -> dict[str, Any]:
    """What a receiver gets: the id to dedupe on, the type, when, and the data."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
