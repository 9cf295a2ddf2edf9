"""Domain events: what happened, announced by the core so satellites can react in the same transaction.

A use case records an event on its session (``record``); before the unit of work commits, it hands
each new event to the handlers registered for its type (or a base type), until no handler records
a new one (``Handlers.dispatch``). A handler is a plain function ``(session, event) -> None``: the
penalties ledger and the webhook outbox are handlers, registered by the composition root
(``api.wiring``). The core never imports them. A handler that raises rolls the whole change back.
Once no event is left, the steps registered ``before_commit`` run (the outbox writes its rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from arbitration.party_standing import NOBODY_FLAGGED, PartyStanding

_PENDING = "arbitration.pending_events"
# A handler that keeps recording events would never let the transaction commit.
MAX_DISPATCH_ROUNDS = 100


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event; ``dispute_id`` and ``at`` are common to all of them."""

    dispute_id: str
    at: datetime


@dataclass(frozen=True)
class TimelineEventAppended(DomainEvent):
    """A link was added to a dispute's audit chain: every change to a dispute announces this."""

    seq: int
    action: str
    actor_id: str
    from_status: str | None
    to_status: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RefundInstructed(DomainEvent):
    """The platform must now pay the buyer back this exact amount, once."""

    refund_id: str
    order_id: str
    amount: int
    currency: str
    decision_id: str | None
    # Who pays it (DESIGN §5a): ``seller``, or ``platform`` first (a recovery is then opened).
    funded_by: str = "seller"


@dataclass(frozen=True)
class RecoveryOpened(DomainEvent):
    """The platform paid a refund (or granted a compensation) first and now recovers it from the
    seller (先行赔付): exactly one of ``refund_id`` and ``compensation_id`` is set."""

    recovery_id: str
    refund_id: str | None
    seller_id: str
    amount: int
    currency: str
    due_at: datetime
    compensation_id: str | None = None


@dataclass(frozen=True)
class RecoveryOverdue(DomainEvent):
    """A recovery is still open past its grace: the seller may not sell until it is recovered."""

    recovery_id: str
    seller_id: str
    amount: int
    currency: str


@dataclass(frozen=True)
class RecoveryClosed(DomainEvent):
    """A recovery ended: ``recovered`` (the platform got the money) or ``written_off`` (T&S)."""

    recovery_id: str
    seller_id: str
    amount: int
    currency: str
    status: str
    closed_by: str
    reason: str | None


@dataclass(frozen=True)
class CompensationInstructed(DomainEvent):
    """The platform must now grant the buyer this compensation (DESIGN §1a), once, and confirm it.

    ``kind`` is ``store_credit`` or ``coupon``; ``ordered_by`` is what ordered it (the accepted
    offer's id). Not money back on the order.
    """

    compensation_id: str
    order_id: str
    buyer_id: str
    kind: str
    amount: int
    currency: str
    ordered_by: str
    # Who pays it (DESIGN §5a): ``seller``, or ``platform`` first (a recovery is then opened).
    funded_by: str = "seller"


@dataclass(frozen=True)
class FulfilmentLapsed(DomainEvent):
    """The seller let the deadline to send an exchange, a repair or goods again pass: the system
    refunded the buyer instead (DESIGN §1a). The penalties satellite warns the seller."""

    seller_id: str
    buyer_id: str
    remedy: str
    refund_amount: int
    due_at: datetime | None


@dataclass(frozen=True)
class EvidenceAdded(DomainEvent):
    evidence_id: str
    author_id: str
    kind: str
    sha256: str | None
    visibility: str


@dataclass(frozen=True)
class DisputeDecided(DomainEvent):
    """A ruling is in force: made by an arbitrator (``final`` False), or final after the appeal
    window or an appeal ruling (``final`` True). ``violation`` names the seller's fault, if any."""

    decision_id: str
    seller_id: str
    buyer_id: str
    arbitrator_id: str
    outcome: str
    refund_amount: int
    responsibility: str
    violation: str | None
    final: bool
    # The buyer's fault, if the ruling names one (DESIGN §5a): for the buyer ledger.
    buyer_violation: str | None = None


@dataclass(frozen=True)
class DecisionOverturned(DomainEvent):
    """An appeal replaced a ruling: what was ruled, what replaces it, and the money to settle.

    ``difference`` is the replacement's refund minus the overturned one's: positive is refunded to
    the buyer now; negative is what the platform recovers or writes off, outside the engine.
    """

    overturned_decision_id: str
    decision_id: str
    seller_id: str
    revoked_violation: str | None
    violation: str | None
    difference: int
    currency: str
    revoked_buyer_violation: str | None = None
    buyer_violation: str | None = None


@dataclass(frozen=True)
class DisputeClosed(DomainEvent):
    seller_id: str
    buyer_id: str
    outcome: str | None


@dataclass(frozen=True)
class FeedbackRequested(DomainEvent):
    """``feedback_request`` after closing, the buyer is asked how satisfied they are (DESIGN §1a):
    the marketplace sends the survey (webhook ``feedback.requested``); answers come back through
    ``POST /v1/disputes/{id}/feedback``. Announced once per closed dispute."""

    buyer_id: str
    seller_id: str
    outcome: str | None
    closed_at: datetime


Event = TypeVar("Event", bound=DomainEvent)
Handler = Callable[[Session, Any], None]


def record(session: Session, event: DomainEvent) -> None:
    """Announce ``event``; its handlers run before this unit of work commits."""
    session.info.setdefault(_PENDING, []).append(event)


class Handlers:
    """Which functions react to which events. Built once by the composition root."""

    def __init__(self) -> None:
        self._by_type: dict[type[DomainEvent], list[Handler]] = defaultdict(list)
        self._resolved: dict[type[DomainEvent], list[Handler]] = {}
        # Deadlines a satellite owns (``penalty-expire``…), fired by the same sweep as the core's.
        self.deadlines: dict[str, Any] = {}
        # Who answers the core's questions about the parties' standing (``party_standing``).
        self.party_standing: PartyStanding = NOBODY_FLAGGED
        # Steps run once every handler has, just before commit (``before_commit``).
        self._before_commit: list[Callable[[Session], None]] = []

    def on_deadline(self, action: str, handler: Any) -> None:
        """Fire ``handler(session, deadline, policy, at)`` for due deadlines of kind ``action``."""
        if action in self.deadlines:
            raise ValueError(f"a handler for {action} deadlines is already registered")
        self.deadlines[action] = handler

    def on(self, event_type: type[Event], handler: Callable[[Session, Event], None]) -> None:
        """Run ``handler`` for every ``event_type`` event (and its subclasses)."""
        self._by_type[event_type].append(handler)
        self._resolved.clear()

    def before_commit(self, step: Callable[[Session], None]) -> None:
        """Run ``step(session)`` in every write unit of work once its events are all handled: for
        work that gathers what the handlers did and writes it at once (the webhook outbox). A step
        records no events."""
        self._before_commit.append(step)

    def for_event(self, event: DomainEvent) -> list[Handler]:
        """The handlers of the event's type and its bases, worked out once per type."""
        kind = type(event)
        found = self._resolved.get(kind)
        if found is None:
            found = [h for base in kind.__mro__ for h in self._by_type.get(base, ())]
            self._resolved[kind] = found
        return found

    def dispatch(self, session: Session) -> None:
        """Hand every pending event to its handlers, then the events those recorded, until none;
        then run the steps registered ``before_commit``."""
        info = session.info
        resolved = self._resolved
        for _ in range(MAX_DISPATCH_ROUNDS):
            pending: list[DomainEvent] | None = info.pop(_PENDING, None)
            if not pending:
                for step in self._before_commit:
                    step(session)
                return
            session.flush()
            for event in pending:
                handlers = resolved.get(type(event)) or self.for_event(event)
                for handler in handlers:
                    handler(session, event)
        raise RuntimeError("domain event handlers kept recording events; giving up")
