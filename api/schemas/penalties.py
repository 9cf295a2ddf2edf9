"""Seller standing, violations and penalties: what T&S and sellers send, and what they get back."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import In, Out, Text, choice, free_text, identifier
from api.schemas.disputes import CURSOR_LENGTH
from api.schemas.fairness import RecoveryOut
from arbitration.policy import LEDGERS, PENALTY_KINDS
from penalties.models import FROM_RULING, FROM_SYSTEM, FROM_TRUST_SAFETY, PENALTY_STATUSES
from penalties.review import APPEAL_RESULTS, APPEAL_STATUSES

VIOLATION_STATUSES = ("active", "revoked")
VIOLATION_SOURCES = (FROM_RULING, FROM_TRUST_SAFETY, FROM_SYSTEM)
MAX_DURATION_SECONDS = 100 * 365 * 24 * 3600


# Inputs -----------------------------------------------------------------------------------------


class PageQueryIn(In):
    cursor = Text(max_length=CURSOR_LENGTH)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PenaltyQueryIn(PageQueryIn):
    status = choice(PENALTY_STATUSES)
    seller_id = identifier()
    kind = choice(PENALTY_KINDS)


class ViolationIn(In):
    kind = identifier(
        required=True, metadata={"description": "a violation kind from the penalty rules"}
    )
    dispute_id = identifier(allow_none=True, metadata={"description": "the dispute, if any"})
    note = free_text(min_length=1, required=True, metadata={"description": "what T&S found"})


class ApproveIn(In):
    duration_seconds = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_DURATION_SECONDS),
        metadata={"description": "shorten: at most the proposed duration; default as proposed"},
    )
    note = free_text()


class RejectIn(In):
    note = free_text(min_length=1, required=True)


class RevokeIn(In):
    reason = free_text(min_length=1, required=True)


class PenaltyAppealIn(In):
    reason = free_text(min_length=1, required=True)


class PenaltyAppealDecisionIn(In):
    result = choice(APPEAL_RESULTS, required=True)
    rationale = free_text(min_length=1, required=True)


# Outputs ----------------------------------------------------------------------------------------


class ViolationOut(Out):
    id = fields.String()
    seller_id = fields.String()
    kind = fields.String()
    ledger = choice(LEDGERS)
    points = fields.Integer()
    period = fields.String()
    source = choice(VIOLATION_SOURCES)
    dispute_id = fields.String(allow_none=True)
    decision_id = fields.String(allow_none=True)
    recorded_by = fields.String()
    rules_version = fields.String()
    status = choice(VIOLATION_STATUSES)
    recorded_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    revoked_reason = fields.String(allow_none=True)


class ViolationPageOut(Out):
    data = fields.List(fields.Nested(ViolationOut))
    next_cursor = fields.String(allow_none=True)


class ViolationBehindOut(Out):
    id = fields.String()
    kind = fields.String()
    ledger = choice(LEDGERS)
    points = fields.Integer()
    dispute_id = fields.String(allow_none=True)
    status = choice(VIOLATION_STATUSES)


class ThresholdOut(Out):
    ledger = choice(LEDGERS)
    points = fields.Integer(metadata={"description": "the threshold"})
    points_at_crossing = fields.Integer()


class HowToAppealOut(Out):
    available = fields.Boolean(metadata={"description": "whether the seller may still appeal"})
    method = choice(("POST",))
    path = fields.String()
    before = fields.DateTime()
    status = choice(APPEAL_STATUSES, allow_none=True)


class ExplanationOut(Out):
    summary = fields.String(metadata={"description": "the whole explanation, for people"})
    violations = fields.List(fields.Nested(ViolationBehindOut))
    threshold = fields.Nested(ThresholdOut, allow_none=True)
    restricts = fields.String(metadata={"description": 'e.g. "new listings"'})
    until = fields.DateTime(allow_none=True)
    appeal = fields.Nested(HowToAppealOut)


class PenaltyOut(Out):
    id = fields.String()
    seller_id = fields.String()
    kind = choice(PENALTY_KINDS)
    status = choice(PENALTY_STATUSES)
    in_force = fields.Boolean(metadata={"description": "active and not past its end"})
    ledger = choice(LEDGERS, allow_none=True)
    threshold = fields.Integer(allow_none=True)
    points_at_crossing = fields.Integer(allow_none=True)
    violation_ids = fields.List(fields.String())
    reason = fields.String()
    rules_version = fields.String()
    duration_seconds = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    starts_at = fields.DateTime(allow_none=True)
    ends_at = fields.DateTime(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_note = fields.String(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_reason = fields.String(allow_none=True)
    appeal_status = choice(APPEAL_STATUSES, allow_none=True)
    appeal_reason = fields.String(allow_none=True)
    appealed_at = fields.DateTime(allow_none=True)
    appeal_decided_at = fields.DateTime(allow_none=True)
    appeal_rationale = fields.String(allow_none=True)
    explanation = fields.Nested(ExplanationOut)


class PenaltyPageOut(Out):
    data = fields.List(fields.Nested(PenaltyOut))
    next_cursor = fields.String(allow_none=True)


class PointsOut(Out):
    general = fields.Integer()
    severe = fields.Integer()


class StandingOut(Out):
    seller_id = fields.String()
    can_list = fields.Boolean()
    can_sell = fields.Boolean()
    visible_in_search = fields.Boolean()
    frozen = fields.Boolean()
    banned = fields.Boolean()
    points = fields.Nested(PointsOut)
    active_penalties = fields.List(fields.Nested(PenaltyOut))
    pending_review = fields.List(
        fields.Nested(PenaltyOut), metadata={"description": "waiting for T&S; not yet applied"}
    )
    open_recoveries = fields.List(
        fields.Nested(RecoveryOut),
        metadata={"description": "refunds the platform paid first; one overdue stops sales"},
    )
