"""Payloads of the platform's half: rulings, appeals, the queue and precedents."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import In, Out, choice, free_text, identifier, money
from arbitration.classification import PRIORITIES
from arbitration.compensations import KINDS as COMPENSATION_KINDS
from arbitration.policy import CATEGORIES, REASONS
from arbitration.queue import ASSIGNMENTS, QUEUE_STATES, VIEWS
from arbitration.rulings import (
    APPEAL_RESULTS,
    RESPONSIBILITIES,
    RULING_OUTCOMES,
    SHIPPING_PAYERS,
)


class CompensationIn(In):
    """Store credit or a coupon for the buyer (DESIGN §1a), not money back on the order."""

    kind = choice(COMPENSATION_KINDS, required=True)
    amount = money(required=True)


class CompensationTermsOut(Out):
    kind = choice(COMPENSATION_KINDS)
    amount = fields.Integer()


class DecideIn(In):
    outcome = choice(RULING_OUTCOMES, required=True)
    refund_amount = money(
        minimum=0,
        metadata={"description": "full: the amount requested (default); partial: less; seller: 0"},
    )
    return_required = fields.Boolean(load_default=False)
    return_shipping_paid_by = choice(
        SHIPPING_PAYERS, metadata={"description": "only, and then required, when a return is"}
    )
    responsibility = choice(RESPONSIBILITIES, required=True)
    violation = identifier(
        allow_none=True,
        metadata={"description": "the seller's violation (a kind from the penalty rules), if any"},
    )
    buyer_violation = identifier(
        allow_none=True,
        metadata={
            "description": "the buyer's fault (unjustified_claim, fabricated_evidence…), only when "
            "the buyer is responsible (buyer or shared); put on the buyer ledger"
        },
    )
    rationale = free_text(min_length=1, required=True)
    compensation = fields.Nested(
        CompensationIn,
        allow_none=True,
        metadata={"description": "a compensation added to the money, instructed with the ruling"},
    )


class AppealIn(In):
    reason = free_text(min_length=1, required=True)


class AppealDecisionIn(In):
    result = choice(APPEAL_RESULTS, required=True)
    decision = fields.Nested(
        DecideIn,
        metadata={
            "description": "the replacement ruling; only, and then required, when overturning"
        },
    )
    rationale = free_text(min_length=1, required=True)


class ReassignIn(In):
    arbitrator_id = identifier(required=True)


class DecisionOut(Out):
    id = fields.String()
    kind = choice(("ruling", "appeal"))
    result = choice(APPEAL_RESULTS, allow_none=True)
    replaces_id = fields.String(allow_none=True)
    outcome = choice(RULING_OUTCOMES)
    refund_amount = fields.Integer()
    return_required = fields.Boolean()
    return_shipping_paid_by = choice(SHIPPING_PAYERS, allow_none=True)
    responsibility = choice(RESPONSIBILITIES)
    violation = fields.String(allow_none=True)
    buyer_violation = fields.String(
        allow_none=True, metadata={"description": "null to the seller: never shown to them"}
    )
    rationale = fields.String()
    arbitrator_id = fields.String()
    decided_at = fields.DateTime()
    compensation = fields.Nested(CompensationTermsOut, allow_none=True)


class QueueQueryIn(In):
    view = choice(
        VIEWS,
        load_default="all",
        metadata={"description": "senior: appeals, urgent, past twice the SLA"},
    )
    assigned = choice(ASSIGNMENTS, load_default="any")
    status = choice(QUEUE_STATES)
    priority = choice(PRIORITIES)
    category = choice(CATEGORIES)
    reason = choice(REASONS)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PrecedentOut(Out):
    dispute_id = fields.String()
    reason = choice(REASONS)
    category = choice(CATEGORIES)
    amount = fields.Integer()
    currency = fields.String()
    outcome = choice(RULING_OUTCOMES)
    refund_amount = fields.Integer()
    responsibility = choice(RESPONSIBILITIES)
    violation = fields.String(allow_none=True)
    decided_at = fields.DateTime()


class PrecedentPageOut(Out):
    data = fields.List(fields.Nested(PrecedentOut))
