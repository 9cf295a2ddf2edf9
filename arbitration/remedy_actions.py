"""Remedies beyond money (DESIGN §1a): the seller sends a replacement, the repaired item or the
missing goods, or refunds instead; the buyer says they came, or reports a problem.

When the seller lets the fulfilment deadline pass, the system takes ``refund-instead`` for them: the
buyer gets the request's amount back and ``FulfilmentLapsed`` is announced (the penalties satellite
warns the seller).
"""

from __future__ import annotations

from datetime import UTC, datetime

from arbitration import lifecycle
from arbitration.actions import Action, ActionContext, Change, no_change, require_text
from arbitration.errors import ValidationFailed
from arbitration.events import FulfilmentLapsed, record

PROBLEMS = ("wrong_item", "damaged", "not_received", "not_repaired")


def _promise_repair(ctx: ActionContext) -> Change:
    """The seller states when the repaired item will be ready: at most ``repair_max`` ahead."""
    ready_by = ctx.params.get("ready_by")
    if not isinstance(ready_by, datetime):
        raise ValidationFailed(
            "say when the repair will be ready", details={"ready_by": ["required"]}
        )
    latest = ctx.policy.due_after("repair_max", ctx.at)
    try:
        ready_by = ready_by.astimezone(UTC) if ready_by.tzinfo else ready_by.replace(tzinfo=UTC)
    except OverflowError:  # year 1 or 9999 with an offset that leaves the representable range
        ready_by = None
    if ready_by is None or not ctx.at < ready_by <= latest:
        raise ValidationFailed(
            "the repair's date is out of range",
            details={
                "ready_by": [f"after now and no later than {latest.isoformat()} (repair_max)"]
            },
        )
    return Change(
        fields={"repair_ready_by": ready_by},
        payload={"ready_by": ready_by.isoformat()},
        restart_timer=True,
    )


def _ship_fulfilment(ctx: ActionContext) -> Change:
    carrier = require_text(ctx.params, "carrier")
    tracking = require_text(ctx.params, "tracking_number")
    return Change(
        fields={
            "fulfilment_carrier": carrier,
            "fulfilment_tracking_number": tracking,
            "fulfilment_shipped_at": ctx.at,
        },
        payload={"carrier": carrier, "tracking_number": tracking, "remedy": ctx.dispute.remedy},
    )


def _refund_instead(ctx: ActionContext) -> Change:
    dispute = ctx.dispute
    payload: dict[str, object] = {"remedy": dispute.remedy, "amount": dispute.amount}
    if ctx.actor == lifecycle.SYSTEM:
        payload["reason"] = "the seller let the fulfilment deadline pass"
        record(
            ctx.session,
            FulfilmentLapsed(
                dispute_id=dispute.id,
                at=ctx.at,
                seller_id=dispute.seller_id,
                buyer_id=dispute.buyer_id,
                remedy=dispute.remedy,
                refund_amount=dispute.amount,
                due_at=dispute.deadline_due_at,
            ),
        )
    else:
        reason = (ctx.params.get("reason") or "").strip()
        if reason:
            payload["reason"] = reason
    return Change(refund_amount=dispute.amount, payload=payload)


def _report_problem(ctx: ActionContext) -> Change:
    problem = ctx.params.get("problem")
    if problem not in PROBLEMS:
        raise ValidationFailed(
            "say what is wrong with what the seller sent",
            details={"problem": [f"one of: {', '.join(PROBLEMS)}"]},
        )
    return Change(payload={"problem": problem, "reason": require_text(ctx.params, "reason")})


REMEDY_ACTIONS = (
    Action(
        "promise-repair",
        "State when the repaired item will be ready, at most repair_max ahead (seller).",
        _promise_repair,
        "PromiseRepairIn",
    ),
    Action(
        "ship-fulfilment",
        "Record the shipment of the replacement, the repaired item or the goods sent again (seller).",
        _ship_fulfilment,
        "ShipFulfilmentIn",
    ),
    Action(
        "refund-instead",
        "Refund the request's amount instead: out of stock, cannot repair (seller).",
        _refund_instead,
        "OptionalReasonIn",
    ),
    Action(
        "confirm-receipt",
        "Confirm the replacement, repaired item or goods arrived as they should (buyer).",
        no_change,
    ),
    Action(
        "report-problem",
        "Report that what the seller sent is wrong, damaged or never came (buyer).",
        _report_problem,
        "ReportProblemIn",
    ),
)
