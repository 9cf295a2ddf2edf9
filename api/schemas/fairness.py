"""Fairness both ways (DESIGN §5a): recoveries from sellers, and the buyer ledger's review flag."""

from __future__ import annotations

from marshmallow import fields

from api.schemas.common import In, Out, choice, free_text
from arbitration.recoveries import RECOVERY_STATUSES
from penalties.models import BUYER_REVIEW_STATUSES

VIOLATION_STATUSES = ("active", "revoked")


# Inputs -----------------------------------------------------------------------------------------


class RecoveredIn(In):
    note = free_text(metadata={"description": "e.g. how the money came back"})


class WriteOffIn(In):
    reason = free_text(min_length=1, required=True)


class BuyerReviewIn(In):
    note = free_text(min_length=1, required=True, metadata={"description": "what T&S found"})


# Outputs ----------------------------------------------------------------------------------------


class RecoveryOut(Out):
    id = fields.String()
    seller_id = fields.String()
    dispute_id = fields.String()
    refund_id = fields.String(allow_none=True)
    compensation_id = fields.String(
        allow_none=True, metadata={"description": "set instead of refund_id for a compensation"}
    )
    amount = fields.Integer()
    currency = fields.String()
    status = choice(RECOVERY_STATUSES)
    opened_at = fields.DateTime()
    due_at = fields.DateTime(
        metadata={"description": "still open after this, the seller may not sell"}
    )
    overdue = fields.Boolean()
    overdue_since = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)


class BuyerViolationOut(Out):
    id = fields.String()
    kind = fields.String()
    points = fields.Integer()
    dispute_id = fields.String(allow_none=True)
    decision_id = fields.String(allow_none=True)
    status = choice(VIOLATION_STATUSES)
    recorded_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class BuyerStandingOut(Out):
    buyer_id = fields.String()
    points = fields.Integer(metadata={"description": "within the policy's window, since a lift"})
    flags = fields.List(fields.String(), metadata={"description": '["under_review"] or []'})
    under_review = fields.Boolean(
        metadata={"description": "a silent seller's timer sends the case to the platform"}
    )
    review_status = choice(BUYER_REVIEW_STATUSES)
    since = fields.DateTime(allow_none=True, metadata={"description": "when the flag was raised"})
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_note = fields.String(allow_none=True)
    violations = fields.List(
        fields.Nested(BuyerViolationOut), metadata={"description": "latest 50"}
    )
