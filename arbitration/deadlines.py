"""Deadlines: one row per pending timed action, kept in step with the dispute by the use cases.

The lifecycle table says which timer a state runs (``lifecycle.TIMERS``); this module turns that
into rows with a due time from the policy, cancels them when the state moves on, and moves them
for an extension. Firing them is the sweep's job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from arbitration.lifecycle import TIMERS
from arbitration.models import Deadline, Dispute
from arbitration.policy import DeadlinePolicy

PENDING = "pending"
FIRED = "fired"
CANCELLED = "cancelled"


def duration_for(status: str, *, order_shipped: bool, policy: DeadlinePolicy) -> timedelta | None:
    """How long the party has in ``status`` under ``policy``; None when the state runs no timer."""
    timer = TIMERS.get(status)
    if timer is None:
        return None
    key = timer.duration_key
    if order_shipped and timer.duration_key_when_shipped:
        key = timer.duration_key_when_shipped
    return getattr(policy, key)


def cancel_pending(session: Session, *, dispute_id: str, at: datetime) -> None:
    session.execute(
        update(Deadline)
        .where(Deadline.dispute_id == dispute_id, Deadline.status == PENDING)
        .values(status=CANCELLED, settled_at=at)
    )


def start_timer(
    session: Session, *, dispute: Dispute, order_shipped: bool, policy: DeadlinePolicy, at: datetime
) -> None:
    """Replace whatever timer was running with the one ``dispute.status`` runs, starting now."""
    cancel_pending(session, dispute_id=dispute.id, at=at)
    duration = duration_for(dispute.status, order_shipped=order_shipped, policy=policy)
    if duration is None:
        dispute.deadline_action = None
        dispute.deadline_due_at = None
        return
    timer = TIMERS[dispute.status]
    due_at = at + duration
    session.add(
        Deadline(
            dispute_id=dispute.id,
            action=timer.action,
            party=timer.party,
            due_at=due_at,
            status=PENDING,
            created_at=at,
            attempts=0,
        )
    )
    dispute.deadline_action = timer.action
    dispute.deadline_due_at = due_at


def extend_timer(session: Session, *, dispute: Dispute, by: timedelta) -> None:
    """Push the running deadline back (``request-extension``)."""
    if dispute.deadline_due_at is None:
        return
    new_due = dispute.deadline_due_at + by
    session.execute(
        update(Deadline)
        .where(Deadline.dispute_id == dispute.id, Deadline.status == PENDING)
        .values(due_at=new_due)
    )
    dispute.deadline_due_at = new_due
