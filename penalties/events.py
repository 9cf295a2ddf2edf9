"""What the penalties satellite announces, recorded in the same unit of work as the change.

A penalty is not a dispute's: ``dispute_id`` is the dispute whose ruling led to it, or "".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arbitration.events import DomainEvent


@dataclass(frozen=True)
class PenaltyApplied(DomainEvent):
    """A penalty is in force from ``starts_at`` (until ``ends_at``, or until lifted if None)."""

    penalty_id: str
    seller_id: str
    kind: str
    reason: str
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass(frozen=True)
class PenaltyLifted(DomainEvent):
    """A penalty in force no longer is: ``status`` says why (expired, revoked)."""

    penalty_id: str
    seller_id: str
    kind: str
    status: str
