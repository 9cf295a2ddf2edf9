"""Dispute payloads: what callers send (``…In``) and what they get back (``…Out``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import money
from arbitration.disputes import CHANNELS, REMEDIES
from arbitration.lifecycle import STATES
from arbitration.policy import REASONS

Reason = validate.OneOf(REASONS)
Text = validate.Length(max=5000)


class DisputeItemIn(Schema):
    listing_id = fields.String(required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


class DisputeIn(Schema):
    order_id = fields.String(required=True)
    reason = fields.String(required=True, validate=Reason)
    remedy = fields.String(required=True, validate=validate.OneOf(REMEDIES))
    amount = money(required=True)
    description = fields.String(load_default="", validate=Text)
    channel = fields.String(load_default="web", validate=validate.OneOf(CHANNELS))
    items = fields.List(
        fields.Nested(DisputeItemIn),
        metadata={"description": "order lines concerned; default the whole order"},
    )


class DisputeQueryIn(Schema):
    status = fields.String(validate=validate.OneOf(STATES))
    seller_id = fields.String()
    buyer_id = fields.String()
    reason = fields.String(validate=Reason)
    cursor = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class OptionalReasonIn(Schema):
    reason = fields.String(validate=Text)


class OfferIn(Schema):
    amount = money(required=True)
    note = fields.String(validate=Text)


class ModifyIn(Schema):
    amount = money()
    reason = fields.String(validate=Reason)
    description = fields.String(validate=Text)


class ShipReturnIn(Schema):
    carrier = fields.String(required=True, validate=validate.Length(min=1, max=100))
    tracking_number = fields.String(required=True, validate=validate.Length(min=1, max=100))


class DisputeReturnIn(Schema):
    problem = fields.String(
        required=True, validate=validate.OneOf(("missing", "damaged", "not_original"))
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class RequestInfoIn(Schema):
    party = fields.String(required=True, validate=validate.OneOf(("buyer", "seller", "both")))
    question = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class DeadlineOut(Schema):
    action = fields.String(metadata={"description": "what happens if nobody acts"})
    due_at = fields.DateTime()
    party = fields.String(allow_none=True, metadata={"description": "whose deadline it is"})


class OfferOut(Schema):
    id = fields.String()
    amount = fields.Integer()
    note = fields.String()
    created_at = fields.DateTime()


class ReturnShipmentOut(Schema):
    carrier = fields.String()
    tracking_number = fields.String()
    shipped_at = fields.DateTime()


class RefundOut(Schema):
    id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    instructed_at = fields.DateTime()
    confirmed_at = fields.DateTime(allow_none=True)
    overdue_since = fields.DateTime(
        allow_none=True, metadata={"description": "set when the platform has not confirmed in time"}
    )


class DisputeItemOut(Schema):
    listing_id = fields.String()
    quantity = fields.Integer()
    value = fields.Integer()


class DisputeOut(Schema):
    id = fields.String()
    order_id = fields.String()
    buyer_id = fields.String()
    seller_id = fields.String()
    status = fields.String(metadata={"description": "the stage (DESIGN §1)"})
    awaiting = fields.String(
        allow_none=True, metadata={"description": "whose move: buyer, seller, both, platform"}
    )
    allowed_actions = fields.List(
        fields.String(), metadata={"description": "what the caller may do now"}
    )
    outcome = fields.String(allow_none=True)
    reason = fields.String()
    remedy = fields.String()
    channel = fields.String()
    description = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    refund_amount = fields.Integer(allow_none=True)
    refund = fields.Nested(RefundOut, allow_none=True)
    items = fields.List(fields.Nested(DisputeItemOut))
    category = fields.String()
    priority = fields.String()
    scope = fields.String()
    systemic = fields.Boolean()
    deadline = fields.Nested(DeadlineOut, allow_none=True)
    pending_offer = fields.Nested(OfferOut, allow_none=True)
    return_shipment = fields.Nested(ReturnShipmentOut, allow_none=True)
    extensions_used = fields.List(fields.String())
    assigned_arbitrator_id = fields.String(allow_none=True)
    sla_breached_at = fields.DateTime(
        allow_none=True, metadata={"description": "the ruling is overdue (DESIGN §4)"}
    )
    senior_escalated_at = fields.DateTime(
        allow_none=True, metadata={"description": "past twice the SLA: in the senior view"}
    )
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class DisputePageOut(Schema):
    data = fields.List(fields.Nested(DisputeOut))
    next_cursor = fields.String(allow_none=True)


class EventOut(Schema):
    seq = fields.Integer()
    actor = fields.String(attribute="actor_id")
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    payload = fields.Dict()
    occurred_at = fields.DateTime()
    prev_hash = fields.String()
    hash = fields.String()


class EventPageOut(Schema):
    data = fields.List(fields.Nested(EventOut))
