"""The arbitrator's pages: the queue with "take next", the case page, and the case's forms.

Every action goes through the one gate (``flows.act``) with the API's own input schema, so a
ruling refused here is refused with the same words, beside the same fields, as over the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from marshmallow import Schema
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from api.console.web import (
    ARBITRATORS,
    SENIORS,
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
    whole_number,
)
from api.console.words import label
from api.context import services
from api.schemas.arbitration import AppealDecisionIn, DecideIn, QueueQueryIn, ReassignIn
from api.schemas.common import EmptyIn
from api.schemas.disputes import RequestInfoIn
from api.views.evidence import INLINE_TYPES, _disposition
from arbitration import audit, disputes, flows, queue
from arbitration.accounts import ARBITRATOR, SENIOR_ARBITRATOR, Caller
from arbitration.classification import PRIORITIES
from arbitration.compensations import KINDS as COMPENSATION_KINDS
from arbitration.errors import DomainError
from arbitration.models import Account, Decision, Dispute, Event, Offer, Order, OrderItem
from arbitration.policy import CATEGORIES, REASONS
from arbitration.rulings import RESPONSIBILITIES, RULING_OUTCOMES, SHIPPING_PAYERS
from evidence import service as evidence_service
from evidence.models import Evidence

QUEUE_QUERY = QueueQueryIn()
DECISION_FIELDS = (
    "outcome",
    "refund_amount",
    "return_required",
    "return_shipping_paid_by",
    "responsibility",
    "violation",
    "buyer_violation",
    "rationale",
    "compensation.kind",
    "compensation.amount",
)
# Each form the case page can post: the action, the API's schema for it, and its fields.
FORMS: dict[str, tuple[type[Schema], tuple[str, ...]]] = {
    "claim": (EmptyIn, ()),
    "decide": (DecideIn, DECISION_FIELDS),
    "request-info": (RequestInfoIn, ("party", "question")),
    "reassign": (ReassignIn, ("arbitrator_id",)),
    "appeal-decision": (AppealDecisionIn, ("result", "rationale")),
}


# The queue --------------------------------------------------------------------------------------


@blp.get("/queue")
@for_roles(ARBITRATORS)
def queue_page() -> ResponseReturnValue:
    """Cases waiting for a ruling, most pressing first, with the API's filters."""
    who = staff()
    filters = {k: v for k, v in request.args.items() if v and k in QUEUE_QUERY.fields}
    query, errors = load(QUEUE_QUERY, filters)
    cases: list[Dispute] = []
    if not errors:
        limit = query.pop("limit")
        cases = read(
            lambda db: queue.list_queue(
                db, caller=who, filters=queue.QueueFilters(**query), limit=limit
            )
        )
    return page(
        "queue.html",
        422 if errors else 200,
        cases=cases,
        filters=filters,
        errors=errors,
        at=now(),
        choices={
            "assigned": queue.ASSIGNMENTS,
            "priority": PRIORITIES,
            "category": CATEGORIES,
            "reason": REASONS,
        },
    )


@blp.post("/queue/take-next")
@for_roles(ARBITRATORS)
def take_next() -> ResponseReturnValue:
    """The most pressing case this arbitrator may take becomes theirs."""
    who = staff()
    case, refusal = attempt(
        lambda db: queue.claim_next(db, caller=who, policy=services().policy, at=now()).id
    )
    if refusal is not None:
        return page(
            "message.html",
            404 if refusal.code == "not_found" else 409,
            title=gettext("Nothing to take"),
            message=refusal.message,
            detail=None,
        )
    return done(gettext("Case %(id)s is now yours.", id=case), "console.case_page", dispute_id=case)


# The case page ----------------------------------------------------------------------------------


@dataclass
class CaseFile:
    """Everything the case page shows, read in one unit of work."""

    dispute: Dispute
    order: Order
    items: list[OrderItem]
    allowed: list[str]
    timeline: list[Event]
    evidence: dict[str, list[Evidence]]
    decision: Decision | None
    first_ruling: Decision | None
    appeal_reason: str | None
    offer: Offer | None
    precedents: list[queue.Precedent]
    colleagues: list[Account]
    violations: list[str]
    buyer_violations: list[str]


def case_file(db: Session, who: Caller, dispute_id: str) -> CaseFile:
    dispute = disputes.get_dispute(db, caller=who, dispute_id=dispute_id)
    items = evidence_service.list_evidence(db, caller=who, dispute_id=dispute_id)
    by_side: dict[str, list[Evidence]] = {"buyer": [], "seller": [], "platform": []}
    for item in items:
        by_side.get(item.author_role, by_side["platform"]).append(item)
    timeline = audit.timeline(db, dispute_id)
    decision = db.get(Decision, dispute.decision_id) if dispute.decision_id else None
    first = db.get(Decision, decision.replaces_id) if decision and decision.replaces_id else None
    appeal_reason = next(
        (e.payload.get("reason") for e in reversed(timeline) if e.action == "appeal"), None
    )
    arbitrators = who.role in (ARBITRATOR, SENIOR_ARBITRATOR)
    order = db.get(Order, dispute.order_id)
    assert order is not None
    return CaseFile(
        dispute=dispute,
        order=order,
        items=list(order.items),
        allowed=disputes.allowed_actions(dispute, who),
        timeline=timeline,
        evidence=by_side,
        decision=decision,
        first_ruling=first,
        appeal_reason=appeal_reason,
        offer=db.get(Offer, dispute.pending_offer_id) if dispute.pending_offer_id else None,
        precedents=queue.precedents(db, caller=who, dispute_id=dispute_id) if arbitrators else [],
        colleagues=_colleagues(db, who),
        violations=sorted(services().policy.penalties.violations),
        buyer_violations=sorted(services().policy.buyer_abuse.violations),
    )


def _colleagues(db: Session, who: Caller) -> list[Account]:
    return list(
        db.scalars(
            select(Account)
            .where(Account.role.in_((ARBITRATOR, SENIOR_ARBITRATOR)), Account.id != who.id)
            .order_by(Account.display_name)
        )
    )


def _render_case(
    dispute_id: str,
    *,
    form: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    refusal: DomainError | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    who = staff()
    found = read(lambda db: case_file(db, who, dispute_id))
    return page(
        "case.html",
        status,
        case=found,
        at=now(),
        form=form,
        values=values or {},
        errors=errors or {},
        refusal=refusal_message(refusal) if refusal else None,
        choices={
            "outcome": RULING_OUTCOMES,
            "responsibility": RESPONSIBILITIES,
            "payer": SHIPPING_PAYERS,
            "party": ("buyer", "seller", "both"),
            "compensation": COMPENSATION_KINDS,
        },
        forms=FORMS,
    )


@blp.get("/cases/<dispute_id>")
@for_roles(ARBITRATORS)
def case_page(dispute_id: str) -> ResponseReturnValue:
    return _render_case(dispute_id)


def _params(action: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's fields as the API would receive them: (raw values shown back, loaded params)."""
    schema, names = FORMS[action]
    values = form_values(request.form, names)
    data = dict(values)
    if action == "decide":
        _decision_data(data)
    elif action == "appeal-decision":
        replacement = form_values(request.form, tuple(f"decision.{n}" for n in DECISION_FIELDS))
        values.update(replacement)
        if data.get("result") == "overturn":
            nested = {k.removeprefix("decision."): v for k, v in replacement.items()}
            _decision_data(nested)
            data["decision"] = nested
    loaded, errors = load(schema(), data)
    return values, (loaded if not errors else {"_errors": errors})


def _decision_data(data: dict[str, Any]) -> None:
    whole_number(data, "refund_amount")
    data["return_required"] = data.get("return_required") == "on"
    # A compensation added to the money: the API's nested ``{"kind", "amount"}``, given when
    # either of its two fields is filled in (the schema then asks for the other).
    compensation = {
        part: data.pop(f"compensation.{part}")
        for part in ("kind", "amount")
        if f"compensation.{part}" in data
    }
    if compensation:
        whole_number(compensation, "amount")
        data["compensation"] = compensation


@blp.post("/cases/<dispute_id>/<action>")
@for_roles(ARBITRATORS)
def act(dispute_id: str, action: str) -> ResponseReturnValue:
    """One of the case page's forms: the API's schema, then the one gate (``flows.act``)."""
    if action not in FORMS:
        return page("not_found.html", 404, path=request.path)
    who = staff()
    values, params = _params(action)
    if "_errors" in params:
        return _render_case(
            dispute_id, form=action, values=values, errors=_flat(params["_errors"]), status=422
        )
    _, refusal = attempt(
        lambda db: flows.act(
            db,
            dispute_id=dispute_id,
            action=action,
            caller=who,
            params=params,
            policy=services().policy,
            at=now(),
        )
    )
    if refusal is not None:
        status = 422 if refusal.code == "validation_failed" else 409
        return _render_case(
            dispute_id,
            form=action,
            values=values,
            errors=field_errors(refusal.details),
            refusal=refusal,
            status=status,
        )
    if action == "reassign" and who.role not in SENIORS:
        return done(gettext("Done."), "console.queue_page")
    return done(
        gettext("%(action)s: done.", action=label(action)),
        "console.case_page",
        dispute_id=dispute_id,
    )


def _flat(errors: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested schema errors (``decision: {compensation: {kind: [...]}}``) as the form names its
    fields: ``decision.compensation.kind``."""
    flat: dict[str, Any] = {}
    for name, problem in errors.items():
        if isinstance(problem, dict):
            flat.update(_flat(problem, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = problem
    return flat


# Evidence bytes ---------------------------------------------------------------------------------


@blp.get("/evidence/<evidence_id>")
@for_roles(ARBITRATORS | SENIORS)
def evidence_content(evidence_id: str) -> Response:
    """An item's bytes, checked against its SHA-256, as the API serves them (images inline)."""
    who = staff()
    item: Evidence = read(
        lambda db: evidence_service.get_evidence(db, caller=who, evidence_id=evidence_id)
    )
    content = evidence_service.verified_content(services().storage, item)
    response = send_file(content, mimetype=item.media_type, etag=item.sha256, max_age=None)
    response.headers["Content-Disposition"] = _disposition(item)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.app_template_global()
def previewable(item: Evidence) -> bool:
    return item.is_file and item.purged_at is None and item.media_type in INLINE_TYPES


@blp.app_template_global()
def case_url(dispute_id: str) -> str:
    return url_for("console.case_page", dispute_id=dispute_id)
