"""The two parties' actions (DESIGN §1): the seller answers, the buyer follows up, returns travel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from arbitration import lifecycle
from arbitration.actions import Action, ActionContext, Change, no_change, require_text
from arbitration.classification import classify
from arbitration.compensations import KINDS, compensation_terms
from arbitration.deadlines import extend_timer
from arbitration.errors import ValidationFailed
from arbitration.filing import ItemIn, check_amount, refundable_cap
from arbitration.ids import new_id
from arbitration.models import Offer, Order


def _accept(ctx: ActionContext) -> Change:
    if ctx.dispute.remedy == "refund_only":
        return Change(refund_amount=ctx.dispute.amount)
    return Change()


def _reject(ctx: ActionContext) -> Change:
    return Change(fields=_lapse_offer(ctx), payload={"reason": require_text(ctx.params, "reason")})


def _lapse_offer(ctx: ActionContext) -> dict[str, Any]:
    if ctx.dispute.pending_offer_id is None:
        return {}
    ctx.session.execute(
        update(Offer).where(Offer.id == ctx.dispute.pending_offer_id).values(status="lapsed")
    )
    return {"pending_offer_id": None}


# What a seller may offer instead of what was asked (DESIGN §1a): another remedy, or a compensation.
OFFERABLE_REMEDIES = (lifecycle.RETURN_AND_REFUND, *lifecycle.FULFILMENTS)
COMPENSATION_KINDS = KINDS


def _offer_terms(ctx: ActionContext) -> dict[str, Any]:
    """The offer's columns: exactly one of a partial refund, another remedy or a compensation."""
    given = [name for name in ("amount", "remedy", "compensation") if ctx.params.get(name)]
    if len(given) != 1:
        raise ValidationFailed(
            "offer one thing: a partial refund, another remedy or a compensation",
            details={"amount": ["give exactly one of amount, remedy, compensation"]},
        )
    if given == ["remedy"]:
        remedy = ctx.params["remedy"]
        if remedy not in OFFERABLE_REMEDIES or remedy == ctx.dispute.remedy:
            others = [r for r in OFFERABLE_REMEDIES if r != ctx.dispute.remedy]
            raise ValidationFailed(
                "offer a remedy other than the one asked for",
                details={"remedy": [f"one of: {', '.join(others)}"]},
            )
        return {"kind": "remedy", "remedy": remedy, "amount": 0}
    if given == ["compensation"]:
        terms = compensation_terms(ctx.params["compensation"])
        assert terms is not None
        return {"kind": "compensation", "compensation_kind": terms[0], "amount": terms[1]}
    amount = ctx.params["amount"]
    if not 0 < amount < ctx.dispute.amount:
        raise ValidationFailed(
            "an offer is a partial refund",
            details={"amount": [f"must be between 1 and {ctx.dispute.amount - 1}"]},
        )
    return {"kind": "refund", "amount": amount}


def _offer(ctx: ActionContext) -> Change:
    terms = _offer_terms(ctx)
    if ctx.dispute.pending_offer_id:
        ctx.session.execute(
            update(Offer)
            .where(Offer.id == ctx.dispute.pending_offer_id)
            .values(status="superseded")
        )
    offer = Offer(
        id=new_id("ofr", ctx.at),
        dispute_id=ctx.dispute.id,
        note=ctx.params.get("note") or "",
        status="pending",
        created_at=ctx.at,
        **terms,
    )
    ctx.session.add(offer)
    return Change(
        fields={"pending_offer_id": offer.id},
        payload={"offer_id": offer.id, **offer_terms(offer), "note": offer.note},
    )


def offer_terms(offer: Offer) -> dict[str, Any]:
    """What an offer proposes, as the timeline and the API show it."""
    if offer.kind == "remedy":
        return {"remedy": offer.remedy}
    if offer.kind == "compensation":
        return {"compensation": {"kind": offer.compensation_kind, "amount": offer.amount}}
    return {"amount": offer.amount}


def _accept_offer(ctx: ActionContext) -> Change:
    offer = ctx.session.get(Offer, ctx.dispute.pending_offer_id)
    assert offer is not None  # the table's guard saw a pending offer
    offer.status = "accepted"
    change = Change(fields={"pending_offer_id": None}, payload={"offer_id": offer.id})
    if offer.kind == "remedy":
        # The table moved the dispute onto the offered remedy's path; it is now that request.
        assert offer.remedy is not None
        change.fields["remedy"] = offer.remedy
        change.payload["remedy"] = offer.remedy
    elif offer.kind == "compensation":
        assert offer.compensation_kind is not None
        change.compensation = (offer.compensation_kind, offer.amount)
        change.compensation_ordered_by = offer.id
    else:
        change.refund_amount = offer.amount
    return change


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
    payload: dict[str, Any] = {
        name: params[name] for name in ("amount", "reason", "description") if name in params
    }
    return Change(fields=fields, payload=payload, restart_timer=True)


def _with_optional_reason(ctx: ActionContext) -> Change:
    reason = (ctx.params.get("reason") or "").strip()
    return Change(payload={"reason": reason} if reason else {})


def _ship_return(ctx: ActionContext) -> Change:
    carrier = require_text(ctx.params, "carrier")
    tracking = require_text(ctx.params, "tracking_number")
    return Change(
        fields={
            "return_carrier": carrier,
            "return_tracking_number": tracking,
            "return_shipped_at": ctx.at,
        },
        payload={"carrier": carrier, "tracking_number": tracking},
    )


def _confirm_return(ctx: ActionContext) -> Change:
    if ctx.dispute.remedy in lifecycle.RETURN_THEN_FULFIL:
        return Change()  # the seller now owes the replacement or the repair (DESIGN §1a)
    return Change(refund_amount=ctx.dispute.amount)


def _dispute_return(ctx: ActionContext) -> Change:
    problem = ctx.params.get("problem")
    if problem not in ("missing", "damaged", "not_original"):
        raise ValidationFailed(
            "say what is wrong with the returned goods",
            details={"problem": ["one of: missing, damaged, not_original"]},
        )
    return Change(payload={"problem": problem, "reason": require_text(ctx.params, "reason")})


def _request_extension(ctx: ActionContext) -> Change:
    moved = extend_timer(ctx.session, dispute=ctx.dispute, policy=ctx.policy)
    return Change(
        fields={f"{ctx.actor}_extension_used": True},
        payload={"extended_by_seconds": int(moved.total_seconds())},
    )


def _evidence_done(ctx: ActionContext) -> Change:
    return Change(fields={f"{ctx.actor}_evidence_done": True})


PARTY_ACTIONS = (
    Action(
        "accept",
        "Accept the request: refund now, or first ask for the goods back (seller).",
        _accept,
    ),
    Action("reject", "Reject the request, saying why (seller).", _reject, "ReasonIn"),
    Action(
        "offer",
        "Propose a partial refund, another remedy or a compensation; it replaces any pending "
        "offer (seller).",
        _offer,
        "OfferIn",
    ),
    Action("accept-offer", "Accept the seller's pending offer (buyer).", _accept_offer),
    Action(
        "modify",
        "Change the amount, reason or description; the seller's clock restarts (buyer).",
        _modify,
        "ModifyIn",
    ),
    Action("withdraw", "Withdraw the request (buyer).", _with_optional_reason, "OptionalReasonIn"),
    Action(
        "escalate",
        "Ask the platform to step in after a rejection (buyer).",
        _with_optional_reason,
        "OptionalReasonIn",
    ),
    Action("ship-return", "Record the return shipment (buyer).", _ship_return, "ShipReturnIn"),
    Action(
        "confirm-return",
        "Confirm the returned goods arrived; the refund is instructed, or the replacement or "
        "repair is now owed (seller).",
        _confirm_return,
    ),
    Action(
        "dispute-return",
        "Say the returned goods are missing or damaged (seller).",
        _dispute_return,
        "DisputeReturnIn",
    ),
    Action(
        "request-extension",
        "Push your running deadline back once per dispute (either party).",
        _request_extension,
    ),
    Action("evidence-done", "Say you have no more evidence to add (either party).", _evidence_done),
    Action(
        "add-evidence",
        "Add a file or a statement (POST /v1/disputes/{id}/evidence).",
        effect=None,
        input=None,
    ),
    # The clock's moves when a party stays silent (DESIGN §1).
    Action("abandon", "The buyer let the rejection stand: closed, abandoned.", no_change, None),
    Action("expire-return", "The buyer never shipped the return.", no_change, None),
    Action("close-evidence", "The evidence window ran out.", no_change, None),
)
