"""Every penalty explains itself to the seller (DESIGN §5): the violations behind it, the threshold
crossed, what is restricted and until when, and how to appeal."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.audit import canonical_time
from penalties.models import ACTIVE, PENDING_REVIEW, Penalty, Violation

Translate = Callable[[str], str]


def _english(text: str) -> str:
    return text


def _(text: str) -> str:
    """Marks a message for translation (``pybabel extract``); the caller's ``gettext`` translates."""
    return text


# What each kind of penalty takes away from the seller, in words.
RESTRICTS = {
    "warning": _("nothing: a warning on the record"),
    "public_warning": _("nothing: a warning shown publicly"),
    "listing_restriction": _("new listings"),
    "search_shielding": _("appearing in search"),
    "account_freeze": _("selling and listing"),
    "permanent_ban": _("the account"),
}
APPEAL_PATH = "/v1/penalties/{id}/appeal"


def in_force(penalty: Penalty, at: datetime) -> bool:
    """Active and not yet past its end: exact even before the expiry sweep has run."""
    return is_in_force(penalty.status, penalty.ends_at, at)


def is_in_force(status: str, ends_at: datetime | None, at: datetime) -> bool:
    """``in_force`` on a penalty's status and end as read without loading the penalty."""
    return status == ACTIVE and (ends_at is None or ends_at > at)


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
    penalty: Penalty,
    violations: dict[str, Violation],
    *,
    window: timedelta,
    at: datetime,
    gettext: Translate = _english,
) -> dict[str, Any]:
    """The explanation of one penalty, as the API shows it, in the language ``gettext`` speaks."""
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
        "summary": _summary(penalty, behind, threshold, deadline, open_, gettext),
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
        "restricts": _restricts(penalty.kind, gettext),
        "until": penalty.ends_at,
        "appeal": appeal,
    }


def _restricts(kind: str, gettext: Translate) -> str:
    return gettext(RESTRICTS[kind]) if kind in RESTRICTS else kind.replace("_", " ")


def _summary(
    penalty: Penalty,
    behind: list[Violation],
    threshold: dict[str, Any] | None,
    deadline: datetime,
    appeal_open: bool,
    gettext: Translate,
) -> str:
    name = gettext(PENALTY_NAMES.get(penalty.kind, penalty.kind.replace("_", " ").capitalize()))
    status = gettext(penalty.status)
    restricts = _restricts(penalty.kind, gettext)
    if penalty.status == PENDING_REVIEW:
        when = gettext("awaits review by trust & safety before it applies")
    elif penalty.ends_at is not None:
        when = gettext("until %(time)s") % {"time": canonical_time(penalty.ends_at)}
    elif penalty.kind in ("warning", "public_warning"):
        when = gettext("on the record")
    else:
        when = gettext("with no end date")
    parts = [
        gettext("%(name)s (%(status)s): restricts %(restricts)s, %(when)s.")
        % {"name": name, "status": status, "restricts": restricts, "when": when}
    ]
    if threshold is not None:
        kinds = ", ".join(f"{v.kind} ({v.id})" for v in behind) or gettext("none still recorded")
        parts.append(
            gettext(
                "Your %(ledger)s ledger reached %(reached)s points, crossing the "
                "%(threshold)s-point threshold; the violations counted: %(kinds)s."
            )
            % {
                "ledger": gettext(threshold["ledger"]),
                "reached": threshold["points_at_crossing"],
                "threshold": threshold["points"],
                "kinds": kinds,
            }
        )
    else:
        parts.append(gettext("Why: %(reason)s.") % {"reason": penalty.reason})
    if appeal_open:
        parts.append(
            gettext("Appeal with POST %(path)s before %(time)s.")
            % {"path": APPEAL_PATH.format(id=penalty.id), "time": canonical_time(deadline)}
        )
    elif penalty.appeal_status is not None:
        parts.append(
            gettext("The appeal was used (%(status)s).")
            % {"status": gettext(penalty.appeal_status)}
        )
    else:
        parts.append(gettext("It can no longer be appealed."))
    return " ".join(parts)


# Penalty kinds and statuses by name, so the catalogue has them to translate.
PENALTY_NAMES = {
    "warning": _("Warning"),
    "public_warning": _("Public warning"),
    "listing_restriction": _("Listing restriction"),
    "search_shielding": _("Search shielding"),
    "account_freeze": _("Account freeze"),
    "permanent_ban": _("Permanent ban"),
}
STATUS_NAMES = (
    _("pending_review"),
    _("active"),
    _("expired"),
    _("revoked"),
    _("rejected"),
    _("pending"),
    _("granted"),
    _("upheld"),
    _("general"),
    _("severe"),
)
