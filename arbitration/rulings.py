"""The platform's actions (DESIGN §4): take a case, ask for more, rule, hear the appeal, finalize.

A ruling is a row of ``decisions`` and executes at once (buyer protection): its refund is
instructed in the same transaction, keyed by the decision so it happens once. An appeal that
overturns records a replacement decision; the difference in money is refunded now if it favours
the buyer, or announced (``DecisionOverturned``) for the platform to settle if it does not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from arbitration import lifecycle
from arbitration.accounts import ARBITRATOR, SENIOR_ARBITRATOR
from arbitration.actions import Action, ActionContext, Change, require_text
from arbitration.compensations import compensation_terms
from arbitration.db import execute_core
from arbitration.disputes import is_conflicted
from arbitration.errors import Conflict, ValidationFailed
from arbitration.events import DecisionOverturned, DisputeDecided, record
from arbitration.ids import new_id
from arbitration.models import Account, Decision, Dispute
from arbitration.refunds import left_to_refund, reserve_refund
from arbitration.rows import Rows, as_loaded, loaded

BUYER_FULL_REFUND = "buyer_full_refund"
BUYER_PARTIAL_REFUND = "buyer_partial_refund"
SELLER_FAVORED = "seller_favored"
RULING_OUTCOMES = (BUYER_FULL_REFUND, BUYER_PARTIAL_REFUND, SELLER_FAVORED)
RESPONSIBILITIES = ("seller", "buyer", "logistics", "platform", "shared")
SHIPPING_PAYERS = ("buyer", "seller", "platform")
APPEAL_RESULTS = ("uphold", "overturn")
# How a dispute closes under each ruling (DESIGN §1's outcomes), and whom the ruling fully favours.
CLOSING_OUTCOME = {
    BUYER_FULL_REFUND: "refunded",
    BUYER_PARTIAL_REFUND: "partially_refunded",
    SELLER_FAVORED: "seller_favored",
}
FAVOURS = {BUYER_FULL_REFUND: lifecycle.BUYER, SELLER_FAVORED: lifecycle.SELLER}
SELLER_AT_FAULT = frozenset({"seller", "shared"})
BUYER_AT_FAULT = frozenset({"buyer", "shared"})
_DECISIONS = Rows(Decision)
_DECISION_COLUMNS = tuple(column.key for column in Decision.__table__.columns)
_DECISION_BY_ID = select(*Decision.__table__.columns).where(Decision.id == bindparam("decision_id"))


# Taking a case ------------------------------------------------------------------------------------


def _claim(ctx: ActionContext) -> Change:
    return Change(fields={"assigned_arbitrator_id": ctx.caller_id})


def _reassign(ctx: ActionContext) -> Change:
    """A senior hands the case to a colleague who may take it: staff, unrelated, and for an
    appeal a senior who did not make the first ruling."""
    target_id = require_text(ctx.params, "arbitrator_id")
    target = ctx.session.get(Account, target_id)
    appeal = ctx.dispute.status == lifecycle.UNDER_APPEAL
    roles = (SENIOR_ARBITRATOR,) if appeal else (ARBITRATOR, SENIOR_ARBITRATOR)
    problem = None
    if target is None or target.role not in roles:
        problem = "must name a senior arbitrator" if appeal else "must name an arbitrator"
    elif appeal and target_id == ctx.dispute.first_arbitrator_id:
        problem = "an appeal goes to a different arbitrator than the first ruling's"
    elif is_conflicted(ctx.session, staff_id=target_id, dispute=ctx.dispute):
        problem = "is related to a party of this dispute"
    if problem:
        raise ValidationFailed(
            "that colleague cannot take this case", details={"arbitrator_id": [problem]}
        )
    return Change(
        fields={"assigned_arbitrator_id": target_id},
        payload={"from": ctx.dispute.assigned_arbitrator_id, "to": target_id},
    )


INFO_TARGETS = {"buyer": ("buyer",), "seller": ("seller",), "both": ("buyer", "seller")}


def _request_info(ctx: ActionContext) -> Change:
    """Reopen evidence for a new window; each party can be asked once (DESIGN §1)."""
    target = ctx.params.get("party")
    parties = INFO_TARGETS.get(target or "")
    if parties is None:
        raise ValidationFailed(
            "say whom to ask", details={"party": ["one of: buyer, seller, both"]}
        )
    question = require_text(ctx.params, "question")
    asked = [party for party in parties if getattr(ctx.dispute, f"{party}_info_requested")]
    if asked:
        raise Conflict(
            f"more information was already requested from the {asked[0]}",
            code="info_already_requested",
        )
    fields = {f"{party}_info_requested": True for party in parties}
    fields |= {"buyer_evidence_done": False, "seller_evidence_done": False}
    return Change(fields=fields, payload={"party": target, "question": question})


# Ruling -------------------------------------------------------------------------------------------


def _terms(
    ctx: ActionContext, params: dict[str, Any], *, already_refunded: int, ordered_by: str
) -> dict[str, Any]:
    """A ruling's terms, checked against the request and the order (422 naming each field).

    ``already_refunded`` is what an overturned ruling refunded on this dispute: a replacement may
    order up to that much again plus what is left of the order. Sound terms have their refund
    counted on the order, for the decision ``ordered_by`` (``_beyond_order``).
    """
    dispute = ctx.dispute
    problems: dict[str, list[str]] = {}
    outcome = params.get("outcome")
    if outcome not in RULING_OUTCOMES:
        problems["outcome"] = [f"one of: {', '.join(RULING_OUTCOMES)}"]
    amount = params.get("refund_amount")
    if outcome == BUYER_FULL_REFUND:
        amount = dispute.amount if amount is None else amount
        if amount != dispute.amount:
            problems["refund_amount"] = [f"a full refund is the amount requested, {dispute.amount}"]
    elif outcome == BUYER_PARTIAL_REFUND:
        if amount is None or not 0 < amount < dispute.amount:
            problems["refund_amount"] = [
                f"a partial refund is between 1 and {dispute.amount - 1} (the amount requested)"
            ]
    elif outcome == SELLER_FAVORED:
        amount = 0 if amount is None else amount
        if amount != 0:
            problems["refund_amount"] = ["a ruling for the seller refunds nothing"]
    # What the ruling adds to the order's refunds (only that can exceed what is left of it), for
    # an amount with nothing else wrong with it.
    adds = 0
    if isinstance(amount, int) and "refund_amount" not in problems:
        adds = amount - already_refunded
    later: dict[str, list[str]] = {}
    return_required = bool(params.get("return_required", False))
    payer = params.get("return_shipping_paid_by")
    if return_required and payer not in SHIPPING_PAYERS:
        later["return_shipping_paid_by"] = [
            f"say who pays the return: one of {', '.join(SHIPPING_PAYERS)}"
        ]
    if not return_required and payer is not None:
        later["return_shipping_paid_by"] = ["only when a return is required"]
    responsibility = params.get("responsibility")
    if responsibility not in RESPONSIBILITIES:
        later["responsibility"] = [f"one of: {', '.join(RESPONSIBILITIES)}"]
    violation = params.get("violation")
    if violation is not None:
        if violation not in ctx.policy.penalties.violations:
            known = ", ".join(sorted(ctx.policy.penalties.violations))
            later["violation"] = [f"one of: {known}"]
        elif responsibility not in SELLER_AT_FAULT:
            later["violation"] = ["only when the seller is responsible (seller or shared)"]
    buyer_violation = params.get("buyer_violation")
    if buyer_violation is not None:
        if buyer_violation not in ctx.policy.buyer_abuse.violations:
            known = ", ".join(sorted(ctx.policy.buyer_abuse.violations))
            later["buyer_violation"] = [f"one of: {known}"]
        elif responsibility not in BUYER_AT_FAULT:
            later["buyer_violation"] = ["only when the buyer is responsible (buyer or shared)"]
    rationale = (params.get("rationale") or "").strip()
    if not rationale:
        later["rationale"] = ["required: say why, for the parties and for an appeal"]
    if adds > 0:
        beyond = _beyond_order(
            ctx,
            adds=adds,
            already_refunded=already_refunded,
            ordered_by=ordered_by,
            responsibility=responsibility,
            reserve=not (problems or later),
        )
        if beyond:
            problems["refund_amount"] = beyond
    problems |= later
    if problems:
        raise ValidationFailed("the ruling is incomplete or inconsistent", details=problems)
    return {
        "outcome": outcome,
        "refund_amount": amount,
        "return_required": return_required,
        "return_shipping_paid_by": payer,
        "responsibility": responsibility,
        "violation": violation,
        "buyer_violation": buyer_violation,
        "rationale": rationale,
    }


def _beyond_order(
    ctx: ActionContext,
    *,
    adds: int,
    already_refunded: int,
    ordered_by: str,
    responsibility: str | None,
    reserve: bool,
) -> list[str] | None:
    """What is wrong with refunding ``adds`` more on the order, if it would exceed what is left.

    ``reserve``: the terms are otherwise sound, so the refund is counted on the order as it is
    checked (``refunds.reserve_refund``), one statement for both; only a refusal then reads what is
    left, for its message.
    """
    if reserve and reserve_refund(
        ctx.session,
        dispute=ctx.dispute,
        amount=adds,
        ordered_by=ordered_by,
        responsibility=responsibility,
        policy=ctx.policy,
        at=ctx.at,
    ):
        return None
    left = left_to_refund(ctx.session, ctx.dispute.order_id)
    refundable = min(ctx.dispute.amount, left + already_refunded)
    if adds + already_refunded <= refundable:
        return None
    return [f"at most {refundable}: what is left to refund on the order"]


def _decision_row(
    ctx: ActionContext, decision_id: str, terms: dict[str, Any], *, kind: str, **extra: Any
) -> Decision:
    """The decision, inserted now as a plain row (it refers only to rows already written)."""
    decision = _DECISIONS.new(
        id=decision_id,
        dispute_id=ctx.dispute.id,
        kind=kind,
        arbitrator_id=ctx.caller_id,
        decided_at=ctx.at,
        **terms,
        **extra,
    )
    return _DECISIONS.insert(ctx.session, decision)


def _announce(ctx: ActionContext, decision: Decision, *, final: bool) -> None:
    _announce_terms(
        ctx,
        decision.id,
        decision.arbitrator_id,
        {name: getattr(decision, name) for name in TERMS},
        final=final,
    )


def _announce_terms(
    ctx: ActionContext,
    decision_id: str,
    arbitrator_id: str,
    terms: dict[str, Any],
    *,
    final: bool,
) -> None:
    """Announce a decision from its terms (``_terms``'s, a row's ``TERMS``)."""
    dispute = ctx.dispute
    record(
        ctx.session,
        DisputeDecided(
            dispute_id=dispute.id,
            at=ctx.at,
            decision_id=decision_id,
            seller_id=dispute.seller_id,
            buyer_id=dispute.buyer_id,
            arbitrator_id=arbitrator_id,
            outcome=terms["outcome"],
            refund_amount=terms["refund_amount"],
            responsibility=terms["responsibility"],
            violation=terms["violation"],
            final=final,
            buyer_violation=terms["buyer_violation"],
        ),
    )


def _decide(ctx: ActionContext) -> Change:
    decision_id = new_id("dcs", ctx.at)
    terms = _terms(ctx, ctx.params, already_refunded=0, ordered_by=decision_id)
    compensation = compensation_terms(ctx.params.get("compensation"))
    # The row holds exactly these terms: what follows reads them, not the row.
    _decision_row(ctx, decision_id, terms, kind="ruling", **_compensation_columns(compensation))
    _announce_terms(ctx, decision_id, ctx.caller_id, terms, final=False)
    payload = {"decision_id": decision_id, **terms}
    if compensation is not None:
        kind, amount = compensation
        payload["compensation"] = {"kind": kind, "amount": amount}  # as ``Decision.compensation``
    return Change(
        fields={
            "decision_id": decision_id,
            "first_arbitrator_id": ctx.caller_id,
            "ruling_favours": FAVOURS.get(terms["outcome"]),
        },
        payload=payload,
        refund_amount=terms["refund_amount"] or None,
        refund_ordered_by=decision_id,
        compensation=compensation,
        compensation_ordered_by=decision_id,
    )


def _compensation_columns(compensation: tuple[str, int] | None) -> dict[str, Any]:
    """A ruling may add a compensation to the money (DESIGN §1a); it never orders a fulfilment."""
    if compensation is None:
        return {}
    return {"compensation_kind": compensation[0], "compensation_amount": compensation[1]}


def _compensation_payload(decision: Decision) -> dict[str, Any]:
    return {"compensation": decision.compensation} if decision.compensation else {}


def current_decision(session: Session, dispute: Dispute) -> Decision:
    """The ruling in force: the session's copy, or read as a plain row and made the session's copy
    (a quarter of the ORM's ``get``; the appeal's ruling and finality ask for it)."""
    decision_id = dispute.decision_id
    decision = loaded(session, Decision, decision_id) if decision_id else None
    if decision is None and decision_id:
        values = execute_core(session, _DECISION_BY_ID, {"decision_id": decision_id}).one_or_none()
        if values is not None:
            decision = _DECISIONS.new(**dict(zip(_DECISION_COLUMNS, values, strict=True)))
            as_loaded(session, decision)
    assert decision is not None, f"dispute {dispute.id} in {dispute.status} has no decision"
    return decision


def _appeal(ctx: ActionContext) -> Change:
    reason = require_text(ctx.params, "reason")
    return Change(
        fields={"appealed_by": ctx.actor, "assigned_arbitrator_id": None},
        payload={"reason": reason},
    )


def _appeal_decision(ctx: ActionContext) -> Change:
    """Uphold (the ruling stands) or overturn with a replacement; either way the case closes."""
    result = ctx.params.get("result")
    if result not in APPEAL_RESULTS:
        raise ValidationFailed(
            "uphold or overturn?", details={"result": ["one of: uphold, overturn"]}
        )
    rationale = require_text(ctx.params, "rationale")
    ruled = current_decision(ctx.session, ctx.dispute)
    replacement = ctx.params.get("decision")
    decision_id = new_id("dcs", ctx.at)
    if result == "uphold":
        if replacement is not None:
            raise ValidationFailed(
                "an upheld ruling needs no replacement",
                details={"decision": ["only when overturning"]},
            )
        terms = {name: getattr(ruled, name) for name in TERMS} | {"rationale": rationale}
        decision = _decision_row(
            ctx, decision_id, terms, kind="appeal", result=result, replaces_id=ruled.id
        )
        change = Change()
    else:
        if not isinstance(replacement, dict):
            raise ValidationFailed(
                "an overturn states the replacement ruling",
                details={"decision": ["required when overturning: the fields of decide"]},
            )
        try:
            terms = _terms(
                ctx, replacement, already_refunded=ruled.refund_amount, ordered_by=decision_id
            )
            compensation = compensation_terms(replacement.get("compensation"))
        except ValidationFailed as invalid:
            raise ValidationFailed(
                invalid.message, details={f"decision.{k}": v for k, v in invalid.details.items()}
            ) from None
        decision = _decision_row(
            ctx,
            decision_id,
            terms,
            kind="appeal",
            result=result,
            replaces_id=ruled.id,
            **_compensation_columns(compensation),
        )
        difference = decision.refund_amount - ruled.refund_amount
        record(
            ctx.session,
            DecisionOverturned(
                dispute_id=ctx.dispute.id,
                at=ctx.at,
                overturned_decision_id=ruled.id,
                decision_id=decision.id,
                seller_id=ctx.dispute.seller_id,
                revoked_violation=ruled.violation,
                violation=decision.violation,
                difference=difference,
                currency=ctx.dispute.currency,
                revoked_buyer_violation=ruled.buyer_violation,
                buyer_violation=decision.buyer_violation,
            ),
        )
        # A compensation the overturned ruling added stays granted; the replacement's is added.
        change = Change(
            payload={"difference": difference, **_compensation_payload(decision)},
            refund_amount=difference if difference > 0 else None,
            refund_ordered_by=decision.id,
            compensation=compensation,
            compensation_ordered_by=decision.id,
        )
    _announce(ctx, decision, final=True)
    change.fields |= {"decision_id": decision.id}
    change.payload |= {"result": result, "decision_id": decision.id, **terms}
    change.outcome = CLOSING_OUTCOME[decision.outcome]
    return change


TERMS = (
    "outcome",
    "refund_amount",
    "return_required",
    "return_shipping_paid_by",
    "responsibility",
    "violation",
    "buyer_violation",
)


# What a seller (and anyone else) reads when a buyer under review gets no automatic refund.
PLATFORM_REVIEWING = "the platform is reviewing this request"


def _refer_to_platform(ctx: ActionContext) -> Change:
    """A silent seller's timer ran out on a buyer under review: the platform rules instead of
    refunding (DESIGN §5a). Why is not said: the parties read only that the platform reviews it."""
    return Change(payload={"message": PLATFORM_REVIEWING})


def _finalize(ctx: ActionContext) -> Change:
    """The appeal window passed: the ruling in force becomes final and the case closes with it."""
    decision = current_decision(ctx.session, ctx.dispute)
    _announce(ctx, decision, final=True)
    return Change(payload={"decision_id": decision.id}, outcome=CLOSING_OUTCOME[decision.outcome])


RULING_ACTIONS = (
    Action("claim", "Take this case (arbitrators; appeals: a senior who did not rule).", _claim),
    Action(
        "reassign",
        "Hand the case to another arbitrator (senior arbitrators).",
        _reassign,
        "ReassignIn",
    ),
    Action(
        "request-info",
        "Ask a party (or both) for more evidence: a new evidence window opens (assigned arbitrator).",
        _request_info,
        "RequestInfoIn",
    ),
    Action(
        "decide",
        "Rule on the case; the refund is instructed at once (assigned arbitrator).",
        _decide,
        "DecideIn",
    ),
    Action(
        "appeal",
        "Appeal the ruling once, within the window, unless it fully favoured you (either party).",
        _appeal,
        "AppealIn",
    ),
    Action(
        "appeal-decision",
        "Uphold or overturn the ruling; the case closes (the senior arbitrator assigned).",
        _appeal_decision,
        "AppealDecisionIn",
    ),
    Action("finalize", "The appeal window passed: the ruling is final.", _finalize, None),
    Action(
        "refer-to-platform",
        "The seller stayed silent: the platform reviews the request instead of refunding.",
        _refer_to_platform,
        None,
    ),
)
