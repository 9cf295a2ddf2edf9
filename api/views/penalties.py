"""Seller standing, violations and penalties over HTTP: what to enforce, and T&S review."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session

from api.context import caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas.common import ErrorOut, plain_dumper
from api.schemas.penalties import (
    ApproveIn,
    PageQueryIn,
    PenaltyAppealDecisionIn,
    PenaltyAppealIn,
    PenaltyOut,
    PenaltyPageOut,
    PenaltyQueryIn,
    RejectIn,
    RevokeIn,
    StandingOut,
    ViolationIn,
    ViolationOut,
    ViolationPageOut,
)
from api.views.recoveries import recovery_view
from penalties import browse, review
from penalties import standing as seller_standing
from penalties.explain import explain, in_force, violations_behind
from penalties.models import Penalty

blp = Blueprint(
    "penalties", __name__, url_prefix="/v1", description="Seller standing, violations, penalties"
)

PENALTY_OUT = PenaltyOut()
PENALTY_PAGE_OUT = PenaltyPageOut()
VIOLATION_OUT = ViolationOut()
VIOLATIONS_OUT = ViolationOut(many=True)
STANDING_OUT = StandingOut()
# The standing is read on every "may this seller list?" check: dumped without marshmallow, held to
# StandingOut by tests/api/test_standing_body.py.
_dump_standing = plain_dumper(STANDING_OUT)


def penalty_views(
    session: Session, penalties: Iterable[Penalty], at: datetime
) -> list[dict[str, Any]]:
    """Penalties as the API shows them (before dumping), each explaining itself; one query
    fetches the violations behind them all."""
    penalties = list(penalties)
    behind = violations_behind(session, penalties)
    window = services().policy.deadlines.penalty_appeal_window
    return [
        {
            **{column: getattr(p, column) for column in PENALTY_OUT.fields if hasattr(p, column)},
            "in_force": in_force(p, at),
            # In the caller's language (Accept-Language), through Flask-Babel (api.console).
            "explanation": explain(p, behind, window=window, at=at, gettext=gettext),
        }
        for p in penalties
    ]


# Standing and violations ------------------------------------------------------------------------


@blp.route("/sellers/<seller_id>/standing", methods=["GET"])
@blp.alt_response(200, schema=StandingOut, success=True)
@documents_errors(blp, 404)
def get_standing(seller_id: str) -> ResponseReturnValue:
    """What the marketplace must enforce for this seller now (platform, T&S, the seller)."""
    who = caller()
    at = services().clock.now()

    def work(session: Session) -> dict[str, Any]:
        found = seller_standing.standing(
            session, caller=who, seller_id=seller_id, policy=services().policy, at=at
        )
        return _dump_standing(standing_view(session, found, at))

    return read(work), 200


def standing_view(
    session: Session, found: seller_standing.Standing, at: datetime
) -> dict[str, Any]:
    """A standing as the API shows it, before dumping (``StandingOut``'s fields)."""
    return {
        "seller_id": found.seller_id,
        "can_list": found.can_list,
        "can_sell": found.can_sell,
        "visible_in_search": found.visible_in_search,
        "frozen": found.frozen,
        "banned": found.banned,
        "points": found.points,
        "active_penalties": penalty_views(session, found.active_penalties, at),
        "pending_review": penalty_views(session, found.pending_review, at),
        "open_recoveries": [recovery_view(owed, at) for owed in found.open_recoveries],
    }


@blp.route("/sellers/<seller_id>/violations", methods=["GET"])
@blp.arguments(PageQueryIn(), location="query")
@blp.alt_response(200, schema=ViolationPageOut, success=True)
@documents_errors(blp, 404, 422)
def list_violations(query: dict[str, Any], seller_id: str) -> ResponseReturnValue:
    """The seller's violations, newest first, a page at a time (platform, T&S, the seller)."""
    who = caller()

    def work(session: Session) -> dict[str, Any]:
        page = seller_standing.violations(
            session,
            caller=who,
            seller_id=seller_id,
            cursor=query.get("cursor"),
            limit=query["limit"],
        )
        return {"data": VIOLATIONS_OUT.dump(page.violations), "next_cursor": page.next_cursor}

    return read(work), 200


@blp.route("/sellers/<seller_id>/violations", methods=["POST"])
@blp.arguments(ViolationIn())
@blp.alt_response(201, schema=ViolationOut, success=True, description="on the ledger")
@documents_errors(blp, 403, 404, 422)
def confirm_violation(violation_in: dict[str, Any], seller_id: str) -> ResponseReturnValue:
    """Confirm a violation, e.g. a severe auto-detection; the ladder applies (trust & safety)."""
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        violation = review.confirm_violation(
            session,
            caller=who,
            seller_id=seller_id,
            kind=violation_in["kind"],
            note=violation_in["note"],
            dispute_id=violation_in.get("dispute_id"),
            policy=services().policy,
            at=services().clock.now(),
        )
        return VIOLATION_OUT.dump(violation), 201

    return perform(work)


# Penalties --------------------------------------------------------------------------------------


@blp.route("/penalties", methods=["GET"])
@blp.arguments(PenaltyQueryIn(), location="query")
@blp.alt_response(200, schema=PenaltyPageOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not trust & safety, an admin or the platform")
@documents_errors(blp, 422)
def list_penalties(query: dict[str, Any]) -> ResponseReturnValue:
    """Every seller's penalties, newest first (T&S, admins, the platform)."""
    who = caller()
    cursor = query.pop("cursor", None)
    limit = query.pop("limit")
    at = services().clock.now()

    def work(session: Session) -> dict[str, Any]:
        page = browse.list_penalties(
            session,
            caller=who,
            filters=browse.PenaltyFilters(**query),
            cursor=cursor,
            limit=limit,
        )
        dumped: dict[str, Any] = PENALTY_PAGE_OUT.dump(
            {"data": penalty_views(session, page.penalties, at), "next_cursor": page.next_cursor}
        )
        return dumped

    return read(work), 200


@blp.route("/penalties/<penalty_id>", methods=["GET"])
@blp.alt_response(200, schema=PenaltyOut, success=True)
@documents_errors(blp, 404)
def get_penalty(penalty_id: str) -> ResponseReturnValue:
    """One penalty, explaining itself (T&S, admins, the platform, the seller)."""
    who = caller()
    at = services().clock.now()

    def work(session: Session) -> dict[str, Any]:
        penalty = browse.get_penalty(session, caller=who, penalty_id=penalty_id)
        dumped: dict[str, Any] = PENALTY_OUT.dump(penalty_views(session, [penalty], at)[0])
        return dumped

    return read(work), 200


def _review(use_case: Any, **arguments: Any) -> ResponseReturnValue:
    """Run one review use case on a penalty and answer with the penalty as its seller sees it."""
    who = caller()
    at = services().clock.now()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        penalty = use_case(session, caller=who, policy=services().policy, at=at, **arguments)
        return PENALTY_OUT.dump(penalty_views(session, [penalty], at)[0]), 200

    return perform(work)


@blp.route("/penalties/<penalty_id>/approve", methods=["POST"])
@blp.arguments(ApproveIn(), required=False)
@blp.alt_response(200, schema=PenaltyOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def approve(params: dict[str, Any], penalty_id: str) -> ResponseReturnValue:
    """Apply a penalty waiting for review, as proposed or shorter (trust & safety)."""
    seconds = params.get("duration_seconds")
    return _review(
        review.approve,
        penalty_id=penalty_id,
        duration=timedelta(seconds=seconds) if seconds is not None else None,
        note=params.get("note"),
    )


@blp.route("/penalties/<penalty_id>/reject", methods=["POST"])
@blp.arguments(RejectIn())
@blp.alt_response(200, schema=PenaltyOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def reject(params: dict[str, Any], penalty_id: str) -> ResponseReturnValue:
    """Reject a penalty waiting for review: it never applies (trust & safety)."""
    return _review(review.reject, penalty_id=penalty_id, note=params["note"])


@blp.route("/penalties/<penalty_id>/revoke", methods=["POST"])
@blp.arguments(RevokeIn())
@blp.alt_response(200, schema=PenaltyOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def revoke(params: dict[str, Any], penalty_id: str) -> ResponseReturnValue:
    """Lift a pending or active penalty, saying why (trust & safety)."""
    return _review(review.revoke, penalty_id=penalty_id, reason=params["reason"])


@blp.route("/penalties/<penalty_id>/appeal", methods=["POST"])
@blp.arguments(PenaltyAppealIn())
@blp.alt_response(200, schema=PenaltyOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def appeal(params: dict[str, Any], penalty_id: str) -> ResponseReturnValue:
    """Appeal a penalty once, within the window (the penalised seller)."""
    return _review(review.appeal, penalty_id=penalty_id, reason=params["reason"])


@blp.route("/penalties/<penalty_id>/appeal-decision", methods=["POST"])
@blp.arguments(PenaltyAppealDecisionIn())
@blp.alt_response(200, schema=PenaltyOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def appeal_decision(params: dict[str, Any], penalty_id: str) -> ResponseReturnValue:
    """Uphold the penalty, or grant the appeal: revoked, and the points given back (T&S)."""
    return _review(
        review.appeal_decision,
        penalty_id=penalty_id,
        result=params["result"],
        rationale=params["rationale"],
    )
