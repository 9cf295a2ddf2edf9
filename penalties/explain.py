"""Every penalty explains itself to the seller (DESIGN §5): the violations behind it, the threshold
crossed, what is restricted and until when, and how to appeal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.audit import canonical_time
from penalties.models import ACTIVE, PENDING_REVIEW, Penalty, Violation

# What each kind of penalty takes away from the seller, in words.
RESTRICTS = {
    "warning": "nothing: a warning on the record",
    "public_warning": "nothing: a warning shown publicly",
    "listing_restriction": "new listings",
    "search_shielding": "appearing in search",
    "account_freeze": "selling and listing",
    "permanent_ban": "the account",
}
APPEAL_PATH = "/v1/penalties/{id}/appeal"


def in_force(penalty: Penalty, at: datetime) -> bool:
    """Active and not yet past its end: exact even before the expiry sweep has run."""
    return penalty.status == ACTIVE and (penalty.ends_at is None or penalty.ends_at > at)


def appeal_deadline(penalty: Penalty, window: timedelta) -> datetime:
    return penalty.created_at + window


def may_still_appeal(penalty: Penalty, window: timedelta, at: datetime) -> bool:
    return (
        penalty.appeal_status is None
        and penalty.status in (PENDING_REVIEW, ACTIVE)
        and at <= appeal_deadline(penalty, window)
    )


def violations_behind(session: Session, penalties: Iterable[Penalty]) -> dict[str, Violation]:
    """The violations the penalties name, in one query by primary key."""
    ids = {violation_id for penalty in penalties for violation_id in penalty.violation_ids}
    if not ids:
        return {}
    return {v.id: v for v in session.scalars(select(Violation).where(Violation.id.in_(ids)))}


def explain(
    penalty: Penalty, violations: dict[str, Violation], *, window: timedelta, at: datetime
) -> dict[str, Any]:
    """The explanation of one penalty, as the API shows it."""
    behind = [violations[i] for i in penalty.violation_ids if i in violations]
    threshold = (
        {
            "ledger": penalty.ledger,
            "points": penalty.threshold,
            "points_at_crossing": penalty.points_at_crossing,
        }
        if penalty.threshold is not None
        else None
    )
    deadline = appeal_deadline(penalty, window)
    open_ = may_still_appeal(penalty, window, at)
    appeal = {
        "available": open_,
        "method": "POST",
        "path": APPEAL_PATH.format(id=penalty.id),
        "before": deadline,
        "status": penalty.appeal_status,
    }
    return {
        "summary": _summary(penalty, behind, threshold, deadline, open_),
        "violations": [
            {
                "id": v.id,
                "kind": v.kind,
                "ledger": v.ledger,
                "points": v.points,
                "dispute_id": v.dispute_id,
                "status": v.status,
            }
            for v in behind
        ],
        "threshold": threshold,
        "restricts": RESTRICTS.get(penalty.kind, penalty.kind.replace("_", " ")),
        "until": penalty.ends_at,
        "appeal": appeal,
    }


def _summary(
    penalty: Penalty,
    behind: list[Violation],
    threshold: dict[str, Any] | None,
    deadline: datetime,
    appeal_open: bool,
) -> str:
    name = penalty.kind.replace("_", " ").capitalize()
    restricts = RESTRICTS.get(penalty.kind, penalty.kind)
    if penalty.status == PENDING_REVIEW:
        when = "awaits review by trust & safety before it applies"
    elif penalty.ends_at is not None:
        when = f"until {canonical_time(penalty.ends_at)}"
    elif penalty.kind in ("warning", "public_warning"):
        when = "on the record"
    else:
        when = "with no end date"
    parts = [f"{name} ({penalty.status}): restricts {restricts}, {when}."]
    if threshold is not None:
        kinds = ", ".join(f"{v.kind} ({v.id})" for v in behind) or "none still recorded"
        parts.append(
            f"Your {threshold['ledger']} ledger reached {threshold['points_at_crossing']} points, "
            f"crossing the {threshold['points']}-point threshold; the violations counted: {kinds}."
        )
    else:
        parts.append(f"Why: {penalty.reason}.")
    if appeal_open:
        parts.append(
            f"Appeal with POST {APPEAL_PATH.format(id=penalty.id)} "
            f"before {canonical_time(deadline)}."
        )
    elif penalty.appeal_status is not None:
        parts.append(f"The appeal was used ({penalty.appeal_status}).")
    else:
        parts.append("It can no longer be appealed.")
    return " ".join(parts)
