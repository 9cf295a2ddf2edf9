"""The deadline sweep: fire what is due, each firing in its own transaction, exactly once.

A firing claims one due row and runs its handler in the same transaction as the row's change to
``fired``: a crash rolls both back (nothing lost, the row is still pending), and a second sweep
can never claim a row the first one fired (nothing doubled). SQLite serialises writers with
``BEGIN IMMEDIATE``; PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so sweeps share the work.
A failing handler is logged with the deadline id and retried with backoff, and does not stop the
rest of the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from arbitration import deadlines, flows, lifecycle
from arbitration.audit import note
from arbitration.clock import Clock
from arbitration.db import Database
from arbitration.errors import InvalidTransition
from arbitration.models import Compensation, Deadline, Dispute, Refund
from arbitration.policy import Policy

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(seconds=30)

# A handler does what a deadline says, in the firing's transaction.
Handler = Callable[[Session, Deadline, Policy, datetime], None]


@dataclass
class SweepReport:
    fired: int = 0
    cancelled: int = 0
    failed: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.fired + self.cancelled + len(self.failed)


def _take_lifecycle_action(
    session: Session, deadline: Deadline, policy: Policy, at: datetime
) -> None:
    assert deadline.dispute_id is not None
    flows.act(
        session,
        dispute_id=deadline.dispute_id,
        action=deadline.action,
        caller=None,
        policy=policy,
        at=at,
    )


def _dispute(session: Session, deadline: Deadline) -> Dispute:
    dispute = session.get(Dispute, deadline.dispute_id)
    assert dispute is not None
    return dispute


def _flag_event(
    session: Session, dispute: Dispute, action: str, payload: dict[str, Any], at: datetime
) -> None:
    note(
        session,
        dispute_id=dispute.id,
        status=dispute.status,
        actor_id=lifecycle.SYSTEM,
        action=action,
        payload=payload,
        at=at,
    )


def _remind(session: Session, deadline: Deadline, policy: Policy, at: datetime) -> None:
    dispute = _dispute(session, deadline)
    due = dispute.deadline_due_at
    payload = {
        "party": deadline.party,
        "action": dispute.deadline_action,
        "due_at": due.isoformat() if due else None,
    }
    _flag_event(session, dispute, "deadline-approaching", payload, at)


def _sla_breach(session: Session, deadline: Deadline, policy: Policy, at: datetime) -> None:
    dispute = _dispute(session, deadline)
    dispute.sla_breached_at = at
    _flag_event(session, dispute, "sla-breached", {"priority": dispute.priority}, at)


def _sla_escalate(session: Session, deadline: Deadline, policy: Policy, at: datetime) -> None:
    dispute = _dispute(session, deadline)
    dispute.senior_escalated_at = at
    _flag_event(session, dispute, "escalated-to-senior", {"priority": dispute.priority}, at)


def _refund_overdue(session: Session, deadline: Deadline, policy: Policy, at: datetime) -> None:
    """Flag the dispute's refunds the platform has not confirmed within the window."""
    dispute = _dispute(session, deadline)
    unconfirmed = session.scalars(
        select(Refund).where(
            Refund.dispute_id == dispute.id,
            Refund.confirmed_at.is_(None),
            Refund.overdue_since.is_(None),
        )
    ).all()
    overdue = [
        refund
        for refund in unconfirmed
        if policy.due_after("refund_confirmation", refund.instructed_at) <= at
    ]
    for refund in overdue:
        refund.overdue_since = at
        _flag_event(
            session,
            dispute,
            "refund-overdue",
            {"refund_id": refund.id, "amount": refund.amount},
            at,
        )


def _compensation_overdue(
    session: Session, deadline: Deadline, policy: Policy, at: datetime
) -> None:
    """Flag the dispute's compensations the platform has not confirmed within the window."""
    dispute = _dispute(session, deadline)
    unconfirmed = session.scalars(
        select(Compensation).where(
            Compensation.dispute_id == dispute.id,
            Compensation.confirmed_at.is_(None),
            Compensation.overdue_since.is_(None),
        )
    ).all()
    for compensation in unconfirmed:
        if policy.due_after("refund_confirmation", compensation.instructed_at) > at:
            continue
        compensation.overdue_since = at
        _flag_event(
            session,
            dispute,
            "compensation-overdue",
            {"compensation_id": compensation.id, "amount": compensation.amount},
            at,
        )


FLAG_HANDLERS: dict[str, Handler] = {
    deadlines.COMPENSATION_OVERDUE: _compensation_overdue,
    deadlines.REMIND: _remind,
    deadlines.SLA_BREACH: _sla_breach,
    deadlines.SLA_ESCALATE: _sla_escalate,
    deadlines.REFUND_OVERDUE: _refund_overdue,
}


# The actions the lifecycle's timers take: only these go through the dispute gate.
LIFECYCLE_DEADLINES = frozenset(timer.action for timer in lifecycle.TIMERS.values())


class UnknownDeadline(Exception):
    """No handler owns this kind of deadline (a satellite's handler is not registered here)."""


def handler_for(action: str, extra: Mapping[str, Handler]) -> Handler:
    """Dispatch by kind, explicitly: a lifecycle timer goes through the same use case a person
    would call, a flag has its own handler, a satellite's deadline (a penalty's expiry) its
    registered one (``extra``, which may also stand in for a core kind, as tests do). Anything
    else fails loudly and is retried, never taken for a dispute's."""
    if action in extra:
        return extra[action]
    if action in LIFECYCLE_DEADLINES:
        return _take_lifecycle_action
    if action in FLAG_HANDLERS:
        return FLAG_HANDLERS[action]
    raise UnknownDeadline(f"no handler for {action} deadlines")


def _due(now: datetime) -> Select[Deadline]:
    return select(Deadline).where(
        deadlines.IS_PENDING,
        Deadline.due_at <= now,
        or_(Deadline.retry_at.is_(None), Deadline.retry_at <= now),
    )


def _fire_next(
    database: Database,
    *,
    policy: Policy,
    at: datetime,
    skip: set[int],
    extra: Mapping[str, Handler],
) -> tuple[str, int] | None:
    """Claim the next due deadline and fire it; returns (what happened, deadline id) or None."""
    with database.unit_of_work() as session:
        query = _due(at).order_by(Deadline.due_at, Deadline.id).limit(1)
        if skip:
            query = query.where(Deadline.id.not_in(skip))
        deadline = session.scalars(query.with_for_update(skip_locked=True)).first()
        if deadline is None:
            return None
        deadline_id = deadline.id
        try:
            with session.begin_nested():
                handler_for(deadline.action, extra)(session, deadline, policy, at)
        except InvalidTransition as stale:
            # The dispute moved on without cancelling this row: nothing to do, say why and stop.
            deadline.status = deadlines.CANCELLED
            deadline.settled_at = at
            deadline.last_error = f"stale: {stale.message}"
            return "cancelled", deadline_id
        except Exception as error:
            log.exception("deadline %s (%s) failed; will retry", deadline_id, deadline.action)
            deadline.attempts += 1
            deadline.retry_at = at + min(FIRST_BACKOFF * 2 ** (deadline.attempts - 1), MAX_BACKOFF)
            deadline.last_error = f"{type(error).__name__}: {error}"[:2000]
            return "failed", deadline_id
        deadline.status = deadlines.FIRED
        deadline.settled_at = at
        deadline.attempts += 1
        return "fired", deadline_id


def sweep_due_deadlines(
    database: Database,
    *,
    policy: Policy,
    clock: Clock,
    batch_size: int = DEFAULT_BATCH_SIZE,
    extra_handlers: Mapping[str, Handler] | None = None,
) -> SweepReport:
    """Fire up to ``batch_size`` due deadlines, oldest first, each in its own transaction."""
    report = SweepReport()
    skip: set[int] = set()
    while report.handled < batch_size:
        result = _fire_next(
            database,
            policy=policy,
            at=clock.now(),
            skip=skip,
            extra={**database.handlers.deadlines, **(extra_handlers or {})},
        )
        if result is None:
            break
        outcome, deadline_id = result
        if outcome == "fired":
            report.fired += 1
        elif outcome == "cancelled":
            report.cancelled += 1
        else:
            report.failed.append(deadline_id)
            skip.add(deadline_id)
    return report
