"""The senior arbitrator's page: appeals to hear (the first ruling beside the appeal), urgent
cases, and cases past twice their SLA; reassigning is a form on the case page."""

from __future__ import annotations

from dataclasses import dataclass

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.console.web import SENIORS, blp, for_roles, now, page, read, staff
from arbitration import audit, lifecycle, queue
from arbitration.accounts import Caller
from arbitration.models import Decision, Dispute


@dataclass
class Appeal:
    dispute: Dispute
    ruling: Decision | None
    reason: str | None


@dataclass
class SeniorDesk:
    appeals: list[Appeal]
    urgent: list[Dispute]
    overdue: list[Dispute]


def senior_desk(db: Session, who: Caller) -> SeniorDesk:
    cases = queue.list_queue(db, caller=who, filters=queue.QueueFilters(view="senior"), limit=200)
    appeals = []
    for case in cases:
        if case.status != lifecycle.UNDER_APPEAL:
            continue
        events = audit.timeline(db, case.id)
        reason = next(
            (e.payload.get("reason") for e in reversed(events) if e.action == "appeal"), None
        )
        ruling = db.get(Decision, case.decision_id) if case.decision_id else None
        appeals.append(Appeal(case, ruling, reason))
    others = [case for case in cases if case.status != lifecycle.UNDER_APPEAL]
    return SeniorDesk(
        appeals=appeals,
        urgent=[case for case in others if case.priority == "urgent"],
        overdue=[case for case in others if case.senior_escalated_at is not None],
    )


@blp.get("/senior")
@for_roles(SENIORS)
def senior_page() -> ResponseReturnValue:
    who = staff()
    return page("senior.html", desk=read(lambda db: senior_desk(db, who)), at=now())
