"""Trust & safety's pages: penalties waiting for review (approve, shorten, reject), penalty
appeals, a seller's page (standing, violations, points over time), and systemic batches."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.charts import Chart, Rule, Series, line_chart
from api.console.web import (
    TRUST,
    attempt,
    blp,
    done,
    field_errors,
    for_roles,
    form_values,
    load,
    now,
    page,
    read,
    refusal_message,
    staff,
)
from api.console.words import label
from api.context import services
from api.schemas.penalties import ApproveIn, PenaltyAppealDecisionIn, RejectIn
from arbitration.accounts import Caller
from arbitration.errors import Forbidden
from arbitration.models import Dispute, DisputeItem
from penalties import browse, review
from penalties import standing as seller_standing
from penalties.explain import explain, violations_behind
from penalties.history import points_over_time
from penalties.models import PENDING_REVIEW, Penalty
from penalties.review import APPEAL_PENDING

SECONDS_PER_DAY = 24 * 3600


def _explained(db: Session, penalties: list[Penalty]) -> list[tuple[Penalty, dict[str, Any]]]:
    behind = violations_behind(db, penalties)
    window = services().policy.deadlines.penalty_appeal_window
    return [(p, explain(p, behind, window=window, at=now(), gettext=gettext)) for p in penalties]


@dataclass
class ReviewDesk:
    pending: list[tuple[Penalty, dict[str, Any]]]
    appeals: list[tuple[Penalty, dict[str, Any]]]


def review_desk(db: Session, who: Caller) -> ReviewDesk:
    pending = browse.list_penalties(
        db, caller=who, filters=browse.PenaltyFilters(status=PENDING_REVIEW), limit=200
    ).penalties
    if not browse.oversees(who):
        raise Forbidden("penalties are for trust & safety")
    appeals = list(
        db.scalars(
            select(Penalty)
            .where(Penalty.appeal_status == APPEAL_PENDING)
            .order_by(Penalty.appealed_at, Penalty.id)
            .limit(200)
        )
    )
    return ReviewDesk(_explained(db, list(pending)), _explained(db, appeals))


def _desk_page(
    *,
    form: str | None = None,
    values: dict[str, Any] | None = None,
    errors: Any = None,
    refusal: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    who = staff()
    return page(
        "penalties.html",
        status,
        desk=read(lambda db: review_desk(db, who)),
        form=form,
        values=values or {},
        errors=errors or {},
        refusal=refusal,
        at=now(),
    )


@blp.get("/penalties")
@for_roles(TRUST)
def pending_penalties() -> ResponseReturnValue:
    return _desk_page()


REVIEWS = {
    "approve": (ApproveIn, ("duration_days", "note")),
    "reject": (RejectIn, ("note",)),
    "appeal-decision": (PenaltyAppealDecisionIn, ("result", "rationale")),
}


@blp.post("/penalties/<penalty_id>/<decision>")
@for_roles(TRUST)
def review_penalty(penalty_id: str, decision: str) -> ResponseReturnValue:
    """Approve (as proposed or shorter), reject, or rule on an appeal, through ``penalties.review``."""
    if decision not in REVIEWS:
        return page("not_found.html", 404, path=request.path)
    who = staff()
    schema, names = REVIEWS[decision]
    values = form_values(request.form, names)
    data = dict(values)
    form_key = f"{decision}:{penalty_id}"
    days = data.pop("duration_days", None)
    if days is not None:
        try:
            data["duration_seconds"] = round(float(days) * SECONDS_PER_DAY)
        except ValueError:
            errors = {"duration_days": [gettext("a number of days")]}
            return _desk_page(form=form_key, values=values, errors=errors, status=422)
    params, errors = load(schema(), data)
    if "duration_seconds" in errors:
        errors["duration_days"] = errors.pop("duration_seconds")
    if errors:
        return _desk_page(form=form_key, values=values, errors=errors, status=422)
    common: dict[str, Any] = {
        "caller": who,
        "penalty_id": penalty_id,
        "policy": services().policy,
        "at": now(),
    }

    def work(db: Session) -> Penalty:
        if decision == "approve":
            seconds = params.get("duration_seconds")
            duration = timedelta(seconds=seconds) if seconds is not None else None
            return review.approve(db, duration=duration, note=params.get("note"), **common)
        if decision == "reject":
            return review.reject(db, note=params["note"], **common)
        return review.appeal_decision(
            db, result=params["result"], rationale=params["rationale"], **common
        )

    penalty, refusal = attempt(work)
    if refusal is not None:
        errors = field_errors(refusal.details)
        if "duration_seconds" in errors:
            errors["duration_days"] = errors.pop("duration_seconds")
        return _desk_page(
            form=form_key,
            values=values,
            errors=errors,
            refusal=refusal_message(refusal),
            status=422 if refusal.code == "validation_failed" else 409,
        )
    return done(
        gettext("Penalty %(id)s: %(status)s.", id=penalty.id, status=label(penalty.status)),
        "console.seller_page",
        seller_id=penalty.seller_id,
    )


# A seller's page --------------------------------------------------------------------------------


@dataclass
class SellerFile:
    seller_id: str
    found: seller_standing.Standing
    active: list[tuple[Penalty, dict[str, Any]]]
    pending: list[tuple[Penalty, dict[str, Any]]]
    violations: list[Any]
    chart: Markup


def seller_file(db: Session, who: Caller, seller_id: str) -> SellerFile:
    policy = services().policy
    at = now()
    found = seller_standing.standing(db, caller=who, seller_id=seller_id, policy=policy, at=at)
    history = seller_standing.violations(db, caller=who, seller_id=seller_id, limit=200)
    series = points_over_time(db, caller=who, seller_id=seller_id, policy=policy.penalties, at=at)
    return SellerFile(
        seller_id=seller_id,
        found=found,
        active=_explained(db, found.active_penalties),
        pending=_explained(db, found.pending_review),
        violations=history.violations,
        chart=Markup(_points_chart(series)),
    )


def _points_chart(series: list[Any]) -> str:
    """Each ledger's points as steps, with every threshold of the ladder drawn across."""
    ledgers_at: dict[int, list[str]] = defaultdict(list)
    for name, steps in services().policy.penalties.ladder.items():
        for step in steps:
            ledgers_at[step.points].append(label(name))
    rules = [
        Rule(
            points,
            f"{points}: {', '.join(names)}",
            color="#f87171" if len(names) > 1 else "#9ca3af",
        )
        for points, names in sorted(ledgers_at.items())
    ]
    one_day = len({point.at.date() for point in series}) == 1
    return line_chart(
        Chart(
            title=gettext("Points over time, with the ladder's thresholds"),
            x_labels=[point.at.strftime("%H:%M" if one_day else "%m-%d") for point in series],
            series=[
                Series(label("general"), [p.points["general"] for p in series], step=True),
                Series(label("severe"), [p.points["severe"] for p in series], "#dc2626", True),
            ],
            y_label=gettext("points"),
            rules=rules,
            # One more step above the top threshold, so every threshold is a tick.
            y_max=max([r.value for r in rules] or [10]) * 1.25,
        )
    )


@blp.get("/sellers/<seller_id>")
@for_roles(TRUST)
def seller_page(seller_id: str) -> ResponseReturnValue:
    who = staff()
    return page("seller.html", seller=read(lambda db: seller_file(db, who, seller_id)), at=now())


@blp.get("/sellers")
@for_roles(TRUST)
def find_seller() -> ResponseReturnValue:
    from flask import redirect, url_for

    seller_id = request.args.get("seller_id", "").strip()
    if not seller_id:
        return page(
            "message.html",
            422,
            title=gettext("Which seller?"),
            message=gettext("Type a seller id."),
            detail=None,
        )
    return redirect(url_for("console.seller_page", seller_id=seller_id))


# Systemic batches -------------------------------------------------------------------------------


@dataclass
class Batch:
    listing_id: str
    seller_id: str
    disputes: list[Dispute]


def systemic_batches(db: Session, who: Caller) -> list[Batch]:
    """Open disputes flagged systemic at filing (``filing._flag_batches``), grouped by listing."""
    if not browse.oversees(who):
        raise Forbidden("batches are for trust & safety")
    rows = db.execute(
        select(Dispute, DisputeItem.listing_id)
        .join(DisputeItem, DisputeItem.dispute_id == Dispute.id)
        .where(Dispute.systemic.is_(True), Dispute.closed_at.is_(None))
        .order_by(Dispute.created_at.desc())
        .limit(500)
    ).all()
    grouped: dict[tuple[str, str], list[Dispute]] = defaultdict(list)
    for dispute, listing_id in rows:
        grouped[(listing_id, dispute.seller_id)].append(dispute)
    return [
        Batch(listing, seller, cases)
        for (listing, seller), cases in sorted(grouped.items(), key=lambda kv: -len(kv[1]))
    ]


@blp.get("/batches")
@for_roles(TRUST)
def batches_page() -> ResponseReturnValue:
    who = staff()
    return page("batches.html", batches=read(lambda db: systemic_batches(db, who)), at=now())
