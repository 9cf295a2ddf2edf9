"""The actions on a dispute, one use case each, all through one gate (``_transition``).

The gate asks the lifecycle table whether the actor may act, then claims the dispute with a
compare-and-set on status and version (zero rows: someone else moved first, 409), restarts or keeps
the deadline, and appends the audit event, all in the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from arbitration import lifecycle
from arbitration.accounts import Caller
from arbitration.audit import append_event
from arbitration.classification import classify
from arbitration.deadlines import cancel_pending, extend_timer, start_timer
from arbitration.disputes import (
    ItemIn,
    actor_of,
    allowed_actions,
    check_amount,
    facts_for,
    get_dispute,
    refundable_cap,
)
from arbitration.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from arbitration.ids import new_id
from arbitration.models import Dispute, Offer, Order
from arbitration.policy import Policy
from arbitration.refunds import instruct_refund


@dataclass
class Change:
    """What an action does beyond moving the status: field updates, timer handling, event payload."""

    fields: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    restart_timer: bool = False
    refund_amount: int | None = None


@dataclass(frozen=True)
class ActionContext:
    session: Session
    dispute: Dispute
    actor: str
    caller_id: str
    params: dict[str, Any]
    policy: Policy
    at: datetime


def _require_text(params: dict[str, Any], name: str) -> str:
    value = (params.get(name) or "").strip()
    if not value:
        raise ValidationFailed(f"'{name}' is required", details={name: ["required"]})
    return value


# One function per action: how it changes the dispute beyond its new status. -----------------------


def _accept(ctx: ActionContext) -> Change:
    if ctx.dispute.remedy == "refund_only":
        return Change(refund_amount=ctx.dispute.amount)
    return Change()


def _reject(ctx: ActionContext) -> Change:
    return Change(fields=_lapse_offer(ctx), payload={"reason": _require_text(ctx.params, "reason")})


def _lapse_offer(ctx: ActionContext) -> dict[str, Any]:
    if ctx.dispute.pending_offer_id is None:
        return {}
    ctx.session.execute(
        update(Offer).where(Offer.id == ctx.dispute.pending_offer_id).values(status="lapsed")
    )
    return {"pending_offer_id": None}


def _offer(ctx: ActionContext) -> Change:
    amount = ctx.params["amount"]
    if not 0 < amount < ctx.dispute.amount:
        raise ValidationFailed(
            "an offer is a partial refund",
            details={"amount": [f"must be between 1 and {ctx.dispute.amount - 1}"]},
        )
    if ctx.dispute.pending_offer_id:
        ctx.session.execute(
            update(Offer)
            .where(Offer.id == ctx.dispute.pending_offer_id)
            .values(status="superseded")
        )
    offer = Offer(
        id=new_id("ofr", ctx.at),
        dispute_id=ctx.dispute.id,
        amount=amount,
        note=ctx.params.get("note") or "",
        status="pending",
        created_at=ctx.at,
    )
    ctx.session.add(offer)
    return Change(
        fields={"pending_offer_id": offer.id},
        payload={"offer_id": offer.id, "amount": amount, "note": offer.note},
    )


def _accept_offer(ctx: ActionContext) -> Change:
    offer = ctx.session.get(Offer, ctx.dispute.pending_offer_id)
    assert offer is not None  # the table's guard saw a pending offer
    offer.status = "accepted"
    return Change(
        fields={"pending_offer_id": None},
        payload={"offer_id": offer.id},
        refund_amount=offer.amount,
    )


def _modify(ctx: ActionContext) -> Change:
    dispute, params = ctx.dispute, ctx.params
    if not params:
        raise ValidationFailed(
            "say what to change", details={"amount": ["give amount, reason or description"]}
        )
    fields: dict[str, Any] = {}
    if "amount" in params:
        order = ctx.session.get(Order, dispute.order_id)
        assert order is not None
        items = tuple(ItemIn(item.listing_id, item.quantity) for item in dispute.items)
        cap, _ = refundable_cap(order, None if dispute.whole_order else items)
        check_amount(params["amount"], cap)
        fields["amount"] = params["amount"]
    if "reason" in params:
        fields["reason"] = params["reason"]
    if "description" in params:
        fields["description"] = params["description"]
    classification = classify(
        reason=fields.get("reason", dispute.reason),
        amount=fields.get("amount", dispute.amount),
        policy=ctx.policy.classification,
    )
    fields |= {"category": classification.category, "priority": classification.priority}
    fields |= _lapse_offer(ctx)
    payload = {name: params[name] for name in ("amount", "reason", "description") if name in params}
    return Change(fields=fields, payload=payload, restart_timer=True)


def _with_optional_reason(ctx: ActionContext) -> Change:
    reason = (ctx.params.get("reason") or "").strip()
    return Change(payload={"reason": reason} if reason else {})


def _ship_return(ctx: ActionContext) -> Change:
    carrier = _require_text(ctx.params, "carrier")
    tracking = _require_text(ctx.params, "tracking_number")
    return Change(
        fields={
            "return_carrier": carrier,
            "return_tracking_number": tracking,
            "return_shipped_at": ctx.at,
        },
        payload={"carrier": carrier, "tracking_number": tracking},
    )


def _confirm_return(ctx: ActionContext) -> Change:
    return Change(refund_amount=ctx.dispute.amount)


def _dispute_return(ctx: ActionContext) -> Change:
    problem = ctx.params.get("problem")
    if problem not in ("missing", "damaged", "not_original"):
        raise ValidationFailed(
            "say what is wrong with the returned goods",
            details={"problem": ["one of: missing, damaged, not_original"]},
        )
    return Change(payload={"problem": problem, "reason": _require_text(ctx.params, "reason")})


def _request_extension(ctx: ActionContext) -> Change:
    extension = ctx.policy.deadlines.extension
    extend_timer(ctx.session, dispute=ctx.dispute, by=extension)
    return Change(
        fields={f"{ctx.actor}_extension_used": True},
        payload={"extended_by_seconds": int(extension.total_seconds())},
    )


def _evidence_done(ctx: ActionContext) -> Change:
    return Change(fields={f"{ctx.actor}_evidence_done": True})


def _claim(ctx: ActionContext) -> Change:
    return Change(fields={"assigned_arbitrator_id": ctx.caller_id})


INFO_TARGETS = {"buyer": ("buyer",), "seller": ("seller",), "both": ("buyer", "seller")}


def _request_info(ctx: ActionContext) -> Change:
    """Reopen evidence for a new window; each party can be asked once (DESIGN §1)."""
    target = ctx.params.get("party")
    parties = INFO_TARGETS.get(target or "")
    if parties is None:
        raise ValidationFailed(
            "say whom to ask", details={"party": ["one of: buyer, seller, both"]}
        )
    question = _require_text(ctx.params, "question")
    asked = [party for party in parties if getattr(ctx.dispute, f"{party}_info_requested")]
    if asked:
        raise Conflict(
            f"more information was already requested from the {asked[0]}",
            code="info_already_requested",
        )
    fields = {f"{party}_info_requested": True for party in parties}
    fields |= {"buyer_evidence_done": False, "seller_evidence_done": False}
    return Change(fields=fields, payload={"party": target, "question": question})


def _no_change(ctx: ActionContext) -> Change:
    return Change()


ACTION_EFFECTS: dict[str, Callable[[ActionContext], Change]] = {
    "accept": _accept,
    "reject": _reject,
    "offer": _offer,
    "accept_offer": _accept_offer,
    "modify": _modify,
    "withdraw": _with_optional_reason,
    "escalate": _with_optional_reason,
    "abandon": _no_change,
    "ship_return": _ship_return,
    "expire_return": _no_change,
    "confirm_return": _confirm_return,
    "dispute_return": _dispute_return,
    "request_extension": _request_extension,
    "evidence_done": _evidence_done,
    "close_evidence": _no_change,
    "claim": _claim,
    "request_info": _request_info,
}


def available_actions(dispute: Dispute, caller: Caller | None) -> list[str]:
    """What the table allows ``caller`` now, limited to actions this engine can already carry out."""
    return [
        action
        for action in allowed_actions(dispute, caller)
        if action.replace("-", "_") in ACTION_EFFECTS
    ]


# The gate ----------------------------------------------------------------------------------------


def act(
    session: Session,
    *,
    dispute_id: str,
    action: str,
    caller: Caller | None,
    params: dict[str, Any] | None = None,
    policy: Policy,
    at: datetime,
) -> Dispute:
    """Take ``action`` on the dispute as ``caller`` (None: the system, for deadlines)."""
    if caller is None:
        dispute = session.get(Dispute, dispute_id)
        if dispute is None:
            raise NotFound(f"no dispute {dispute_id}")
    else:
        dispute = get_dispute(session, caller=caller, dispute_id=dispute_id)
    effect = ACTION_EFFECTS.get(action)
    if effect is None:
        raise NotFound(f"no action {action}")
    actor = actor_of(dispute, caller)
    caller_id = caller.id if caller else lifecycle.SYSTEM
    verdict = (
        lifecycle.evaluate(dispute.status, action, facts_for(dispute, actor, caller_id))
        if actor
        else lifecycle.Verdict(False, refusal="you are not a party to this dispute")
    )
    if not verdict.allowed:
        raise InvalidTransition(
            verdict.refusal,
            details={
                "status": dispute.status,
                "allowed_actions": available_actions(dispute, caller),
            },
        )
    assert verdict.rule is not None and actor is not None
    rule = verdict.rule
    from_status, version = dispute.status, dispute.version
    _compare_and_set(
        session, dispute, from_status=from_status, version=version, to=rule.dest, at=at
    )

    change = effect(ActionContext(session, dispute, actor, caller_id, params or {}, policy, at))
    for name, value in change.fields.items():
        setattr(dispute, name, value)
    if rule.dest == lifecycle.CLOSED:
        _close(
            session,
            dispute,
            outcome=rule.outcome,
            refund_amount=change.refund_amount,
            policy=policy,
            at=at,
        )
    elif rule.dest != from_status or change.restart_timer:
        order = session.get(Order, dispute.order_id)
        assert order is not None
        start_timer(session, dispute=dispute, order_shipped=order.shipped, policy=policy, at=at)
    payload = dict(change.payload)
    if caller and caller.via:
        payload["via"] = caller.via.id
    append_event(
        session,
        dispute_id=dispute.id,
        actor_id=caller_id,
        action=action.replace("_", "-"),
        from_status=from_status,
        to_status=rule.dest,
        payload=payload,
        at=at,
    )
    session.flush()
    return dispute


def _compare_and_set(
    session: Session, dispute: Dispute, *, from_status: str, version: int, to: str, at: datetime
) -> None:
    """Claim the move: the row must still be in ``from_status`` at ``version``, or we lost a race."""
    result = session.execute(
        update(Dispute)
        .where(Dispute.id == dispute.id, Dispute.status == from_status, Dispute.version == version)
        .values(status=to, version=version + 1, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("the dispute changed while you were acting; reload it and try again")
    set_committed_value(dispute, "status", to)
    set_committed_value(dispute, "version", version + 1)
    set_committed_value(dispute, "updated_at", at)


def _close(
    session: Session,
    dispute: Dispute,
    *,
    outcome: str | None,
    refund_amount: int | None,
    policy: Policy,
    at: datetime,
) -> None:
    cancel_pending(session, dispute_id=dispute.id, at=at)
    dispute.outcome = outcome
    dispute.closed_at = at
    dispute.open_order_id = None
    dispute.deadline_action = None
    dispute.deadline_due_at = None
    if refund_amount is not None:
        instruct_refund(session, dispute=dispute, amount=refund_amount, policy=policy, at=at)
