"""How penalties react to the core (registered by ``api.wiring``; the core never imports this).

A ruling that names a violation puts it on the seller's ledger; an appeal that overturns a ruling
takes its violation off (and records the replacement's); a seller who settled after rejecting the
request gets a warning with no points; a seller who let the deadline to send an exchange, a repair
or goods again pass (the system refunded instead) gets a warning and the policy's
``missed_fulfilment`` violation, if the policy names one; a penalty's expiry deadline ends it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from arbitration.events import (
    DecisionOverturned,
    DisputeClosed,
    DisputeDecided,
    FulfilmentLapsed,
    Handlers,
)
from arbitration.ids import new_id
from arbitration.models import Deadline, Event
from arbitration.policy import PenaltyPolicy, Policy
from penalties import chain, ledger
from penalties.models import ACTIVE, EXPIRED, FROM_RULING, FROM_SYSTEM, Penalty, Violation

# The violation a lapsed fulfilment records (its points come from the policy, DESIGN §1a).
MISSED_FULFILMENT = "missed_fulfilment"


def register(handlers: Handlers, *, policy: Policy) -> None:
    rules = policy.penalties

    def on_decided(session: Session, event: DisputeDecided) -> None:
        # The first ruling executes at once; finality and an upheld appeal change nothing here.
        if event.final or event.violation is None:
            return
        ledger.record_violation(
            session,
            seller_id=event.seller_id,
            kind=event.violation,
            source=FROM_RULING,
            actor_id=event.arbitrator_id,
            policy=rules,
            at=event.at,
            dispute_id=event.dispute_id,
            decision_id=event.decision_id,
        )

    def on_overturned(session: Session, event: DecisionOverturned) -> None:
        overturned = session.scalars(
            select(Violation).where(Violation.decision_id == event.overturned_decision_id)
        ).all()
        for violation in overturned:
            ledger.revoke_violation(
                session,
                violation=violation,
                reason="the ruling that named it was overturned on appeal",
                actor_id="system",
                policy=rules,
                at=event.at,
            )
        if event.violation is not None:
            ledger.record_violation(
                session,
                seller_id=event.seller_id,
                kind=event.violation,
                source=FROM_RULING,
                actor_id="system",
                policy=rules,
                at=event.at,
                dispute_id=event.dispute_id,
                decision_id=event.decision_id,
            )

    def on_closed(session: Session, event: DisputeClosed) -> None:
        if event.outcome == "settled" and _was_rejected(session, event.dispute_id):
            warn(
                session,
                seller_id=event.seller_id,
                reason="settled the request after rejecting it",
                dispute_id=event.dispute_id,
                policy=rules,
                at=event.at,
            )

    def on_fulfilment_lapsed(session: Session, event: FulfilmentLapsed) -> None:
        warn(
            session,
            seller_id=event.seller_id,
            reason=f"let the deadline to send the {event.remedy} pass; the buyer was refunded",
            dispute_id=event.dispute_id,
            policy=rules,
            at=event.at,
        )
        if MISSED_FULFILMENT in rules.violations:
            ledger.record_violation(
                session,
                seller_id=event.seller_id,
                kind=MISSED_FULFILMENT,
                source=FROM_SYSTEM,
                actor_id=ledger.SYSTEM,
                policy=rules,
                at=event.at,
                dispute_id=event.dispute_id,
            )

    def on_expiry(session: Session, deadline: Deadline, _policy: Policy, at: datetime) -> None:
        penalty = session.get(Penalty, deadline.subject_id)
        if penalty is None or penalty.status != ACTIVE or penalty.ends_at is None:
            return
        standing = ledger.lock_standing(session, seller_id=penalty.seller_id, policy=rules, at=at)
        ledger.end(session, penalty, status=EXPIRED, at=at)
        chain.append(
            session,
            standing=standing,
            actor_id=ledger.SYSTEM,
            action="penalty-expired",
            payload={"penalty_id": penalty.id, "kind": penalty.kind},
            at=at,
        )

    handlers.on(DisputeDecided, on_decided)
    handlers.on(DecisionOverturned, on_overturned)
    handlers.on(DisputeClosed, on_closed)
    handlers.on(FulfilmentLapsed, on_fulfilment_lapsed)
    handlers.on_deadline(ledger.PENALTY_EXPIRE, on_expiry)


def _was_rejected(session: Session, dispute_id: str) -> bool:
    return bool(
        session.scalar(
            select(exists().where(Event.dispute_id == dispute_id, Event.action == "reject"))
        )
    )


def warn(
    session: Session,
    *,
    seller_id: str,
    reason: str,
    dispute_id: str | None,
    policy: PenaltyPolicy,
    at: datetime,
) -> Penalty:
    """A warning with no points: on the record, restricting nothing (DESIGN §5)."""
    standing = ledger.lock_standing(session, seller_id=seller_id, policy=policy, at=at)
    penalty = Penalty(
        id=new_id("pen", at),
        seller_id=seller_id,
        kind="warning",
        status=ACTIVE,
        violation_ids=[],
        reason=reason + (f" (dispute {dispute_id})" if dispute_id else ""),
        rules_version=policy.version,
        created_at=at,
        starts_at=at,
    )
    session.add(penalty)
    session.flush()
    ledger.announce_applied(session, penalty, at=at)
    chain.append(
        session,
        standing=standing,
        actor_id=ledger.SYSTEM,
        action="warning-given",
        payload={"penalty_id": penalty.id, "reason": penalty.reason, "dispute_id": dispute_id},
        at=at,
    )
    return penalty
