"""Webhook endpoints and their deliveries: register, list, disable, rotate the secret, redeliver."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.context import caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas.common import EmptyIn, ErrorOut
from api.schemas.webhooks import (
    DeliveryOut,
    DeliveryPageOut,
    DeliveryQueryIn,
    EndpointIn,
    EndpointOut,
    EndpointPageOut,
    EndpointWithSecretOut,
)
from webhooks import service
from webhooks.service import DeliveryView

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1",
    description="Webhooks: signed events for the platform (DESIGN §7); platform and admins",
)

ENDPOINT_OUT = EndpointOut()
ENDPOINT_WITH_SECRET_OUT = EndpointWithSecretOut()
ENDPOINT_PAGE_OUT = EndpointPageOut()
DELIVERY_OUT = DeliveryOut()
DELIVERY_PAGE_OUT = DeliveryPageOut()


def delivery_body(view: DeliveryView) -> dict[str, Any]:
    delivery, event = view.delivery, view.event
    return {
        **{
            name: getattr(delivery, name) for name in DELIVERY_OUT.fields if hasattr(delivery, name)
        },
        "event_id": event.id,
        "event_type": event.type,
        "dispute_id": event.dispute_id,
    }


@blp.route("/webhook-endpoints", methods=["POST"])
@blp.arguments(EndpointIn())
@blp.alt_response(201, schema=EndpointWithSecretOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not the platform or an admin")
@documents_errors(blp, 422)
def create_endpoint(body: dict[str, Any]) -> ResponseReturnValue:
    """Register a URL for signed events; the answer holds its signing secret, shown only once."""
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        endpoint, secret = service.create_endpoint(
            session,
            caller=who,
            url=body["url"],
            event_types=body["events"],
            description=body["description"],
            at=services().clock.now(),
        )
        return ENDPOINT_WITH_SECRET_OUT.dump({**_fields(endpoint), "secret": secret}), 201

    return perform(work)


def _fields(endpoint: Any) -> dict[str, Any]:
    return {
        name: getattr(endpoint, name)
        for name in (
            "id",
            "url",
            "event_types",
            "description",
            "status",
            "created_at",
            "secret_rotated_at",
            "disabled_at",
        )
    }


@blp.route("/webhook-endpoints", methods=["GET"])
@blp.alt_response(200, schema=EndpointPageOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not the platform or an admin")
def list_endpoints() -> ResponseReturnValue:
    """Every registered endpoint (secrets are never shown again)."""
    who = caller()

    def work(session: Session) -> dict[str, Any]:
        found = service.list_endpoints(session, caller=who)
        dumped: dict[str, Any] = ENDPOINT_PAGE_OUT.dump(
            {"data": [_fields(endpoint) for endpoint in found]}
        )
        return dumped

    return read(work), 200


@blp.route("/webhook-endpoints/<endpoint_id>/disable", methods=["POST"])
@blp.arguments(EmptyIn(), required=False)
@blp.alt_response(200, schema=EndpointOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not the platform or an admin")
@blp.alt_response(404, schema=ErrorOut, description="no such endpoint")
def disable_endpoint(_params: dict[str, Any], endpoint_id: str) -> ResponseReturnValue:
    """Stop sending to an endpoint; its undelivered events stay listed."""
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        endpoint = service.disable_endpoint(
            session, caller=who, endpoint_id=endpoint_id, at=services().clock.now()
        )
        return ENDPOINT_OUT.dump(_fields(endpoint)), 200

    return perform(work)


@blp.route("/webhook-endpoints/<endpoint_id>/rotate-secret", methods=["POST"])
@blp.arguments(EmptyIn(), required=False)
@blp.alt_response(200, schema=EndpointWithSecretOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not the platform or an admin")
@blp.alt_response(404, schema=ErrorOut, description="no such endpoint")
@documents_errors(blp, 409)
def rotate_secret(_params: dict[str, Any], endpoint_id: str) -> ResponseReturnValue:
    """A new signing secret, shown once; the old one stops signing at once."""
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        endpoint, secret = service.rotate_secret(
            session, caller=who, endpoint_id=endpoint_id, at=services().clock.now()
        )
        return ENDPOINT_WITH_SECRET_OUT.dump({**_fields(endpoint), "secret": secret}), 200

    return perform(work)


@blp.route("/webhook-deliveries", methods=["GET"])
@blp.arguments(DeliveryQueryIn(), location="query")
@blp.alt_response(200, schema=DeliveryPageOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not the platform or an admin")
@documents_errors(blp, 422)
def list_deliveries(query: dict[str, Any]) -> ResponseReturnValue:
    """Deliveries newest first: what was sent where, how it went, what is pending or dead."""
    who = caller()
    limit = query.pop("limit")

    def work(session: Session) -> dict[str, Any]:
        found = service.list_deliveries(session, caller=who, limit=limit, **query)
        dumped: dict[str, Any] = DELIVERY_PAGE_OUT.dump(
            {
                "data": [delivery_body(view) for view in found],
                "next_before": found[-1].delivery.id if len(found) == limit else None,
            }
        )
        return dumped

    return read(work), 200


@blp.route("/webhook-deliveries/<delivery_id>/redeliver", methods=["POST"])
@blp.arguments(EmptyIn(), required=False)
@blp.alt_response(200, schema=DeliveryOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not the platform or an admin")
@blp.alt_response(404, schema=ErrorOut, description="no such delivery")
@documents_errors(blp, 409)
def redeliver(_params: dict[str, Any], delivery_id: str) -> ResponseReturnValue:
    """Send a delivery again at the next run (a dead one, or one the receiver lost)."""
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        view = service.redeliver(
            session,
            caller=who,
            delivery_id=delivery_id,
            policy=services().policy.webhooks,
            at=services().clock.now(),
        )
        return DELIVERY_OUT.dump(delivery_body(view)), 200

    return perform(work)
