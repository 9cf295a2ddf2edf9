"""Managing webhook endpoints and their deliveries: register, list, disable, rotate, redeliver.

Who may: the platform (the marketplace's service account, which receives webhooks, DESIGN §9)
and admins (operations: listing, disabling, rotating, redelivering). Anyone else gets a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import SQLCoreOperations

from arbitration.accounts import ADMIN, PLATFORM, Caller
from arbitration.audit import REDACTED, is_personal, is_redacted, value_digest
from arbitration.db import not_by_index
from arbitration.errors import Conflict, Forbidden, NotFound, ValidationFailed
from arbitration.ids import new_id
from arbitration.policy import WebhookPolicy
from webhooks import signing
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import (
    ACTIVE,
    DEAD,
    DELIVERED,
    DISABLED,
    PENDING,
    Delivery,
    OutboxEvent,
    WebhookEndpoint,
)

MANAGERS = frozenset({PLATFORM, ADMIN})
MAX_URL_LENGTH = 2000


def require_manager(caller: Caller | None) -> None:
    """``None`` is the command line, run by whoever runs the engine."""
    if caller is not None and caller.role not in MANAGERS:
        raise Forbidden("only the platform and admins manage webhooks")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(
            "bad webhook URL", details={"url": ["an http:// or https:// URL with a host"]}
        )


def _check_types(event_types: list[str] | None) -> list[str] | None:
    if event_types is None:
        return None
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown or not event_types:
        problem = f"one or more of: {', '.join(EVENT_TYPES)}"
        raise ValidationFailed("unknown event type", details={"events": [problem]})
    return sorted(set(event_types))


def create_endpoint(
    session: Session,
    *,
    caller: Caller,
    url: str,
    event_types: list[str] | None,
    description: str,
    at: datetime,
) -> tuple[WebhookEndpoint, str]:
    """Register ``url``; returns the endpoint and its signing secret (shown this once)."""
    require_manager(caller)
    _check_url(url)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        id=new_id("whe", at),
        owner_id=caller.id,
        url=url,
        event_types=_check_types(event_types),
        description=description,
        secret=secret,
        status=ACTIVE,
        created_at=at,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def list_endpoints(session: Session, *, caller: Caller) -> list[WebhookEndpoint]:
    require_manager(caller)
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(session: Session, *, caller: Caller | None, endpoint_id: str) -> WebhookEndpoint:
    require_manager(caller)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


def disable_endpoint(
    session: Session, *, caller: Caller, endpoint_id: str, at: datetime
) -> WebhookEndpoint:
    """Stop sending to it; what it has not received stays listed (and can be redelivered)."""
    endpoint = get_endpoint(session, caller=caller, endpoint_id=endpoint_id)
    if endpoint.status != DISABLED:
        endpoint.status = DISABLED
        endpoint.disabled_at = at
    return endpoint


def rotate_secret(
    session: Session, *, caller: Caller, endpoint_id: str, at: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new secret, effective for the next attempt; the old one stops working at once."""
    endpoint = get_endpoint(session, caller=caller, endpoint_id=endpoint_id)
    if endpoint.status == DISABLED:
        raise Conflict("the endpoint is disabled", code="endpoint_disabled")
    endpoint.secret = signing.new_secret()
    endpoint.secret_rotated_at = at
    return endpoint, endpoint.secret


@dataclass(frozen=True)
class DeliveryView:
    delivery: Delivery
    event: OutboxEvent


def list_deliveries(
    session: Session,
    *,
    caller: Caller | None,
    endpoint_id: str | None = None,
    status: str | None = None,
    dispute_id: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[DeliveryView]:
    """Newest first; ``before`` is the last id of the previous page.

    One condition drives the walk and the others filter what it finds (``not_by_index``): a
    dispute's few events, else the deliveries by status, else by endpoint, each index in the
    list's own order, so a page stops at its end however many deliveries were ever made."""
    require_manager(caller)
    query = select(Delivery, OutboxEvent).join(
        OutboxEvent, OutboxEvent.position == Delivery.event_position
    )
    endpoint: SQLCoreOperations[str] = Delivery.endpoint_id
    state: SQLCoreOperations[str] = Delivery.status
    if dispute_id is not None:
        query = query.where(OutboxEvent.dispute_id == dispute_id)
        endpoint, state = not_by_index(endpoint), not_by_index(state)
    elif status is not None:
        endpoint = not_by_index(endpoint)
    if endpoint_id is not None:
        query = query.where(endpoint == endpoint_id)
    if status is not None:
        query = query.where(state == status)
    if before is not None:
        query = query.where(Delivery.id < before)
    rows = session.execute(query.order_by(Delivery.id.desc()).limit(limit)).all()
    return [DeliveryView(delivery, event) for delivery, event in rows]


def redeliver(
    session: Session,
    *,
    caller: Caller | None,
    delivery_id: str,
    policy: WebhookPolicy,
    at: datetime,
) -> DeliveryView:
    """Send a delivery again (a dead one, or one the receiver lost): pending now, a fresh window."""
    require_manager(caller)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or endpoint.status == DISABLED:
        raise Conflict("the endpoint is disabled", code="endpoint_disabled")
    if delivery.status == PENDING and delivery.leased_until is not None:
        raise Conflict("the delivery is being attempted now", code="delivery_in_flight")
    if delivery.status in (DELIVERED, DEAD, PENDING):
        delivery.status = PENDING
        delivery.next_attempt_at = at
        delivery.retry_until = at + policy.retry_for
        delivery.delivered_at = None
    event = session.get(OutboxEvent, delivery.event_position)
    assert event is not None
    return DeliveryView(delivery, event)


def redact_outbox(session: Session, *, dispute_ids: list[str]) -> int:
    """Remove the personal fields ``privacy purge`` removed from these disputes' webhook events."""
    changed = 0
    for event in session.scalars(
        select(OutboxEvent).where(OutboxEvent.dispute_id.in_(dispute_ids))
    ):
        payload = event.data.get("payload")
        if not isinstance(payload, dict):
            continue
        action = str(event.data.get("action", ""))
        personal = [k for k in payload if is_personal(action, k) and not is_redacted(payload[k])]
        if personal:
            redacted = {
                k: {REDACTED: value_digest(v)} if k in personal else v for k, v in payload.items()
            }
            event.data = {**event.data, "payload": redacted}
            changed += 1
    return changed
