"""What the core asks about the parties' standing (DESIGN §5a), answered by the satellites.

Two questions change what the core does: "is this seller frozen or banned?" (the platform then
pays a refund first) and "is this buyer under review?" (a silent seller's timer then sends the case
to the platform instead of refunding). The answers live in the penalties satellite's tables and
change with time (a freeze ends by itself), so the core asks through this port instead of keeping
a copy that could drift, and never imports the satellite: the composition root (``api.wiring``)
sets the answering object on the handler registry (``Handlers.party_standing``), and each unit of
work carries it to the use cases in ``session.info``, as it carries the pending domain events.
Without a satellite, nobody is flagged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, false
from sqlalchemy.orm import Session

SESSION_KEY = "arbitration.party_standing"


class PartyStanding(Protocol):
    # "Is this seller frozen or banned?" as an SQL expression of the seller bound as
    # ``standing_seller_id`` and the moment as ``standing_at``: a statement the core runs anyway
    # carries the question (a ruling's refund counted on its order, ``refunds.reserve_refund``),
    # not one more round trip.
    seller_frozen_or_banned_sql: ColumnElement[bool]

    def changes_pending(self, session: Session) -> bool:
        """Whether the session holds changes to what the answers are read from, not yet written:
        a statement carrying ``seller_frozen_or_banned_sql`` flushes them first."""
        ...

    def seller_frozen_or_banned(self, session: Session, *, seller_id: str, at: datetime) -> bool:
        """Whether an account freeze or a ban is in force against the seller at ``at``."""
        ...

    def buyer_under_review(self, session: Session, *, buyer_id: str) -> bool:
        """Whether the buyer's review flag is raised (by the ledger, or confirmed by T&S)."""
        ...


class NobodyFlagged:
    """The answer when no satellite is wired: every seller pays, no buyer is reviewed."""

    seller_frozen_or_banned_sql: ColumnElement[bool] = false()

    def changes_pending(self, session: Session) -> bool:
        return False

    def seller_frozen_or_banned(self, session: Session, *, seller_id: str, at: datetime) -> bool:
        return False

    def buyer_under_review(self, session: Session, *, buyer_id: str) -> bool:
        return False


NOBODY_FLAGGED = NobodyFlagged()


def party_standing(session: Session) -> PartyStanding:
    """The port this unit of work was opened with (``Database.unit_of_work``)."""
    found: PartyStanding = session.info.get(SESSION_KEY, NOBODY_FLAGGED)
    return found
