"""Recoveries (DESIGN §5a, 先行赔付): what a seller owes the platform for a refund it paid (or a
compensation it granted) first.

A refund or compensation the platform funds opens a recovery against the seller in the same
transaction (``open_recovery``, called by ``refunds.instruct_refund`` and
``compensations.instruct_compensation``), with a deadline ``recovery_grace``
ahead. The platform records the money ``recovered``; trust & safety may write it off, saying why.
An open recovery past its deadline stops the seller selling (``penalties.standing`` reads it: it
counts as overdue from ``due_at`` on, before the sweep has even marked it); the sweep's firing
(``on_overdue``, registered by the composition root) records when and announces it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session

from arbitration.accounts import ADMIN, PLATFORM, SELLER, TRUST_SAFETY, Caller
from arbitration.audit import note
from arbitration.deadlines import CANCELLED, PENDING
from arbitration.errors import Conflict, Forbidden, NotFound
from arbitration.events import (
    DecisionOverturned,
    RecoveryClosed,
    RecoveryOpened,
    RecoveryOverdue,
    record,
)
from arbitration.ids import new_id
from arbitration.models import Compensation, Deadline, Decision, Dispute, Recovery, Refund
from arbitration.policy import Policy

OPEN = "open"
RECOVERED = "recovered"
WRITTEN_OFF = "written_off"
RECOVERY_STATUSES = (OPEN, RECOVERED, WRITTEN_OFF)
RECOVERY_OVERDUE = "recovery-overdue"
SYSTEM = "system"
# Who sees every recovery (the platform only with its own token); a seller sees their own.
OVERSEERS = frozenset({PLATFORM, TRUST_SAFETY, ADMIN})


def open_recovery(
    session: Session,
    *,
    dispute: Dispute,
    owed: Refund | Compensation,
    policy: Policy,
    at: datetime,
) -> Recovery:
    """The seller now owes the platform what ``owed`` (a refund or a compensation the platform
    paid first) is worth; overdue after the grace period."""
    refund_id = owed.id if isinstance(owed, Refund) else None
    compensation_id = owed.id if isinstance(owed, Compensation) else None
    recovery = Recovery(
        id=new_id("rcv", at),
        seller_id=dispute.seller_id,
        dispute_id=dispute.id,
        refund_id=refund_id,
        compensation_id=compensation_id,
        amount=owed.amount,
        currency=owed.currency,
        status=OPEN,
        opened_at=at,
        due_at=at + policy.advance_compensation.recovery_grace,
    )
    session.add(recovery)
    # Not the dispute's deadline (dispute_id stays empty): closing the dispute must not stop it.
    session.add(
        Deadline(
            dispute_id=None,
            subject_id=recovery.id,
            action=RECOVERY_OVERDUE,
            party=None,
            due_at=recovery.due_at,
            status=PENDING,
            created_at=at,
            attempts=0,
        )
    )
    record(
        session,
        RecoveryOpened(
            dispute_id=dispute.id,
            at=at,
            recovery_id=recovery.id,
            refund_id=refund_id,
            compensation_id=compensation_id,
            seller_id=recovery.seller_id,
            amount=recovery.amount,
            currency=recovery.currency,
            due_at=recovery.due_at,
        ),
    )
    return recovery


def is_overdue(recovery: Recovery, at: datetime) -> bool:
    return recovery.status == OPEN and recovery.due_at <= at


# Built once: standing reads them on every call, over the (seller, status) index.
_OPEN_OF_SELLER = (Recovery.seller_id == bindparam("seller_id"), Recovery.status == OPEN)
_OPEN_RECOVERIES = select(Recovery).where(*_OPEN_OF_SELLER)
# Whether the seller owes an open recovery, as a column of a statement that binds ``seller_id``:
# most sellers owe none, and a statement that asks this spares them ``open_recoveries``.
OWES_RECOVERY = exists().where(*_OPEN_OF_SELLER).label("owes_recovery")


def open_recoveries(session: Session, *, seller_id: str) -> list[Recovery]:
    """The seller's open recoveries, oldest first, over the (seller, status) index."""
    rows = session.scalars(_OPEN_RECOVERIES, {"seller_id": seller_id}).all()
    return sorted(rows, key=lambda recovery: (recovery.opened_at, recovery.id))


def _may_see(caller: Caller, recovery: Recovery) -> bool:
    if caller.via is None and caller.role in OVERSEERS:
        return True
    return caller.role == SELLER and caller.id == recovery.seller_id


def get_recovery(session: Session, *, caller: Caller, recovery_id: str) -> Recovery:
    """One recovery (the platform, T&S, admins, the seller who owes it; else a 404)."""
    recovery = session.get(Recovery, recovery_id)
    if recovery is None or not _may_see(caller, recovery):
        raise NotFound(f"no recovery {recovery_id}")
    return recovery


def _closable(session: Session, caller: Caller, recovery_id: str) -> Recovery:
    recovery = get_recovery(session, caller=caller, recovery_id=recovery_id)
    # Re-read under a row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises).
    session.refresh(recovery, with_for_update=True)
    if recovery.status != OPEN:
        raise Conflict(
            f"the recovery is already {recovery.status}",
            code=f"recovery_{recovery.status}",
            details={"status": recovery.status},
        )
    return recovery


def mark_recovered(
    session: Session, *, caller: Caller, recovery_id: str, note_text: str | None, at: datetime
) -> Recovery:
    """The platform got the money back from the seller: the recovery closes (platform)."""
    recovery = get_recovery(session, caller=caller, recovery_id=recovery_id)
    if caller.role != PLATFORM or caller.via is not None:
        raise Forbidden("only the platform records a recovery as recovered")
    closable = _closable(session, caller, recovery.id)
    return _close(session, closable, caller.id, RECOVERED, note_text, at)


def write_off(
    session: Session, *, caller: Caller, recovery_id: str, reason: str, at: datetime
) -> Recovery:
    """Give up recovering the money, saying why (trust & safety)."""
    recovery = get_recovery(session, caller=caller, recovery_id=recovery_id)
    if caller.role != TRUST_SAFETY or caller.via is not None:
        raise Forbidden("only trust & safety writes a recovery off")
    closable = _closable(session, caller, recovery.id)
    return _close(session, closable, caller.id, WRITTEN_OFF, reason, at)


def _close(
    session: Session,
    recovery: Recovery,
    actor_id: str,
    status: str,
    reason: str | None,
    at: datetime,
) -> Recovery:
    recovery.status, recovery.closed_at, recovery.closed_by = status, at, actor_id
    recovery.close_reason = reason
    session.execute(
        update(Deadline)
        .where(
            Deadline.subject_id == recovery.id,
            Deadline.action == RECOVERY_OVERDUE,
            Deadline.status == PENDING,
        )
        .values(status=CANCELLED, settled_at=at)
        .execution_options(synchronize_session=False)
    )
    _note(session, recovery, actor_id, f"recovery-{status.replace('_', '-')}", at, reason=reason)
    record(
        session,
        RecoveryClosed(
            dispute_id=recovery.dispute_id,
            at=at,
            recovery_id=recovery.id,
            seller_id=recovery.seller_id,
            amount=recovery.amount,
            currency=recovery.currency,
            status=status,
            closed_by=actor_id,
            reason=reason,
        ),
    )
    return recovery


def on_overturned(session: Session, event: DecisionOverturned) -> None:
    """An appeal cleared the seller (the replacement does not find them responsible): they owe
    nothing for the dispute's refunds, so its open recoveries are written off by the system."""
    replacement = session.get(Decision, event.decision_id)
    if replacement is None or replacement.responsibility in ("seller", "shared"):
        return
    owed = session.scalars(
        select(Recovery).where(Recovery.dispute_id == event.dispute_id, Recovery.status == OPEN)
    ).all()
    for recovery in owed:
        _close(
            session,
            recovery,
            SYSTEM,
            WRITTEN_OFF,
            "the ruling against the seller was overturned on appeal",
            event.at,
        )


def on_overdue(session: Session, deadline: Deadline, _policy: Policy, at: datetime) -> None:
    """The grace ran out with the recovery still open: say so once (the sweep fires this once)."""
    recovery = session.get(Recovery, deadline.subject_id)
    if recovery is None or recovery.status != OPEN or recovery.overdue_since is not None:
        return
    recovery.overdue_since = at
    _note(session, recovery, SYSTEM, "recovery-overdue", at)
    record(
        session,
        RecoveryOverdue(
            dispute_id=recovery.dispute_id,
            at=at,
            recovery_id=recovery.id,
            seller_id=recovery.seller_id,
            amount=recovery.amount,
            currency=recovery.currency,
        ),
    )


def _note(
    session: Session,
    recovery: Recovery,
    actor_id: str,
    action: str,
    at: datetime,
    **extra: str | None,
) -> None:
    """Put the recovery's step on the dispute's timeline (both parties see what happened)."""
    dispute = session.get(Dispute, recovery.dispute_id)
    assert dispute is not None
    payload = {"recovery_id": recovery.id, "amount": recovery.amount} | {
        key: value for key, value in extra.items() if value is not None
    }
    note(
        session,
        dispute_id=dispute.id,
        status=dispute.status,
        actor_id=actor_id,
        action=action,
        payload=payload,
        at=at,
    )
