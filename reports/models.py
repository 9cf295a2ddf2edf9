"""The reports' own table (satisfaction answers) and the indexes its aggregate queries use.

The indexes on core tables are declared here, beside the queries that need them, so the core's
models stay as they are; the revisions ``0007`` and ``0010`` create them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from arbitration.db import Base, UTCDateTime
from arbitration.models import Decision, Dispute, Event, Refund

ID = String(64)

BUYER = "buyer"
SELLER = "seller"


class Feedback(Base):
    """A party's satisfaction with how a closed dispute went: 1 (very unhappy) to 5, once each."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("dispute_id", "party", name="uq_feedback_dispute_party"),
        Index("ix_feedback_rating_created", "rating", "created_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"))
    party: Mapped[str] = mapped_column(String(16))  # buyer, seller
    account_id: Mapped[str] = mapped_column(ID)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# What the reports filter and join on: disputes by filing and closing time, the timeline by
# dispute and the state it led to (escalations, when a case became ready for a ruling), appeals by
# the ruling they replaced.
DISPUTES_CREATED = Index("ix_disputes_created_at", Dispute.created_at)
DISPUTES_CLOSED = Index("ix_disputes_closed_at", Dispute.closed_at)
EVENTS_DISPUTE_TO_STATUS = Index(
    "ix_events_dispute_to_status", Event.dispute_id, Event.to_status, Event.occurred_at
)
# Partial (revision ``0011``): only an appeal replaces a ruling, so a ruling is not written to it.
DECISIONS_REPLACES = Index(
    "ix_decisions_replaces",
    Decision.replaces_id,
    sqlite_where=text("replaces_id IS NOT NULL"),
    postgresql_where=text("replaces_id IS NOT NULL"),
)
# What happened after the filing, by its own time (revision ``0010``): a period's rulings, refunds
# and answers are read as a range from its start, not as the whole table (issue 13).
DECISIONS_DECIDED = Index("ix_decisions_decided_at", Decision.decided_at)
REFUNDS_INSTRUCTED = Index("ix_refunds_instructed_at", Refund.instructed_at)
FEEDBACK_CREATED = Index("ix_feedback_created_at", Feedback.created_at)
