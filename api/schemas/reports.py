"""Reports, satisfaction and public decisions: what callers send and what they get back."""

from __future__ import annotations

from datetime import UTC

from marshmallow import fields, validate

from api.schemas.common import In, Out, Text, choice, free_text, identifier
from api.schemas.disputes import CURSOR_LENGTH, OUTCOMES
from arbitration.policy import CATEGORIES, REASONS
from reports.feedback import MAX_RATING, MIN_RATING
from reports.summary import GROUPINGS

PARTIES = ("buyer", "seller")


def moment(**kwargs: object) -> fields.AwareDateTime:
    """An ISO 8601 time; without an offset it is taken as UTC."""
    return fields.AwareDateTime(default_timezone=UTC, **kwargs)  # type: ignore[arg-type]


# Inputs -----------------------------------------------------------------------------------------


class ReportQueryIn(In):
    by = choice(GROUPINGS, metadata={"description": "group the figures; default: totals only"})
    since = moment(
        metadata={
            "description": "disputes filed at or after this (default: the policy's "
            "reports.default_period, 30 days, before until; any earlier instant is accepted, "
            "so an all-time report is an early since)"
        }
    )
    until = moment(metadata={"description": "disputes filed before this (default: now)"})


class FeedbackIn(In):
    rating = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=MIN_RATING, max=MAX_RATING),
        metadata={"description": "1 (very dissatisfied) to 5 (very satisfied)"},
    )
    comment = free_text(load_default="")


class DissatisfiedQueryIn(In):
    since = moment(metadata={"description": "answers given at or after this"})
    cursor = Text(max_length=CURSOR_LENGTH)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PublicDecisionQueryIn(In):
    seller_id = identifier()
    reason = choice(REASONS)
    cursor = Text(max_length=CURSOR_LENGTH)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PublicWarningQueryIn(In):
    seller_id = identifier()


# Outputs ----------------------------------------------------------------------------------------


class RateOut(Out):
    count = fields.Integer()
    of = fields.Integer()
    share = fields.Float(allow_none=True, metadata={"description": "count / of; null when of is 0"})


class FiguresOut(Out):
    key = fields.String(
        allow_none=True,
        metadata={"description": '"all" for the totals; the group\'s value; null: no value'},
    )
    filed = fields.Integer()
    resolved = fields.Nested(RateOut)
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer())
    median_hours_to_resolution = fields.Float(allow_none=True)
    settled_by_parties = fields.Nested(RateOut)
    closed_by_timeout = fields.Nested(RateOut)
    escalated = fields.Nested(RateOut)
    sla_compliance = fields.Nested(RateOut)
    appeals_overturned = fields.Nested(RateOut)
    refunds_on_time = fields.Nested(RateOut)
    satisfied = fields.Nested(RateOut)
    dissatisfied = fields.Integer()
    cases_ruled = fields.Integer()
    median_hours_to_rule = fields.Float(allow_none=True)
    escalated_to_seniors = fields.Integer()


class DayOut(Out):
    day = fields.Date()
    filed = fields.Integer()
    closed = fields.Integer()


class SummaryOut(Out):
    by = choice(GROUPINGS, allow_none=True)
    since = fields.DateTime(allow_none=True)
    until = fields.DateTime()
    generated_at = fields.DateTime()
    satisfaction_goal = fields.Float()
    total = fields.Nested(FiguresOut)
    groups = fields.List(fields.Nested(FiguresOut))
    daily = fields.List(fields.Nested(DayOut), metadata={"description": "filed and closed per day"})


class FeedbackOut(Out):
    id = fields.String()
    dispute_id = fields.String()
    party = choice(PARTIES)
    rating = fields.Integer()
    comment = fields.String()
    created_at = fields.DateTime()


class DissatisfiedOut(FeedbackOut):
    seller_id = fields.String()
    reason = choice(REASONS)
    outcome = choice(OUTCOMES, allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class DissatisfiedPageOut(Out):
    data = fields.List(fields.Nested(DissatisfiedOut))
    next_cursor = fields.String(allow_none=True)


class PublicDecisionOut(Out):
    dispute_id = fields.String()
    reason = choice(REASONS)
    category = choice(CATEGORIES)
    amount_requested = fields.Integer()
    refund_amount = fields.Integer()
    currency = fields.String()
    ruling = fields.String()
    outcome = choice(OUTCOMES, allow_none=True)
    responsibility = fields.String()
    violation = fields.String(allow_none=True)
    overturned_on_appeal = fields.Boolean()
    decided_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    seller_id = fields.String()
    seller_name = fields.String()
    buyer = fields.String(metadata={"description": "the buyer's initial, masked: A***"})
    summary = fields.String(metadata={"description": "generated from the ruling's terms"})


class PublicDecisionPageOut(Out):
    data = fields.List(fields.Nested(PublicDecisionOut))
    next_cursor = fields.String(allow_none=True)


class PublicWarningOut(Out):
    penalty_id = fields.String()
    seller_id = fields.String()
    seller_name = fields.String()
    since = fields.DateTime(allow_none=True)
    ledger = fields.String(allow_none=True)
    threshold = fields.Integer(allow_none=True)
    violations = fields.List(fields.String())


class PublicWarningListOut(Out):
    data = fields.List(fields.Nested(PublicWarningOut))
