"""The webhook payloads in the OpenAPI document (its 3.1 ``webhooks`` section, DESIGN §7).

Every event the engine posts to a registered endpoint shares one envelope; receivers check the
``Arbitration-Signature`` header and dedupe on ``id``. The ``data`` of each event type is what the
event's domain event carries.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from webhooks.catalogue import EVENT_TYPES

SIGNATURE_HEADER = {
    "in": "header",
    "name": "Arbitration-Signature",
    "required": True,
    "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the '
    "endpoint's signing secret>; refuse a bad signature or an old t (replays)",
    "schema": {"type": "string"},
}

ENVELOPE: dict[str, Any] = {
    "type": "object",
    "description": "Every webhook: what happened, to which dispute, when. Delivered at least "
    "once, in order per dispute: dedupe on id.",
    "required": ["id", "type", "created_at", "data"],
    "properties": {
        "id": {"type": "string", "description": "the event's id, the same on every retry"},
        "type": {
            "type": "string",
            "enum": list(EVENT_TYPES),
            "description": "the event type, e.g. dispute.updated",
        },
        "created_at": {"type": "string", "format": "date-time"},
        "data": {
            "type": "object",
            "description": "the event type's own fields (dispute_id among them for a dispute's)",
        },
    },
}

FEEDBACK_REQUESTED_DATA: dict[str, Any] = {
    "type": "object",
    "required": ["buyer_id", "seller_id", "outcome", "closed_at"],
    "properties": {
        "buyer_id": {"type": "string", "description": "whom to ask"},
        "seller_id": {"type": "string"},
        "outcome": {"type": ["string", "null"]},
        "closed_at": {"type": "string", "format": "date-time"},
    },
}

# Event type → (what it announces, the schema of its data, or None for the envelope's alone).
EVENTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "dispute.created": ("a buyer filed a dispute", None),
    "dispute.updated": ("a dispute changed: its new status and whose move it is", None),
    "deadline.approaching": ("a party's deadline runs out soon", None),
    "refund.instructed": ("the platform must pay this refund, once", None),
    "decision.made": ("an arbitrator ruled", None),
    "decision.overturned": ("an appeal replaced a ruling; the money difference", None),
    "penalty.applied": ("a penalty applies to a seller, explaining itself", None),
    "penalty.lifted": ("a penalty was revoked or expired", None),
    "compensation.instructed": ("the platform must grant this compensation, once", None),
    "recovery.opened": ("the platform paid first and recovers this from the seller", None),
    "recovery.overdue": ("a recovery is still open past its grace: the seller may not sell", None),
    "recovery.closed": ("a recovery was recovered or written off", None),
    "feedback.requested": (
        "ask the buyer how satisfied they are; answers go to POST /v1/disputes/{id}/feedback",
        FEEDBACK_REQUESTED_DATA,
    ),
    "audit.checkpoint": ("a signed checkpoint of every audit chain's head", None),
}


def document_webhooks(spec: APISpec) -> None:
    """Add the envelope to the components and one ``webhooks`` entry per event type the outbox
    sends (``webhooks.catalogue``): a type without its line in ``EVENTS`` stops the app here."""
    spec.components.schema("WebhookEvent", ENVELOPE)
    webhooks: dict[str, Any] = {}
    for event_type in EVENT_TYPES:
        summary, data = EVENTS[event_type]
        schema: dict[str, Any] = {"$ref": "#/components/schemas/WebhookEvent"}
        if data is not None:
            schema = {"allOf": [schema, {"type": "object", "properties": {"data": data}}]}
        webhooks[event_type] = {
            "post": {
                "summary": summary,
                "operationId": "webhook_" + event_type.replace(".", "_"),
                "security": [],
                "parameters": [SIGNATURE_HEADER],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema}},
                },
                "responses": {
                    "2XX": {"description": "received; any other answer (or none) is retried"}
                },
            }
        }
    spec.options["webhooks"] = webhooks
