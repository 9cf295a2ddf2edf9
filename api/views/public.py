"""What anyone may read, with no token (a token sent is ignored): final decisions with the buyer
masked, and the public warnings in force (DESIGN §7)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.context import read
from api.contract import Blueprint, documents_errors
from api.schemas.reports import (
    PublicDecisionPageOut,
    PublicDecisionQueryIn,
    PublicWarningListOut,
    PublicWarningQueryIn,
)
from penalties.public import public_warnings
from reports.transparency import public_decisions

blp = Blueprint("public", __name__, url_prefix="/v1", description="Public decisions and warnings")

DECISIONS_OUT = PublicDecisionPageOut()
WARNINGS_OUT = PublicWarningListOut()
# The endpoints of this blueprint that need no token (api.app).
PUBLIC_ENDPOINTS = frozenset({"public.list_public_decisions", "public.list_public_warnings"})


@blp.route("/public/decisions", methods=["GET"])
@blp.arguments(PublicDecisionQueryIn(), location="query")
@blp.alt_response(200, schema=PublicDecisionPageOut, success=True)
@blp.doc(security=[])
@documents_errors(blp, 422)
def list_public_decisions(query: dict[str, Any]) -> ResponseReturnValue:
    """Final rulings, newest first: the seller named, the buyer masked, no person's words."""

    def work(session: Session) -> dict[str, Any]:
        page = public_decisions(
            session,
            seller_id=query.get("seller_id"),
            reason=query.get("reason"),
            cursor=query.get("cursor"),
            limit=query["limit"],
        )
        data = [asdict(decision) for decision in page.decisions]
        body: dict[str, Any] = DECISIONS_OUT.dump({"data": data, "next_cursor": page.next_cursor})
        return body

    return read(work), 200


@blp.route("/public/warnings", methods=["GET"])
@blp.arguments(PublicWarningQueryIn(), location="query")
@blp.alt_response(200, schema=PublicWarningListOut, success=True)
@blp.doc(security=[])
@documents_errors(blp, 422)
def list_public_warnings(query: dict[str, Any]) -> ResponseReturnValue:
    """Sellers under a public warning now: since when, and the kinds of violation behind it."""

    def work(session: Session) -> dict[str, Any]:
        warnings = public_warnings(session, seller_id=query.get("seller_id"))
        body: dict[str, Any] = WARNINGS_OUT.dump(
            {"data": [asdict(warning) for warning in warnings]}
        )
        return body

    return read(work), 200
