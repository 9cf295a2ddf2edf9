"""Satisfaction (DESIGN §1a, §7): the follow-up request after closing, the answers, and the unhappy
ones listed for the platform to review.

When a dispute closes, a ``feedback-request`` deadline is set ``deadlines.feedback_request`` later;
the sweep fires it once (like every deadline) and it announces ``FeedbackRequested``, which the
webhook outbox sends as ``feedback.requested``. Either party may answer once, any time after the
dispute closed, asked or not.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arbitration import lifecycle
from arbitration.accounts import SEES_ALL_DISPUTES, Caller
from arbitration.audit import note
from arbitration.deadlines import PENDING
from arbitration.disputes import get_dispute
from arbitration.errors import Conflict, Forbidden, ValidationFailed
from arbitration.events import DisputeClosed, FeedbackRequested, Handlers, record
from arbitration.ids import first_id_at, is_generated_id, new_id
from arbitration.models import Deadline, Dispute
from arbitration.policy import Policy
from reports.models import BUYER, SELLER, Feedback

FEEDBACK_REQUEST = "feedback-request"  # the deadline kind
MIN_RATING = 1
MAX_RATING = 5


def register(handlers: Handlers, *, policy: Policy) -> None:
    """Set the follow-up when a dispute closes, and send it when it falls due (``api.wiring``)."""

    def on_closed(session: Session, event: DisputeClosed) -> None:
        session.add(
            Deadline(
                dispute_id=event.dispute_id,
                action=FEEDBACK_REQUEST,
                party=BUYER,
                due_at=request_due(event.at, policy),
                status=PENDING,
                created_at=event.at,
                attempts=0,
            )
        )

    handlers.on(DisputeClosed, on_closed)
    handlers.on_deadline(FEEDBACK_REQUEST, request_feedback)


def request_due(closed_at: datetime, policy: Policy) -> datetime:
    """When the follow-up goes out: ``feedback_request`` (working days by default) after closing."""
    return policy.due_after("feedback_request", closed_at)


def request_feedback(session: Session, deadline: Deadline, policy: Policy, at: datetime) -> None:
    """The follow-up is due: announce it (once: the sweep fires a deadline once) and note it on
    the dispute's timeline."""
    dispute = session.get(Dispute, deadline.dispute_id)
    assert dispute is not None and dispute.closed_at is not None
    record(
        session,
        FeedbackRequested(
            dispute_id=dispute.id,
            at=at,
            buyer_id=dispute.buyer_id,
            seller_id=dispute.seller_id,
            outcome=dispute.outcome,
            closed_at=dispute.closed_at,
        ),
    )
    note(
        session,
        dispute_id=dispute.id,
        status=dispute.status,
        actor_id=lifecycle.SYSTEM,
        action="feedback-requested",
        payload={"party": BUYER},
        at=at,
    )


def give_feedback(
    session: Session, *, caller: Caller, dispute_id: str, rating: int, comment: str, at: datetime
) -> Feedback:
    """A party says how satisfied they are (1-5) with a closed dispute, once."""
    dispute = get_dispute(session, caller=caller, dispute_id=dispute_id)
    party = (
        BUYER
        if caller.id == dispute.buyer_id
        else SELLER
        if caller.id == dispute.seller_id
        else None
    )
    if party is None:
        raise Forbidden("only the dispute's buyer and seller give feedback on it")
    if not MIN_RATING <= rating <= MAX_RATING:
        raise ValidationFailed(
            "rate 1 to 5", details={"rating": [f"between {MIN_RATING} and {MAX_RATING}"]}
        )
    if dispute.status != lifecycle.CLOSED:
        raise Conflict(
            "feedback is given once the dispute is closed",
            code="dispute_not_closed",
            details={"status": dispute.status},
        )
    given = select(Feedback.id).where(Feedback.dispute_id == dispute.id, Feedback.party == party)
    if session.scalar(given) is not None:
        raise Conflict(f"the {party} already gave feedback", code="feedback_already_given")
    feedback = Feedback(
        id=new_id("fbk", at),
        dispute_id=dispute.id,
        party=party,
        account_id=caller.id,
        rating=rating,
        comment=comment,
        created_at=at,
    )
    try:
        with session.begin_nested():  # two answers at once: the unique constraint decides
            session.add(feedback)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"the {party} already gave feedback", code="feedback_already_given"
        ) from None
    payload = {"party": party, "rating": rating}
    if caller.via is not None:
        payload["via"] = caller.via.id
    note(
        session,
        dispute_id=dispute.id,
        status=dispute.status,
        actor_id=caller.id,
        action="feedback",
        payload=payload,
        at=at,
    )
    return feedback


@dataclass(frozen=True)
class Unhappy:
    """A dissatisfied answer, with what the platform needs to look into it."""

    feedback: Feedback
    seller_id: str
    reason: str
    outcome: str | None
    closed_at: datetime | None


@dataclass(frozen=True)
class UnhappyPage:
    answers: list[Unhappy]
    next_cursor: str | None


def dissatisfied(
    session: Session,
    *,
    caller: Caller,
    policy: Policy,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> UnhappyPage:
    """Answers at or below ``reports.dissatisfied_up_to``, newest first (the platform, staff)."""
    if caller.role not in SEES_ALL_DISPUTES or caller.via is not None:
        raise Forbidden("the platform and staff review dissatisfied answers")
    query = (
        select(Feedback, Dispute.seller_id, Dispute.reason, Dispute.outcome, Dispute.closed_at)
        .join(Dispute, Dispute.id == Feedback.dispute_id)
        .where(Feedback.rating <= policy.reports.dissatisfied_up_to)
        .order_by(Feedback.id.desc())
        .limit(limit + 1)
    )
    if since is not None:  # the key's range first: a walk that stops at ``since``
        query = query.where(Feedback.id >= first_id_at("fbk", since), Feedback.created_at >= since)
    if cursor:
        query = query.where(Feedback.id < _decode_cursor(cursor))
    rows = session.execute(query).all()
    answers = [Unhappy(*row) for row in rows[:limit]]
    more = len(rows) > limit
    next_cursor = _encode_cursor(answers[-1].feedback.id) if more else None
    return UnhappyPage(answers, next_cursor)


def _encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        last_id = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        last_id = ""
    if not is_generated_id(last_id, "fbk") or _encode_cursor(last_id) != cursor:
        raise ValidationFailed("bad cursor", details={"cursor": ["not a cursor we issued"]})
    return last_id
