"""The arbitrators' queue (DESIGN §4): cases waiting for a ruling, the most pressing first.

Order: priority (urgent, high, normal), then when the SLA runs out, then age. Arbitrators see
cases awaiting a decision; senior arbitrators also see appeals, and their view (``senior``) holds
appeals, urgent cases (from filing on, DESIGN §5a), and cases past twice their SLA. ``claim_next`` hands each caller a different
case even when many claim at once: PostgreSQL skips rows another claimer holds (SKIP LOCKED),
SQLite serialises writers; the compare-and-set in ``flows.act`` is the last line of defence.

Flat as the data grows (issue 13): the order is the stored ``priority_rank``, then ``sla_due_at``,
then ``id``, which is the index ``ix_disputes_queue`` after ``status``. So each state the view
holds is read as a walk of that index, stopped at the page's size, and the states are merged
(at most a page from each), never a sort of every case waiting. Within one state the SLA is set
on every case or on none (``deadlines.plan_timer`` sets it exactly in the SLA states), so a
NULL never has to be placed inside a walk; across states cases without one come last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, or_, select, union_all
from sqlalchemy.orm import Session, selectinload

from arbitration import flows, lifecycle
from arbitration.accounts import ARBITRATOR, SENIOR_ARBITRATOR, Caller
from arbitration.classification import priority_rank
from arbitration.compensations import may_have_compensations
from arbitration.db import not_by_index
from arbitration.errors import Conflict, Forbidden, NotFound
from arbitration.models import AccountLink, Compensation, Decision, Dispute, Offer, Refund
from arbitration.policy import Policy

QUEUE_STATES = (lifecycle.AWAITING_DECISION, lifecycle.UNDER_APPEAL)
# Where an urgent case shows in the seniors' view from filing on: every open state before a ruling.
URGENT_WATCH_STATES = tuple(
    state
    for state in lifecycle.OPEN_STATES
    if state not in (lifecycle.DECIDED, lifecycle.UNDER_APPEAL)
)
URGENT_RANK = priority_rank("urgent")
VIEWS = ("all", "senior")
ASSIGNMENTS = ("any", "unassigned", "mine")
CLAIM_ROUNDS = 10
# A senior's claim looks at this many cases of each state (merged), the first one unlocked wins.
CLAIM_WINDOW = 64

# The queue's order within one state: ``ix_disputes_queue`` after its ``status``.
WITHIN_STATE = (Dispute.priority_rank, Dispute.sla_due_at, Dispute.id)

# A state of the view, and what else a case in that state must be to show.
Branch = tuple[str, list[ColumnElement[bool]]]


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


def _branches(caller: Caller, filters: QueueFilters) -> list[Branch]:
    """The view as walks of ``ix_disputes_queue`` (one state each), whose cases never overlap."""
    senior = caller.role == SENIOR_ARBITRATOR
    urgent = Dispute.priority_rank == URGENT_RANK
    view: list[Branch]
    if filters.view == "senior":
        if not senior:
            raise Forbidden("the senior view is for senior arbitrators")
        view = [
            (lifecycle.UNDER_APPEAL, []),
            # Past twice the SLA and not urgent (those come below): ``ix_disputes_escalated``.
            (
                lifecycle.AWAITING_DECISION,
                [Dispute.senior_escalated_at.is_not(None), Dispute.priority_rank != URGENT_RANK],
            ),
        ]
        # Urgent cases from the start (DESIGN §5a): watched while the parties still talk.
        view += [(state, [urgent]) for state in URGENT_WATCH_STATES]
    else:
        view = [(state, []) for state in (QUEUE_STATES if senior else QUEUE_STATES[:1])]
    common: list[ColumnElement[bool]] = []
    if filters.assigned == "unassigned":
        common.append(Dispute.assigned_arbitrator_id.is_(None))
    elif filters.assigned == "mine":
        common.append(Dispute.assigned_arbitrator_id == caller.id)
    if filters.priority is not None:
        common += [
            Dispute.priority_rank == priority_rank(filters.priority),
            Dispute.priority == filters.priority,
        ]
    for name in ("category", "reason"):
        value = getattr(filters, name)
        if value is not None:
            common.append(getattr(Dispute, name) == value)
    return [
        (state, [*conditions, *common])
        for state, conditions in view
        if filters.status in (None, state)
    ]


def _walk(state: str, conditions: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return select(Dispute).where(Dispute.status == state, *conditions).order_by(*WITHIN_STATE)


def _first_ids(branches: Sequence[Branch], limit: int) -> Select[tuple[str]]:
    """The ids of the first ``limit`` cases of the view, in the queue's order."""
    walks = [
        _walk(state, conditions)
        .with_only_columns(Dispute.id, Dispute.priority_rank, Dispute.sla_due_at)
        .limit(limit)
        for state, conditions in branches
    ]
    if len(walks) == 1:
        return walks[0].with_only_columns(Dispute.id)
    merged = union_all(*(walk.subquery().select() for walk in walks)).subquery()
    # A case with no SLA (urgent, the parties still talking) after those with one, in both databases.
    return (
        select(merged.c.id)
        .order_by(merged.c.priority_rank, merged.c.sla_due_at.asc().nulls_last(), merged.c.id)
        .limit(limit)
    )


def _load(session: Session, ids: Sequence[str]) -> list[Dispute]:
    """The disputes with these ids, in this order, each with its lines."""
    if not ids:
        return []
    found = {
        dispute.id: dispute
        for dispute in session.scalars(
            select(Dispute).where(Dispute.id.in_(ids)).options(selectinload(Dispute.items))
        )
    }
    return [found[dispute_id] for dispute_id in ids]


def list_queue(
    session: Session, *, caller: Caller, filters: QueueFilters, limit: int = 50
) -> list[Dispute]:
    _require_arbitrator(caller)
    branches = _branches(caller, filters)
    if not branches:
        return []
    return _load(session, list(session.scalars(_first_ids(branches, limit))))


def _claimable(caller: Caller) -> list[Branch]:
    """Unassigned cases the caller may take: not related to a party; an appeal not their own."""
    related = exists().where(
        AccountLink.staff_id == caller.id,
        AccountLink.related_id.in_((Dispute.buyer_id, Dispute.seller_id)),
    )
    claimable = [
        ~related,
        or_(
            Dispute.status == lifecycle.AWAITING_DECISION,
            Dispute.first_arbitrator_id.is_(None),
            Dispute.first_arbitrator_id != caller.id,
        ),
    ]
    return [
        (state, [*conditions, *claimable])
        for state, conditions in _branches(caller, QueueFilters(assigned="unassigned"))
    ]


def _next_candidate(session: Session, branches: list[Branch], tried: list[str]) -> Dispute | None:
    """The first claimable case no one else holds, locked (PostgreSQL: SKIP LOCKED)."""
    untried = (
        [(state, [*conditions, Dispute.id.not_in(tried)]) for state, conditions in branches]
        if tried
        else branches
    )
    if len(untried) == 1:
        ((state, conditions),) = untried
        query = _walk(state, conditions).limit(1)
    else:
        # Locking only the one taken: the merge's window is read unlocked, then its first free row.
        window = _first_ids(untried, CLAIM_WINDOW).subquery()
        query = (
            select(Dispute)
            .where(Dispute.id.in_(select(window.c.id)))
            .order_by(Dispute.priority_rank, Dispute.sla_due_at.asc().nulls_last(), Dispute.id)
            .limit(1)
        )
    candidate = session.scalars(query.with_for_update(skip_locked=True)).first()
    # None with cases in the window: every one of them is held by a claimer running alongside.
    if candidate is None and len(untried) > 1 and session.scalar(_first_ids(untried, 1)):
        raise Conflict("the queue is changing fast; try again", code="queue_busy")
    return candidate


def claim_next(session: Session, *, caller: Caller, policy: Policy, at: datetime) -> Dispute:
    """Assign the most pressing case the caller may take to them; 404 when there is none.

    One candidate is locked at a time: locking a batch would hide all of it from the claimers
    running alongside (SKIP LOCKED), who would then find the queue empty.
    """
    _require_arbitrator(caller)
    branches = _claimable(caller)
    tried: list[str] = []
    for _ in range(CLAIM_ROUNDS):
        candidate = _next_candidate(session, branches, tried)
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


# A page's bodies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyParts:
    """What a case's body needs beyond its row, read for a whole page at once (``page_parts``)."""

    conflicted: bool
    refunds: list[Refund]
    compensations: list[Compensation]


@dataclass(frozen=True)
class PageParts:
    related: frozenset[str]  # the page's parties the caller is related to (DESIGN §4)
    refunds: dict[str, list[Refund]]
    compensations: dict[str, list[Compensation]]
    # The page's pending offers and rulings, held so that ``session.get`` finds them loaded.
    held: tuple[object, ...] = field(repr=False)

    def of(self, dispute: Dispute) -> BodyParts:
        return BodyParts(
            conflicted=bool(self.related & {dispute.buyer_id, dispute.seller_id}),
            refunds=self.refunds.get(dispute.id, []),
            compensations=self.compensations.get(dispute.id, []),
        )


def page_parts(session: Session, *, caller: Caller, cases: Sequence[Dispute]) -> PageParts:
    """Everything the page's bodies read, in a handful of queries whatever the page holds."""
    parties = {party for case in cases for party in (case.buyer_id, case.seller_id)}
    related = (
        frozenset(
            session.scalars(
                select(AccountLink.related_id).where(
                    AccountLink.staff_id == caller.id, AccountLink.related_id.in_(parties)
                )
            )
        )
        if parties
        else frozenset()
    )
    refunds: dict[str, list[Refund]] = defaultdict(list)
    refunded = [case.id for case in cases if case.refund_amount is not None]
    if refunded:
        for refund in session.scalars(
            select(Refund)
            .where(Refund.dispute_id.in_(refunded))
            .order_by(Refund.instructed_at, Refund.id)
        ):
            refunds[refund.dispute_id].append(refund)
    compensations: dict[str, list[Compensation]] = defaultdict(list)
    compensated = [case.id for case in cases if may_have_compensations(case)]
    if compensated:
        for compensation in session.scalars(
            select(Compensation)
            .where(Compensation.dispute_id.in_(compensated))
            .order_by(Compensation.instructed_at, Compensation.id)
        ):
            compensations[compensation.dispute_id].append(compensation)
    offer_ids = [case.pending_offer_id for case in cases if case.pending_offer_id]
    decision_ids = [case.decision_id for case in cases if case.decision_id]
    held: list[object] = []
    if offer_ids:
        held += session.scalars(select(Offer).where(Offer.id.in_(offer_ids)))
    if decision_ids:
        held += session.scalars(select(Decision).where(Decision.id.in_(decision_ids)))
    return PageParts(related, dict(refunds), dict(compensations), tuple(held))


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


def like_cases(
    dispute_id: str, reason: str, category: str, limit: int
) -> Select[Dispute, Decision]:
    """The decided cases of this reason and category but ``dispute_id``, with the ruling in force.

    A walk down the decisions by time, each one's dispute read by its key, that stops at the
    ``limit``-th like case: the disputes are never all read (``not_by_index`` keeps the planner
    from starting at them, as it would without statistics). How far it walks depends on how
    common the case is, not on how many there are."""
    return (
        select(Dispute, Decision)
        .select_from(Decision)
        .join(
            Dispute,
            (Dispute.id == Decision.dispute_id)
            & (Dispute.decision_id == not_by_index(Decision.id)),
        )
        .where(Dispute.reason == reason, Dispute.category == category, Dispute.id != dispute_id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(limit)
    )


def precedents(
    session: Session, *, caller: Caller, dispute_id: str, limit: int = 20
) -> list[Precedent]:
    """Decided cases like this one (same reason and category): the ruling in force, newest first."""
    _require_arbitrator(caller)
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound(f"no dispute {dispute_id}")
    rows = session.execute(like_cases(dispute.id, dispute.reason, dispute.category, limit)).all()
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
