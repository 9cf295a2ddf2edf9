"""A buyer's standing over HTTP (DESIGN §5a): the buyer ledger's points and review flag, and
trust & safety lifting or confirming the flag. Sellers never see it (a 404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.context import caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas.fairness import BuyerReviewIn, BuyerStandingOut
from penalties import buyers

blp = Blueprint("buyers", __name__, url_prefix="/v1", description="Buyer standing and review")

STANDING_OUT = BuyerStandingOut()


def _standing(session: Session, buyer_id: str) -> dict[str, Any]:
    found = buyers.standing(
        session,
        caller=caller(),
        buyer_id=buyer_id,
        policy=services().policy,
        at=services().clock.now(),
    )
    dumped: dict[str, Any] = STANDING_OUT.dump(
        {
            **{name: getattr(found, name) for name in STANDING_OUT.fields if hasattr(found, name)},
            "flags": found.flags,
            "under_review": found.under_review,
        }
    )
    return dumped


@blp.route("/buyers/<buyer_id>/standing", methods=["GET"])
@blp.alt_response(200, schema=BuyerStandingOut, success=True)
@documents_errors(blp, 404)
def get_standing(buyer_id: str) -> ResponseReturnValue:
    """The buyer's points, review flag and since when (platform, staff, the buyer)."""
    caller()
    return read(lambda session: _standing(session, buyer_id)), 200


def _review(use_case: Callable[..., None], buyer_id: str, note: str) -> ResponseReturnValue:
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        use_case(session, caller=who, buyer_id=buyer_id, note=note, at=services().clock.now())
        return _standing(session, buyer_id), 200

    return perform(work)


@blp.route("/buyers/<buyer_id>/review/lift", methods=["POST"])
@blp.arguments(BuyerReviewIn())
@blp.alt_response(200, schema=BuyerStandingOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def lift(params: dict[str, Any], buyer_id: str) -> ResponseReturnValue:
    """Lift the buyer's review flag: silence refunds again, the count starts afresh (T&S)."""
    return _review(buyers.lift, buyer_id, params["note"])


@blp.route("/buyers/<buyer_id>/review/confirm", methods=["POST"])
@blp.arguments(BuyerReviewIn())
@blp.alt_response(200, schema=BuyerStandingOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def confirm(params: dict[str, Any], buyer_id: str) -> ResponseReturnValue:
    """Confirm the buyer's review flag: it stays until lifted (trust & safety)."""
    return _review(buyers.confirm, buyer_id, params["note"])
