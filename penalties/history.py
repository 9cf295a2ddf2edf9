"""A seller's points over time (for the staff console's chart): each ledger's total after every
violation recorded or revoked, counted the way the ledger counts them (``ledger.ledger_points``):
the calendar year's period, or the rolling window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.accounts import Caller
from arbitration.policy import PenaltyPolicy
from penalties.ledger import period_of
from penalties.models import Violation
from penalties.standing import _require_visible

LEDGERS = ("general", "severe")
MAX_VIOLATIONS = 2000  # a chart of more than this many steps says nothing more


@dataclass(frozen=True)
class PointsAt:
    at: datetime
    points: dict[str, int]


def points_over_time(
    session: Session, *, caller: Caller, seller_id: str, policy: PenaltyPolicy, at: datetime
) -> list[PointsAt]:
    """The totals after each change, oldest first, ending with the totals ``at`` now."""
    _require_visible(session, caller, seller_id)
    found = list(
        session.scalars(
            select(Violation)
            .where(Violation.seller_id == seller_id)
            .order_by(Violation.recorded_at.desc(), Violation.id.desc())
            .limit(MAX_VIOLATIONS)
        )
    )
    moments = sorted(
        {v.recorded_at for v in found} | {v.revoked_at for v in found if v.revoked_at} | {at}
    )
    return [PointsAt(moment, _totals(found, moment, policy)) for moment in moments if moment <= at]


def _totals(violations: list[Violation], moment: datetime, policy: PenaltyPolicy) -> dict[str, int]:
    totals = dict.fromkeys(LEDGERS, 0)
    for violation in violations:
        standing = violation.recorded_at <= moment and (
            violation.revoked_at is None or violation.revoked_at > moment
        )
        if not standing:
            continue
        if policy.points_window == "calendar_year":
            counts = violation.period == period_of(moment, policy)
        else:
            counts = violation.recorded_at > moment - policy.rolling_window
        if counts:
            totals[violation.ledger] = totals.get(violation.ledger, 0) + violation.points
    return totals
