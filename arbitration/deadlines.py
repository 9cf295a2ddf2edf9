"""Deadlines: one row per pending timed action, kept in step with the dispute by the use cases.

The lifecycle table says which timer a state runs (``lifecycle.TIMERS``) and which states run an
SLA; this module turns that into rows with due times from the policy: the timer itself, a reminder
``reminder_before`` it runs out, and the SLA flags. Every state change replaces the rows; an
extension moves them. Firing them is ``sweep``'s job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, insert, literal_column, select, update
from sqlalchemy.orm import Session

from arbitration.db import execute_later
from arbitration.lifecycle import AWAITING_FULFILMENT, SLA_STATES, TIMERS
from arbitration.models import Compensation, Deadline, Dispute, Refund
from arbitration.policy import Policy
from arbitration.statements import prepared

PENDING = "pending"
FIRED = "fired"
CANCELLED = "cancelled"

# Deadlines that raise a flag instead of taking a lifecycle action.
REMIND = "remind"
SLA_BREACH = "sla-breach"
SLA_ESCALATE = "sla-escalate"
REFUND_OVERDUE = "refund-overdue"
COMPENSATION_OVERDUE = "compensation-overdue"

# "Still pending" with the state as a literal in the SQL: the indexes on deadlines hold only the
# pending rows (``ix_deadlines_pending_due``, ``ix_deadlines_dispute_pending``), and SQLite (or
# PostgreSQL's generic plan) uses one only for a query whose text says ``status = 'pending'``,
# never ``status = ?``.
IS_PENDING = Deadline.status == literal_column(f"'{PENDING}'")


def duration_key_for(status: str, *, order_shipped: bool) -> str | None:
    """The policy duration the party has in ``status``; None when the state runs no timer."""
    timer = TIMERS.get(status)
    if timer is None:
        return None
    if order_shipped and timer.duration_key_when_shipped:
        return timer.duration_key_when_shipped
    return timer.duration_key


def due_at_for(
    dispute: Dispute, *, order_shipped: bool, policy: Policy, at: datetime
) -> datetime | None:
    """When the timer ``dispute.status`` runs from ``at`` runs out, on the policy's calendar: a
    repair's promised ``ready_by`` once stated, else the state's policy duration."""
    if dispute.status == AWAITING_FULFILMENT and dispute.repair_ready_by is not None:
        return dispute.repair_ready_by
    key = duration_key_for(dispute.status, order_shipped=order_shipped)
    return None if key is None else policy.due_after(key, at)


# Built once: building a statement costs more than running it (the hot path runs this one on
# every move of a dispute).
_CANCEL_PENDING = prepared(
    update(Deadline)
    .where(Deadline.dispute_id == bindparam("of_dispute"), IS_PENDING)
    .values(status=CANCELLED, settled_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)

_INSERT_DEADLINES = prepared(insert(Deadline))


def cancel_pending(session: Session, *, dispute_id: str, at: datetime, flush: bool = True) -> None:
    """Cancel the dispute's pending deadlines (``flush=False``: nothing can be pending yet)."""
    execute_later(session, _CANCEL_PENDING, {"of_dispute": dispute_id, "at": at}, flush=flush)


def _row(
    *, dispute_id: str, action: str, party: str | None, due_at: datetime, at: datetime
) -> dict[str, object]:
    return {
        "dispute_id": dispute_id,
        "action": action,
        "party": party,
        "due_at": due_at,
        "status": PENDING,
        "created_at": at,
        "attempts": 0,
    }


def depends_on_shipping(status: str) -> bool:
    """Whether the timer ``status`` runs is longer once the order shipped (so the order is read)."""
    timer = TIMERS.get(status)
    return timer is not None and timer.duration_key_when_shipped is not None


class Timer(NamedTuple):
    """What a state runs from a moment: the dispute's deadline fields, and the deadline rows."""

    deadline_action: str | None
    deadline_due_at: datetime | None
    sla_due_at: datetime | None
    rows: list[dict[str, object]]  # for ``write_timers``


def plan_timer(dispute: Dispute, *, order_shipped: bool, policy: Policy, at: datetime) -> Timer:
    """The deadline fields for what ``dispute.status`` runs from ``at``, and the deadline rows that
    run it (``write_timers``): an action sets the fields on its dispute, a filing writes them
    into its new row before inserting it, then its rows after it."""
    status = dispute.status
    deadline_action: str | None = None
    deadline_due_at: datetime | None = None
    sla_due_at: datetime | None = None
    rows: list[dict[str, object]] = []

    def add(action: str, party: str | None, due_at: datetime) -> None:
        rows.append(_row(dispute_id=dispute.id, action=action, party=party, due_at=due_at, at=at))

    if status in SLA_STATES:
        sla = policy.sla.decision_window(dispute.priority)
        sla_due_at = at + sla
        add(SLA_BREACH, None, at + sla)
        add(SLA_ESCALATE, None, at + sla * policy.sla.senior_escalation_factor)
    due_at = due_at_for(dispute, order_shipped=order_shipped, policy=policy, at=at)
    if due_at is not None:
        timer = TIMERS[status]
        add(timer.action, timer.party, due_at)
        if timer.party is not None and due_at - at > policy.deadlines.reminder_before:
            add(REMIND, timer.party, due_at - policy.deadlines.reminder_before)
        deadline_action = timer.action
        deadline_due_at = due_at
    return Timer(deadline_action, deadline_due_at, sla_due_at, rows)


def write_timers(session: Session, rows: list[dict[str, object]], *, flush: bool = False) -> None:
    """Insert the rows ``plan_timer`` returned, with the watches of any refund or compensation
    the same action ordered, in one statement (none if there are none): they refer only to the
    dispute's row, so nothing is flushed first."""
    if rows:
        execute_later(session, _INSERT_DEADLINES, rows, flush=flush)


def extend_timer(session: Session, *, dispute: Dispute, policy: Policy) -> timedelta:
    """Push the running deadline back by the policy's ``extension`` (on its calendar), and its
    reminder with it, for ``request-extension``; returns by how much it moved."""
    if dispute.deadline_due_at is None:
        return timedelta(0)
    old_due = dispute.deadline_due_at
    new_due = policy.due_after("extension", old_due)
    running = session.scalars(
        select(Deadline).where(
            Deadline.dispute_id == dispute.id,
            IS_PENDING,
            Deadline.action.in_((dispute.deadline_action, REMIND)),
        )
    )
    for deadline in running:
        deadline.due_at = deadline.due_at + (new_due - old_due)
    dispute.deadline_due_at = new_due
    return new_due - old_due


def refund_watch(refund: Refund, *, policy: Policy, at: datetime) -> dict[str, object]:
    """The deadline row that flags the refund if the platform has not confirmed paying it in
    time (DESIGN §1), for ``write_timers`` with the timers of the action that ordered it."""
    return _row(
        dispute_id=refund.dispute_id,
        action=REFUND_OVERDUE,
        party=None,
        due_at=policy.due_after("refund_confirmation", at),
        at=at,
    )


def compensation_watch(
    compensation: Compensation, *, policy: Policy, at: datetime
) -> dict[str, object]:
    """The row that flags a compensation the platform has not confirmed within
    ``refund_confirmation``."""
    return _row(
        dispute_id=compensation.dispute_id,
        action=COMPENSATION_OVERDUE,
        party=None,
        due_at=policy.due_after("refund_confirmation", at),
        at=at,
    )
