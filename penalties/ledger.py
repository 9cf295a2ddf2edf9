"""The violation ledger and the ladder (DESIGN §5): points in, penalties out, each crossing once.

Every change to a seller's ledger first locks their ``SellerStanding`` row, so concurrent rulings
against one seller apply the ladder one after the other; the ``LadderCrossing`` primary key is the
last line of defence behind "each crossing once". Points count within the calendar year (the
standing row's ``period``; a new year starts from zero) or, with ``points_window = "rolling"``,
over the policy's rolling window, summed over an index.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from arbitration.db import execute_core
from arbitration.deadlines import CANCELLED, PENDING
from arbitration.events import record
from arbitration.ids import new_id
from arbitration.models import Deadline
from arbitration.policy import LadderStep, PenaltyPolicy
from arbitration.rows import Rows, as_loaded, loaded
from arbitration.statements import prepared
from penalties import chain
from penalties.events import PenaltyApplied, PenaltyLifted
from penalties.models import (
    ACTIVE,
    EXPIRED,
    PENDING_REVIEW,
    REVOKED,
    LadderCrossing,
    Penalty,
    SellerStanding,
    Violation,
)

PENALTY_EXPIRE = "penalty-expire"
SYSTEM = "system"


def _ensure_standing(insert: Any) -> Any:
    """A seller's standing row, zeroed, unless it exists (each dialect says so its own way)."""
    return (
        insert(SellerStanding)
        .values(
            seller_id=bindparam("seller"),
            period=bindparam("in_period"),
            general_points=0,
            severe_points=0,
            event_count=0,
            last_event_hash="0" * 64,
            updated_at=bindparam("at"),
        )
        .on_conflict_do_nothing(index_elements=["seller_id"])
    )


# Built once per dialect: building a statement costs more than running it.
_ENSURE_STANDING_POSTGRESQL = prepared(_ensure_standing(postgresql_insert))
_ENSURE_STANDING_SQLITE = prepared(_ensure_standing(sqlite_insert))
_VIOLATIONS = Rows(Violation)
_STANDINGS = Rows(SellerStanding)
_STANDING_COLUMNS = tuple(column.key for column in SellerStanding.__table__.columns)
# The standing row, locked (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the writer lock),
# read as plain values: the ORM's ``get`` costs four times the statement.
_LOCK_STANDING = prepared(
    select(*SellerStanding.__table__.columns)
    .where(SellerStanding.seller_id == bindparam("seller"))
    .with_for_update()
)
_CROSSED = prepared(
    select(LadderCrossing.points).where(
        LadderCrossing.seller_id == bindparam("seller"),
        LadderCrossing.ledger == bindparam("on_ledger"),
        LadderCrossing.period == bindparam("in_period"),
    )
)


def period_of(at: datetime, policy: PenaltyPolicy) -> str:
    return str(at.year) if policy.points_window == "calendar_year" else "rolling"


def lock_standing(
    session: Session, *, seller_id: str, policy: PenaltyPolicy, at: datetime
) -> SellerStanding:
    """The seller's standing row, created if new and locked; a new calendar year starts at zero.

    The session's copy is the row as locked: made from it, or refreshed with it (its own changes
    were written first, by the flush before the insert).
    """
    period = period_of(at, policy)
    execute_core(
        session,
        _ENSURE_STANDING_POSTGRESQL
        if session.get_bind().dialect.name == "postgresql"
        else _ENSURE_STANDING_SQLITE,
        {"seller": seller_id, "in_period": period, "at": at},
    )
    values = execute_core(session, _LOCK_STANDING, {"seller": seller_id}, flush=False).one()
    standing = loaded(session, SellerStanding, seller_id)
    if standing is None:
        standing = _STANDINGS.new(**dict(zip(_STANDING_COLUMNS, values, strict=True)))
        as_loaded(session, standing)
    else:
        for key, value in zip(_STANDING_COLUMNS, values, strict=True):
            set_committed_value(standing, key, value)
    if standing.period != period:
        standing.period, standing.general_points, standing.severe_points = period, 0, 0
    return standing


def ledger_points(
    session: Session, standing: SellerStanding, ledger: str, policy: PenaltyPolicy, at: datetime
) -> int:
    """The points that count now on ``ledger``: a kept total, or a sum over the rolling window."""
    if policy.points_window == "calendar_year":
        if standing.period != period_of(at, policy):
            return 0
        return standing.general_points if ledger == "general" else standing.severe_points
    since = at - policy.rolling_window
    total = session.scalar(
        select(func.coalesce(func.sum(Violation.points), 0)).where(
            Violation.seller_id == standing.seller_id,
            Violation.ledger == ledger,
            Violation.status == ACTIVE,
            Violation.recorded_at > since,
        )
    )
    return int(total or 0)


def _add_points(standing: SellerStanding, ledger: str, points: int) -> None:
    if ledger == "general":
        standing.general_points += points
    else:
        standing.severe_points += points


# Violations -----------------------------------------------------------------------------------


def record_violation(
    session: Session,
    *,
    seller_id: str,
    kind: str,
    source: str,
    actor_id: str,
    policy: PenaltyPolicy,
    at: datetime,
    dispute_id: str | None = None,
    decision_id: str | None = None,
) -> Violation:
    """Put a confirmed violation on the seller's ledger and apply the ladder."""
    rule = policy.violations[kind]
    standing = lock_standing(session, seller_id=seller_id, policy=policy, at=at)
    violation = _VIOLATIONS.new(
        id=new_id("vio", at),
        seller_id=seller_id,
        kind=kind,
        ledger=rule.ledger,
        points=rule.points,
        period=standing.period,
        source=source,
        dispute_id=dispute_id,
        decision_id=decision_id,
        recorded_by=actor_id,
        rules_version=policy.version,
        status=ACTIVE,
        recorded_at=at,
    )
    _VIOLATIONS.insert(session, violation)  # a plain row: it refers to no other row
    _add_points(standing, rule.ledger, rule.points)
    standing.updated_at = at
    # The standing row's points and its chain's head are written together, by the next flush.
    chain.append(
        session,
        standing=standing,
        actor_id=actor_id,
        action="violation-recorded",
        payload={
            "violation_id": violation.id,
            "kind": kind,
            "ledger": rule.ledger,
            "points": rule.points,
            "dispute_id": dispute_id,
            "decision_id": decision_id,
            "rules_version": policy.version,
        },
        at=at,
    )
    apply_ladder(session, standing=standing, ledger=rule.ledger, policy=policy, at=at)
    return violation


def revoke_violation(
    session: Session,
    *,
    violation: Violation,
    reason: str,
    actor_id: str,
    policy: PenaltyPolicy,
    at: datetime,
) -> None:
    """Take a violation off the ledger and undo what only it made: the ladder is recomputed."""
    if violation.status != ACTIVE:
        return
    standing = lock_standing(session, seller_id=violation.seller_id, policy=policy, at=at)
    violation.status, violation.revoked_at, violation.revoked_reason = REVOKED, at, reason
    if violation.period == standing.period:
        _add_points(standing, violation.ledger, -violation.points)
    standing.updated_at = at
    chain.append(
        session,
        standing=standing,
        actor_id=actor_id,
        action="violation-revoked",
        payload={"violation_id": violation.id, "points": violation.points, "reason": reason},
        at=at,
    )
    apply_ladder(session, standing=standing, ledger=violation.ledger, policy=policy, at=at)


# The ladder -----------------------------------------------------------------------------------


def apply_ladder(
    session: Session, *, standing: SellerStanding, ledger: str, policy: PenaltyPolicy, at: datetime
) -> list[Penalty]:
    """Cross each threshold the total has reached (once), and undo crossings it has fallen below."""
    total = ledger_points(session, standing, ledger, policy, at)
    crossed = set(
        execute_core(
            session,
            _CROSSED,
            {"seller": standing.seller_id, "on_ledger": ledger, "in_period": standing.period},
        ).scalars()
    )
    made: list[Penalty] = []
    for step in policy.ladder[ledger]:
        if step.points <= total and step.points not in crossed:
            made += _cross(session, standing, ledger, step, total, policy, at)
        elif step.points > total and step.points in crossed:
            _uncross(session, standing, ledger, step.points, at)
    return made


def _cross(
    session: Session,
    standing: SellerStanding,
    ledger: str,
    step: LadderStep,
    total: int,
    policy: PenaltyPolicy,
    at: datetime,
) -> list[Penalty]:
    session.add(
        LadderCrossing(
            seller_id=standing.seller_id,
            ledger=ledger,
            period=standing.period,
            points=step.points,
            crossed_at=at,
        )
    )
    counted = list(
        session.scalars(
            select(Violation.id)
            .where(
                Violation.seller_id == standing.seller_id,
                Violation.ledger == ledger,
                Violation.status == ACTIVE,
                _in_window(standing, policy, at),
            )
            .order_by(Violation.recorded_at, Violation.id)
        )
    )
    made = []
    for ladder_penalty in step.penalties:
        duration = ladder_penalty.duration
        penalty = Penalty(
            id=new_id("pen", at),
            seller_id=standing.seller_id,
            kind=ladder_penalty.kind,
            status=PENDING_REVIEW if ladder_penalty.kind in policy.review_required else ACTIVE,
            ledger=ledger,
            threshold=step.points,
            period=standing.period,
            points_at_crossing=total,
            violation_ids=counted,
            reason=f"the {ledger} ledger reached {total} points (threshold {step.points})",
            rules_version=policy.version,
            duration_seconds=int(duration.total_seconds()) if duration else None,
            created_at=at,
        )
        session.add(penalty)
        if penalty.status == ACTIVE:
            start(session, penalty, at=at)
        made.append(penalty)
    session.flush()
    chain.append(
        session,
        standing=standing,
        actor_id=SYSTEM,
        action="threshold-crossed",
        payload={
            "ledger": ledger,
            "threshold": step.points,
            "points": total,
            "penalties": [{"id": p.id, "kind": p.kind, "status": p.status} for p in made],
            "rules_version": policy.version,
        },
        at=at,
    )
    return made


def _in_window(standing: SellerStanding, policy: PenaltyPolicy, at: datetime):  # type: ignore[no-untyped-def]
    if policy.points_window == "calendar_year":
        return Violation.period == standing.period
    return Violation.recorded_at > at - policy.rolling_window


def _uncross(
    session: Session, standing: SellerStanding, ledger: str, points: int, at: datetime
) -> None:
    """The total fell back below a threshold: its crossing and what it imposed are undone."""
    session.execute(
        delete(LadderCrossing).where(
            LadderCrossing.seller_id == standing.seller_id,
            LadderCrossing.ledger == ledger,
            LadderCrossing.period == standing.period,
            LadderCrossing.points == points,
        )
    )
    caused = session.scalars(
        select(Penalty).where(
            Penalty.seller_id == standing.seller_id,
            Penalty.ledger == ledger,
            Penalty.period == standing.period,
            Penalty.threshold == points,
            Penalty.status.in_((PENDING_REVIEW, ACTIVE)),
        )
    ).all()
    for penalty in caused:
        end(session, penalty, status=REVOKED, at=at, reason="its violations were revoked")
    chain.append(
        session,
        standing=standing,
        actor_id=SYSTEM,
        action="threshold-undone",
        payload={"ledger": ledger, "threshold": points, "revoked": [p.id for p in caused]},
        at=at,
    )


# A penalty's life -----------------------------------------------------------------------------


def start(session: Session, penalty: Penalty, *, at: datetime) -> None:
    """Make a penalty active from ``at``; a timed one gets its expiry deadline."""
    penalty.status = ACTIVE
    penalty.starts_at = at
    if penalty.duration_seconds is None:
        penalty.ends_at = None
        announce_applied(session, penalty, at=at)
        return
    penalty.ends_at = at + timedelta(seconds=penalty.duration_seconds)
    announce_applied(session, penalty, at=at)
    session.add(
        Deadline(
            dispute_id=None,
            subject_id=penalty.id,
            action=PENALTY_EXPIRE,
            party=None,
            due_at=penalty.ends_at,
            status=PENDING,
            created_at=at,
            attempts=0,
        )
    )


def end(
    session: Session, penalty: Penalty, *, status: str, at: datetime, reason: str | None = None
) -> None:
    """Expire, revoke or reject a penalty, and stop its expiry deadline if it has one."""
    was_in_force = penalty.status == ACTIVE
    penalty.status = status
    if was_in_force:
        record(
            session,
            PenaltyLifted(
                dispute_id=_dispute_of(session, penalty),
                at=at,
                penalty_id=penalty.id,
                seller_id=penalty.seller_id,
                kind=penalty.kind,
                status=status,
            ),
        )
    if status == REVOKED:
        penalty.revoked_at, penalty.revoked_reason = at, reason
    if status != EXPIRED:
        session.execute(
            update(Deadline)
            .where(
                and_(
                    Deadline.subject_id == penalty.id,
                    Deadline.action == PENALTY_EXPIRE,
                    Deadline.status == PENDING,
                )
            )
            .values(status=CANCELLED, settled_at=at)
            .execution_options(synchronize_session=False)
        )


def announce_applied(session: Session, penalty: Penalty, *, at: datetime) -> None:
    """Tell the satellites' handlers (the webhook outbox) that ``penalty`` is now in force."""
    record(
        session,
        PenaltyApplied(
            dispute_id=_dispute_of(session, penalty),
            at=at,
            penalty_id=penalty.id,
            seller_id=penalty.seller_id,
            kind=penalty.kind,
            reason=penalty.reason,
            starts_at=penalty.starts_at,
            ends_at=penalty.ends_at,
        ),
    )


def _dispute_of(session: Session, penalty: Penalty) -> str:
    """The dispute whose ruling triggered ``penalty`` (its last counted violation's), or ""."""
    if not penalty.violation_ids:
        return ""
    violation = session.get(Violation, penalty.violation_ids[-1])
    return (violation.dispute_id or "") if violation is not None else ""
