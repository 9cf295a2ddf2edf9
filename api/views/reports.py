"""Reports and satisfaction over HTTP: the KPI summary, a party's feedback, the unhappy answers.

Who reads the summary: staff (arbitrators, seniors, trust & safety, admins) and the platform
account; parties get a 403. The numbers are ``reports.summary.summarize``'s, like the CLI's, and so
is the default period (``reports.default_period`` before ``until``) when ``since`` is left out.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.context import caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas.common import ErrorOut
from api.schemas.reports import (
    DissatisfiedPageOut,
    DissatisfiedQueryIn,
    FeedbackIn,
    FeedbackOut,
    ReportQueryIn,
    SummaryOut,
)
from arbitration.accounts import SEES_ALL_DISPUTES
from arbitration.errors import Forbidden
from reports import feedback
from reports.summary import summarize

blp = Blueprint(
    "reports", __name__, url_prefix="/v1", description="Reports and satisfaction (DESIGN §7)"
)

SUMMARY_OUT = SummaryOut()
FEEDBACK_OUT = FeedbackOut()
DISSATISFIED_PAGE_OUT = DissatisfiedPageOut()


@blp.route("/reports/summary", methods=["GET"])
@blp.arguments(ReportQueryIn(), location="query")
@blp.alt_response(200, schema=SummaryOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not staff nor the platform")
@documents_errors(blp, 422)
def get_summary(query: dict[str, Any]) -> ResponseReturnValue:
    """Every KPI for the disputes filed in a period (default: reports.default_period), by group."""
    who = caller()
    if who.role not in SEES_ALL_DISPUTES or who.via is not None:
        raise Forbidden("reports are for staff and the platform")

    def work(session: Session) -> dict[str, Any]:
        summary = summarize(
            session,
            policy=services().policy,
            at=services().clock.now(),
            by=query.get("by"),
            since=query.get("since"),
            until=query.get("until"),
        )
        body: dict[str, Any] = SUMMARY_OUT.dump(summary.to_dict(iso_times=False))
        return body

    return read(work), 200


@blp.route("/disputes/<dispute_id>/feedback", methods=["POST"])
@blp.arguments(FeedbackIn())
@blp.alt_response(201, schema=FeedbackOut, success=True, description="recorded")
@documents_errors(blp, 403, 404, 409, 422)
def give_feedback(feedback_in: dict[str, Any], dispute_id: str) -> ResponseReturnValue:
    """How satisfied you are (1-5) with a closed dispute, once per party (its buyer or seller)."""
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        given = feedback.give_feedback(
            session,
            caller=who,
            dispute_id=dispute_id,
            rating=feedback_in["rating"],
            comment=feedback_in["comment"],
            at=services().clock.now(),
        )
        return FEEDBACK_OUT.dump(given), 201

    return perform(work)


@blp.route("/feedback/dissatisfied", methods=["GET"])
@blp.arguments(DissatisfiedQueryIn(), location="query")
@blp.alt_response(200, schema=DissatisfiedPageOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not staff nor the platform")
@documents_errors(blp, 422)
def list_dissatisfied(query: dict[str, Any]) -> ResponseReturnValue:
    """Dissatisfied answers (1-2 by default), newest first, for the platform to review."""
    who = caller()

    def work(session: Session) -> dict[str, Any]:
        page = feedback.dissatisfied(
            session,
            caller=who,
            policy=services().policy,
            since=query.get("since"),
            cursor=query.get("cursor"),
            limit=query["limit"],
        )
        data = [
            {
                **{name: getattr(answer.feedback, name) for name in FEEDBACK_OUT.fields},
                "seller_id": answer.seller_id,
                "reason": answer.reason,
                "outcome": answer.outcome,
                "closed_at": answer.closed_at,
            }
            for answer in page.answers
        ]
        body: dict[str, Any] = DISSATISFIED_PAGE_OUT.dump(
            {"data": data, "next_cursor": page.next_cursor}
        )
        return body

    return read(work), 200
