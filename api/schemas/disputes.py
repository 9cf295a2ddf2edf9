"""Dispute payloads: what callers send (``…In``) and what they get back (``…Out``)."""

from __future__ import annotations

from datetime import UTC

from marshmallow import fields, validate

from api.schemas.arbitration import CompensationIn, CompensationTermsOut, DecisionOut
from api.schemas.common import (
    In,
    Out,
    Text,
    choice,
    count,
    free_text,
    identifier,
    lines,
    money,
    short_text,
)
from arbitration import lifecycle
from arbitration.classification import PRIORITIES
from arbitration.disputes import CHANNELS, REMEDIES
from arbitration.lifecycle import STATES
from arbitration.party_actions import COMPENSATION_KINDS, OFFERABLE_REMEDIES
from arbitration.policy import CATEGORIES, REASONS
from arbitration.refunds import FUNDERS
from arbitration.remedy_actions import PROBLEMS as FULFILMENT_PROBLEMS

CURSOR_LENGTH = 256
PARTIES = ("buyer", "seller")
# Whose move: DESIGN §1 (while gathering evidence, the party still adding evidence).
AWAITING = tuple(dict.fromkeys([*PARTIES, *filter(None, lifecycle.AWAITING.values())]))
OUTCOMES = lifecycle.OUTCOMES
ACTIONS = lifecycle.ACTIONS
DEADLINE_ACTIONS = tuple(dict.fromkeys(timer.action for timer in lifecycle.TIMERS.values()))
DEADLINE_PARTIES = tuple(
    dict.fromkeys(timer.party for timer in lifecycle.TIMERS.values() if timer.party)
)
SCOPES = ("single", "batch")
RETURN_PROBLEMS = ("missing", "damaged", "not_original")
INFO_TARGETS = ("buyer", "seller", "both")


class DisputeItemIn(In):
    listing_id = identifier(required=True)
    quantity = count(required=True)


class DisputeIn(In):
    order_id = identifier(required=True)
    reason = choice(REASONS, required=True)
    remedy = choice(REMEDIES, required=True)
    amount = money(required=True)
    description = free_text(load_default="")
    channel = choice(CHANNELS, load_default="web")
    items = lines(
        DisputeItemIn, metadata={"description": "order lines concerned; default the whole order"}
    )


class DisputeQueryIn(In):
    status = choice(STATES)
    seller_id = identifier()
    buyer_id = identifier()
    reason = choice(REASONS)
    cursor = Text(max_length=CURSOR_LENGTH)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ReasonIn(In):
    reason = free_text(required=True, min_length=1)


class OptionalReasonIn(In):
    reason = free_text()


class OfferIn(In):
    """Exactly one of: a partial refund (``amount``), another ``remedy``, a ``compensation``."""

    amount = money(metadata={"description": "a partial refund, below the amount requested"})
    remedy = choice(
        OFFERABLE_REMEDIES,
        metadata={"description": "another remedy: accepting moves the dispute onto its path"},
    )
    compensation = fields.Nested(
        CompensationIn,
        metadata={"description": "store credit or a coupon: accepting closes the dispute settled"},
    )
    note = free_text()


class ShipFulfilmentIn(In):
    carrier = short_text(required=True)
    tracking_number = short_text(required=True)


class PromiseRepairIn(In):
    ready_by = fields.AwareDateTime(
        required=True,
        default_timezone=UTC,
        metadata={"description": "when the repaired item will be ready, at most repair_max ahead"},
    )


class ReportProblemIn(In):
    problem = choice(FULFILMENT_PROBLEMS, required=True)
    reason = free_text(required=True, min_length=1)


class ModifyIn(In):
    amount = money()
    reason = choice(REASONS)
    description = free_text()


class ShipReturnIn(In):
    carrier = short_text(required=True)
    tracking_number = short_text(required=True)


class DisputeReturnIn(In):
    problem = choice(RETURN_PROBLEMS, required=True)
    reason = free_text(required=True, min_length=1)


class RequestInfoIn(In):
    party = choice(INFO_TARGETS, required=True)
    question = free_text(required=True, min_length=1)


class DeadlineOut(Out):
    action = choice(DEADLINE_ACTIONS, metadata={"description": "what happens if nobody acts"})
    due_at = fields.DateTime()
    party = choice(
        DEADLINE_PARTIES, allow_none=True, metadata={"description": "whose deadline it is"}
    )


class OfferOut(Out):
    id = fields.String()
    kind = choice(("refund", "remedy", "compensation"))
    amount = fields.Integer(
        allow_none=True, metadata={"description": "the partial refund; null for other offers"}
    )
    remedy = choice(OFFERABLE_REMEDIES, allow_none=True)
    compensation = fields.Nested(CompensationTermsOut, allow_none=True)
    note = fields.String()
    created_at = fields.DateTime()


class FulfilmentShipmentOut(Out):
    carrier = fields.String()
    tracking_number = fields.String()
    shipped_at = fields.DateTime()


class CompensationOut(Out):
    id = fields.String()
    kind = choice(COMPENSATION_KINDS)
    amount = fields.Integer()
    currency = fields.String()
    instructed_at = fields.DateTime()
    confirmed_at = fields.DateTime(allow_none=True)
    overdue_since = fields.DateTime(
        allow_none=True, metadata={"description": "set when the platform has not confirmed in time"}
    )
    funded_by = choice(
        FUNDERS,
        metadata={"description": "seller, or platform: paid first, recovered from the seller"},
    )


class ReturnShipmentOut(Out):
    carrier = fields.String()
    tracking_number = fields.String()
    shipped_at = fields.DateTime()


class RefundOut(Out):
    id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    instructed_at = fields.DateTime()
    confirmed_at = fields.DateTime(allow_none=True)
    overdue_since = fields.DateTime(
        allow_none=True, metadata={"description": "set when the platform has not confirmed in time"}
    )
    funded_by = choice(
        FUNDERS,
        metadata={"description": "seller, or platform: paid first, recovered from the seller"},
    )


class DisputeItemOut(Out):
    listing_id = fields.String()
    quantity = fields.Integer()
    value = fields.Integer()


class DisputeOut(Out):
    id = fields.String()
    order_id = fields.String()
    buyer_id = fields.String()
    seller_id = fields.String()
    status = choice(STATES, metadata={"description": "the stage (DESIGN §1)"})
    awaiting = choice(
        AWAITING,
        allow_none=True,
        metadata={"description": "whose move: buyer, seller, both, platform"},
    )
    allowed_actions = fields.List(
        choice(ACTIONS), metadata={"description": "what the caller may do now"}
    )
    outcome = choice(OUTCOMES, allow_none=True)
    reason = choice(REASONS)
    remedy = choice(REMEDIES)
    channel = choice(CHANNELS)
    description = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    refund_amount = fields.Integer(allow_none=True)
    refund = fields.Nested(
        RefundOut, allow_none=True, metadata={"description": "the latest refund instructed"}
    )
    refunds = fields.List(
        fields.Nested(RefundOut),
        metadata={"description": "every refund instructed, oldest first (a ruling, an appeal)"},
    )
    items = fields.List(fields.Nested(DisputeItemOut))
    category = choice(CATEGORIES)
    priority = choice(PRIORITIES)
    scope = choice(SCOPES)
    systemic = fields.Boolean()
    deadline = fields.Nested(DeadlineOut, allow_none=True)
    pending_offer = fields.Nested(OfferOut, allow_none=True)
    return_shipment = fields.Nested(ReturnShipmentOut, allow_none=True)
    fulfilment_shipment = fields.Nested(
        FulfilmentShipmentOut,
        allow_none=True,
        metadata={"description": "the replacement, repaired item or goods sent again"},
    )
    repair_ready_by = fields.DateTime(
        allow_none=True, metadata={"description": "the seller's promised date for a repair"}
    )
    compensations = fields.List(
        fields.Nested(CompensationOut),
        metadata={"description": "every compensation instructed, oldest first (DESIGN §1a)"},
    )
    extensions_used = fields.List(choice(PARTIES))
    assigned_arbitrator_id = fields.String(allow_none=True)
    decision = fields.Nested(
        DecisionOut, allow_none=True, metadata={"description": "the ruling in force, if any"}
    )
    appealed_by = choice(PARTIES, allow_none=True)
    sla_due_at = fields.DateTime(
        allow_none=True, metadata={"description": "when the ruling is due (DESIGN §4)"}
    )
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


class DisputePageOut(Out):
    data = fields.List(fields.Nested(DisputeOut))
    next_cursor = fields.String(allow_none=True)


class EventOut(Out):
    seq = fields.Integer()
    actor = fields.String(attribute="actor_id", metadata={"description": "an account id or system"})
    action = fields.String()
    from_status = choice(STATES, allow_none=True)
    to_status = choice(STATES)
    payload = fields.Dict()
    redacted = fields.Boolean(
        metadata={
            "description": "the payload is withheld from you (another party's arbitrators_only "
            "evidence); the link's hash cannot be recomputed from what you see"
        }
    )
    occurred_at = fields.DateTime()
    prev_hash = fields.String()
    hash = fields.String()


class EventPageOut(Out):
    data = fields.List(fields.Nested(EventOut))
