"""Webhook endpoints, deliveries and audit checkpoints: what the platform sends and gets back."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import In, Out, Text, choice, identifier
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import DELIVERY_STATUSES
from webhooks.service import MAX_URL_LENGTH

# Inputs -----------------------------------------------------------------------------------------


class EndpointIn(In):
    url = Text(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        required=True,
        metadata={"description": "http(s) URL that receives signed POSTs"},
    )
    events = fields.List(
        choice(EVENT_TYPES),
        allow_none=True,
        load_default=None,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata={"description": "the event types it wants; omitted or null: every event"},
    )
    description = Text(max_length=200, load_default="")


class DeliveryQueryIn(In):
    endpoint_id = identifier()
    status = choice(DELIVERY_STATUSES)
    dispute_id = identifier()
    before = identifier(metadata={"description": "the last delivery id of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CheckpointQueryIn(In):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


# Outputs ----------------------------------------------------------------------------------------


class EndpointOut(Out):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String(), allow_none=True, attribute="event_types")
    description = fields.String()
    status = choice(("active", "disabled"))
    created_at = fields.DateTime()
    secret_rotated_at = fields.DateTime(allow_none=True)
    disabled_at = fields.DateTime(allow_none=True)


class EndpointWithSecretOut(EndpointOut):
    secret = fields.String(
        metadata={"description": "the signing secret; shown only now, keep it safe"}
    )


class EndpointPageOut(Out):
    data = fields.List(fields.Nested(EndpointOut))


class DeliveryOut(Out):
    id = fields.String()
    endpoint_id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    dispute_id = fields.String(allow_none=True)
    status = choice(DELIVERY_STATUSES)
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    retry_until = fields.DateTime()
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class DeliveryPageOut(Out):
    data = fields.List(fields.Nested(DeliveryOut))
    next_before = fields.String(
        allow_none=True, metadata={"description": "pass as `before` for the next page"}
    )


class CheckpointOut(Out):
    seq = fields.Integer()
    taken_at = fields.DateTime()
    document = fields.String(
        metadata={"description": "the exact signed text (canonical JSON of every chain head)"}
    )
    signature = fields.String(metadata={"description": "hex Ed25519 signature of `document`"})
    key_id = fields.String()


class CheckpointPageOut(Out):
    data = fields.List(fields.Nested(CheckpointOut))


class PublicKeyOut(Out):
    algorithm = fields.String(metadata={"description": "Ed25519"})
    public_key = fields.String(metadata={"description": "the raw public key, hex"})
    key_id = fields.String()


# The payloads an endpoint receives (documented for integrators; never loaded).


class WebhookEventOut(Out):
    """The JSON body of every webhook POST, signed in ``Arbitration-Signature``."""

    id = fields.String(metadata={"description": "the event id; receivers dedupe on it"})
    type = choice(EVENT_TYPES)
    created_at = fields.DateTime()
    data = fields.Dict(metadata={"description": "the event's fields; see the README"})
