"""Public decisions (DESIGN §7): final rulings anyone may read, with nobody's identity but the
seller's.

What is published is built only from a ruling's structured terms (reason, category, outcome,
amounts, responsibility, violation, whether an appeal overturned it) plus a sentence generated from
them. No free text a person wrote is published: not the description, not the evidence, not the
rationale, which may name the buyer or quote their contact details. The buyer appears as a masked
initial; the seller, a business trading on the marketplace, by id and name.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from arbitration import lifecycle
from arbitration.db import not_by_index
from arbitration.errors import ValidationFailed
from arbitration.ids import is_generated_id
from arbitration.models import Account, Decision, Dispute

MASK = "***"

OUTCOME_WORDS = {
    "buyer_full_refund": "for the buyer, a full refund",
    "buyer_partial_refund": "a partial refund",
    "seller_favored": "for the seller, no refund",
}


def mask_name(display_name: str) -> str:
    """``"Alice Wong"`` → ``"A***"``: enough to tell two buyers apart on a page, not to find one."""
    initial = next((char for char in display_name if char.isalnum()), "")
    return f"{initial.upper()}{MASK}"


@dataclass(frozen=True)
class PublicDecision:
    dispute_id: str
    reason: str
    category: str
    amount_requested: int
    refund_amount: int
    currency: str
    ruling: str
    outcome: str | None
    responsibility: str
    violation: str | None
    overturned_on_appeal: bool
    decided_at: datetime
    closed_at: datetime | None
    seller_id: str
    seller_name: str
    buyer: str
    summary: str


@dataclass(frozen=True)
class PublicPage:
    decisions: list[PublicDecision]
    next_cursor: str | None


def public_decisions(
    session: Session,
    *,
    seller_id: str | None = None,
    reason: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> PublicPage:
    """Final rulings, newest dispute first, a page at a time.

    Which of the page's rulings an appeal overturned is asked of the page's disputes alone, in a
    second statement: inside the first, PostgreSQL answered it by reading every appeal ever
    decided into a hash (2.7 times the time at a million disputes as at 10,000)."""
    buyer = aliased(Account)
    seller = aliased(Account)
    query = (
        select(Dispute, Decision, seller.display_name, buyer.display_name)
        .join(Decision, Decision.id == Dispute.decision_id)
        .join(seller, seller.id == Dispute.seller_id)
        .join(buyer, buyer.id == Dispute.buyer_id)
        .where(Dispute.status == lifecycle.CLOSED)
        .order_by(Dispute.id.desc())
        .limit(limit + 1)
    )
    if seller_id is not None:
        query = query.where(Dispute.seller_id == seller_id)
    if reason is not None:  # filters the walk down (status, id) or (seller_id, status, id)
        query = query.where(not_by_index(Dispute.reason) == reason)
    if cursor:
        query = query.where(Dispute.id < _decode_cursor(cursor))
    rows = session.execute(query).all()
    shown = rows[:limit]
    overturned = set(
        session.scalars(
            select(Decision.dispute_id).where(
                Decision.dispute_id.in_([row[0].id for row in shown]),
                Decision.kind == "appeal",
                Decision.result == "overturn",
            )
        )
    )
    decisions = [
        _public(dispute, decision, seller_name, buyer_name, dispute.id in overturned)
        for dispute, decision, seller_name, buyer_name in shown
    ]
    more = len(rows) > limit
    return PublicPage(decisions, _encode_cursor(decisions[-1].dispute_id) if more else None)


def _public(
    dispute: Dispute, decision: Decision, seller_name: str, buyer_name: str, overturned: bool
) -> PublicDecision:
    return PublicDecision(
        dispute_id=dispute.id,
        reason=dispute.reason,
        category=dispute.category,
        amount_requested=dispute.amount,
        refund_amount=decision.refund_amount,
        currency=dispute.currency,
        ruling=decision.outcome,
        outcome=dispute.outcome,
        responsibility=decision.responsibility,
        violation=decision.violation,
        overturned_on_appeal=overturned,
        decided_at=decision.decided_at,
        closed_at=dispute.closed_at,
        seller_id=dispute.seller_id,
        seller_name=seller_name,
        buyer=mask_name(buyer_name),
        summary=summary_of(dispute, decision, overturned=overturned),
    )


def summary_of(dispute: Dispute, decision: Decision, *, overturned: bool) -> str:
    """One sentence from the ruling's structured terms only (never a person's words)."""
    amount = f"{decision.refund_amount / 100:.2f} {dispute.currency}"
    ruled = OUTCOME_WORDS.get(decision.outcome, decision.outcome.replace("_", " "))
    sentence = f"A {dispute.reason.replace('_', ' ')} complaint, ruled {ruled}"
    if decision.refund_amount:
        sentence += f" ({amount} of {dispute.amount / 100:.2f} {dispute.currency} asked)"
    sentence += f"; responsibility: {decision.responsibility}"
    if decision.violation:
        sentence += f", violation: {decision.violation.replace('_', ' ')}"
    if overturned:
        sentence += "; this ruling replaced one overturned on appeal"
    return sentence + "."


def _encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        last_id = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        last_id = ""
    if not is_generated_id(last_id, "dsp") or _encode_cursor(last_id) != cursor:
        raise ValidationFailed("bad cursor", details={"cursor": ["not a cursor we issued"]})
    return last_id
