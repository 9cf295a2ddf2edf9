"""The arbitrators' queue (DESIGN §4): cases waiting for a ruling, the most pressing first.

Order: priority (urgent, high, normal), then when the SLA runs out, then age. Arbitrators see
cases awaiting a decision; senior arbitrators also see appeals, and their view (``senior``) holds
appeals, urgent cases (from filing on, DESIGN §5a), and cases past twice their SLA. ``claim_next`` hands each caller a different
case even when many claim at once: PostgreSQL skips rows another claimer holds (SKIP LOCKED),
SQLite serialises writers; the compare-and-set in ``flows.act`` is the last line of defence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, exists, or_, select
from sqlalchemy.orm import Session

from arbitration import flows, lifecycle
from arbitration.accounts import ARBITRATOR, SENIOR_ARBITRATOR, Caller
from arbitration.errors import Conflict, Forbidden, NotFound
from arbitration.models import AccountLink, Decision, Dispute
from arbitration.policy import Policy

PRIORITY_RANK = case({"urgent": 0, "high": 1}, value=Dispute.priority, else_=2)
QUEUE_STATES = (lifecycle.AWAITING_DECISION, lifecycle.UNDER_APPEAL)
# Where an urgent case shows in the seniors' view from filing on: every open state before a ruling.
URGENT_WATCH_STATES = tuple(
    state
    for state in lifecycle.OPEN_STATES
    if state not in (lifecycle.DECIDED, lifecycle.UNDER_APPEAL)
)
VIEWS = ("all", "senior")
ASSIGNMENTS = ("any", "unassigned", "mine")
CLAIM_ROUNDS = 10


@dataclass(frozen=True)
class QueueFilters:
    view: str = "all"
    assigned: str = "any"
    status: str | None = None
    priority: str | None = None
    category: str | None = None
    reason: str | None = None


def _require_arbitrator(caller: Caller) -> None:
    if caller.role not in (ARBITRATOR, SENIOR_ARBITRATOR) or caller.via is not None:
        raise Forbidden("the queue is for arbitrators")


def _queue(caller: Caller, filters: QueueFilters) -> Select[Dispute]:
    senior = caller.role == SENIOR_ARBITRATOR
    query = select(Dispute)
    if filters.view == "senior":
        if not senior:
            raise Forbidden("the senior view is for senior arbitrators")
        query = query.where(
            or_(
                Dispute.status == lifecycle.UNDER_APPEAL,
                and_(
                    Dispute.status == lifecycle.AWAITING_DECISION,
                    Dispute.senior_escalated_at.is_not(None),
                ),
                # Urgent cases from the start (DESIGN §5a): watched while the parties still talk.
                and_(Dispute.priority == "urgent", Dispute.status.in_(URGENT_WATCH_STATES)),
            )
        )
    else:
        query = query.where(
            Dispute.status.in_(QUEUE_STATES if senior else (lifecycle.AWAITING_DECISION,))
        )
    if filters.assigned == "unassigned":
        query = query.where(Dispute.assigned_arbitrator_id.is_(None))
    elif filters.assigned == "mine":
        query = query.where(Dispute.assigned_arbitrator_id == caller.id)
    for name in ("status", "priority", "category", "reason"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Dispute, name) == value)
    # A case not yet waiting for a ruling has no SLA: after those that do, in both databases.
    return query.order_by(PRIORITY_RANK, Dispute.sla_due_at.asc().nulls_last(), Dispute.id)


def list_queue(
    session: Session, *, caller: Caller, filters: QueueFilters, limit: int = 50
) -> list[Dispute]:
    _require_arbitrator(caller)
    return list(session.scalars(_queue(caller, filters).limit(limit)))


def _claimable(caller: Caller) -> Select[Dispute]:
    """Unassigned cases the caller may take: not related to a party; an appeal not their own."""
    related = exists().where(
        AccountLink.staff_id == caller.id,
        AccountLink.related_id.in_((Dispute.buyer_id, Dispute.seller_id)),
    )
    query = _queue(caller, QueueFilters(assigned="unassigned")).where(~related)
    return query.where(
        or_(
            Dispute.status == lifecycle.AWAITING_DECISION,
            Dispute.first_arbitrator_id.is_(None),
            Dispute.first_arbitrator_id != caller.id,
        )
    )


def claim_next(session: Session, *, caller: Caller, policy: Policy, at: datetime) -> Dispute:
    """Assign the most pressing case the caller may take to them; 404 when there is none.

    One candidate is locked at a time: locking a batch would hide all of it from the claimers
    running alongside (SKIP LOCKED), who would then find the queue empty.
    """
    _require_arbitrator(caller)
    tried: list[str] = []
    for _ in range(CLAIM_ROUNDS):
        candidate = session.scalars(
            _claimable(caller)
            .where(Dispute.id.not_in(tried))
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if candidate is None:
            raise NotFound("the queue is empty: no case waits for you")
        try:
            with session.begin_nested():
                return flows.act(
                    session,
                    dispute_id=candidate.id,
                    action="claim",
                    caller=caller,
                    policy=policy,
                    at=at,
                )
        except Conflict:
            # The case changed between our read and our claim: take the next one.
            tried.append(candidate.id)
            session.expire(candidate)
    raise Conflict("the queue is changing fast; try again", code="queue_busy")


@dataclass(frozen=True)
class Precedent:
    dispute_id: str
    reason: str
    category: str
    amount: int
    currency: str
    outcome: str
    refund_amount: int
    responsibility: str
    violation: str | None
    decided_at: datetime


def precedents(
    session: Session, *, caller: Caller, dispute_id: str, limit: int = 20
) -> list[Precedent]:
    """Decided cases like this one (same reason and category): the ruling in force, newest first."""
    _require_arbitrator(caller)
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound(f"no dispute {dispute_id}")
    rows = session.execute(
        select(Dispute, Decision)
        .join(Decision, Decision.id == Dispute.decision_id)
        .where(
            Dispute.reason == dispute.reason,
            Dispute.category == dispute.category,
            Dispute.id != dispute.id,
        )
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(limit)
    ).all()
    return [
        Precedent(
            dispute_id=case_.id,
            reason=case_.reason,
            category=case_.category,
            amount=case_.amount,
            currency=case_.currency,
            outcome=decision.outcome,
            refund_amount=decision.refund_amount,
            responsibility=decision.responsibility,
            violation=decision.violation,
            decided_at=decision.decided_at,
        )
        for case_, decision in rows
    ]
