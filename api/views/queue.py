"""The arbitrators' queue: what waits for a ruling, taking the next case, and precedents."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.context import Later, caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas.arbitration import PrecedentPageOut, QueueQueryIn
from api.schemas.common import EmptyIn, ErrorOut
from api.schemas.disputes import DisputeOut, DisputePageOut
from api.views.dispute_body import dispute_body, written_body
from arbitration import queue

blp = Blueprint("queue", __name__, url_prefix="/v1", description="The arbitrators' queue")


@blp.route("/queue", methods=["GET"])
@blp.arguments(QueueQueryIn(), location="query")
@blp.alt_response(200, schema=DisputePageOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not an arbitrator")
@documents_errors(blp, 422)
def list_queue(query: dict[str, Any]) -> ResponseReturnValue:
    """Cases waiting for a ruling, most pressing first: priority, then SLA due time (arbitrators)."""
    who = caller()
    limit = query.pop("limit")

    def work(session: Session) -> dict[str, Any]:
        cases = queue.list_queue(
            session, caller=who, filters=queue.QueueFilters(**query), limit=limit
        )
        # The page's conflicts, refunds, offers and rulings in a few queries, not a few per case.
        parts = queue.page_parts(session, caller=who, cases=cases)
        return {
            "data": [dispute_body(session, case, who, parts.of(case)) for case in cases],
            "next_cursor": None,
        }

    return read(work), 200


@blp.route("/queue/claim", methods=["POST"])
@blp.arguments(EmptyIn(), required=False)
@blp.alt_response(200, schema=DisputeOut, success=True, description="the case is now yours")
@blp.alt_response(403, schema=ErrorOut, description="not an arbitrator")
@blp.alt_response(404, schema=ErrorOut, description="no case waits for you")
@documents_errors(blp, 409)
def claim_next(_params: dict[str, Any]) -> ResponseReturnValue:
    """Take the most pressing case you may take; two arbitrators never get the same one."""
    who = caller()

    def work(session: Session) -> tuple[Later, int]:
        case = queue.claim_next(
            session, caller=who, policy=services().policy, at=services().clock.now()
        )
        return written_body(session, case, who), 200

    return perform(work)


@blp.route("/disputes/<dispute_id>/precedents", methods=["GET"])
@blp.alt_response(200, schema=PrecedentPageOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not an arbitrator")
@blp.alt_response(404, schema=ErrorOut, description="no such dispute")
def list_precedents(dispute_id: str) -> ResponseReturnValue:
    """Decided cases with the same reason and category, newest first (arbitrators)."""
    who = caller()

    def work(session: Session) -> dict[str, Any]:
        found = queue.precedents(session, caller=who, dispute_id=dispute_id)
        dumped: dict[str, Any] = PrecedentPageOut().dump(
            {"data": [asdict(precedent) for precedent in found]}
        )
        return dumped

    return read(work), 200
