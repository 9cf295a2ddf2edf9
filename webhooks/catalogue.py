"""The one table of what the platform hears: each domain event → the webhook event(s) it becomes.

A new domain event (a remedy's, a recovery's, a feedback request) is one line in ``CATALOGUE``:
``Outgoing.of(TheEvent, "the.type")`` sends its fields as the event's ``data``; a function of the
domain event may instead build the events itself (the timeline becomes several types).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from arbitration.disputes import awaiting
from arbitration.events import (
    CompensationInstructed,
    DecisionOverturned,
    DisputeDecided,
    DomainEvent,
    FeedbackRequested,
    RecoveryClosed,
    RecoveryOpened,
    RecoveryOverdue,
    RefundInstructed,
    TimelineEventAppended,
)
from arbitration.models import Dispute
from penalties.events import PenaltyApplied, PenaltyLifted

AUDIT_STREAM = "audit"
_DISPUTE_MAPPER = inspect(Dispute)


class Outgoing(NamedTuple):
    """One webhook event: its type, the stream it is ordered in, and its ``data`` (JSON already:
    ``fields_of`` or ``jsonable`` made it, or it holds only strings, numbers, lists and dicts).

    A named tuple: made inside the writer lock for every change, in two calls where a frozen
    dataclass takes five."""

    type: str
    stream: str
    dispute_id: str | None
    data: dict[str, Any]


Translate = Callable[[Session, Any], Sequence[Outgoing]]


@dataclass(frozen=True)
class Route:
    """The webhook types a domain event may become, and how."""

    types: tuple[str, ...]
    translate: Translate


# Values JSON stores as they are (most of an event's fields): returned without a closer look.
_PLAIN = frozenset({str, int, bool, float, type(None)})


def jsonable(value: Any) -> Any:
    if value.__class__ in _PLAIN:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


# Per domain event type: the fields it sends, and a getter of their values (``at`` last, so the
# getter returns a tuple even for one field; ``zip`` with the names leaves it out).
_FIELDS: dict[type[DomainEvent], tuple[tuple[str, ...], attrgetter[Any]]] = {}


def _fields(event_type: type[DomainEvent]) -> tuple[tuple[str, ...], attrgetter[Any]]:
    """The fields a domain event of this type sends, worked out once per type."""
    found = _FIELDS.get(event_type)
    if found is None:
        names = tuple(f.name for f in dataclasses.fields(event_type) if f.name != "at")
        found = _FIELDS[event_type] = (names, attrgetter(*names, "at"))
    return found


def fields_of(event: DomainEvent) -> dict[str, Any]:
    """The domain event's fields as JSON (``at`` becomes ``occurred_at``)."""
    names, values = _FIELDS.get(type(event)) or _fields(type(event))
    data = {
        name: value if value.__class__ in _PLAIN else jsonable(value)
        for name, value in zip(names, values(event), strict=False)
    }
    data["occurred_at"] = event.at.isoformat()
    return data


def dispute_stream(dispute_id: str) -> str:
    return f"dispute:{dispute_id}"


def same_fields(event_type: str) -> Route:
    """The domain event's own fields, in its dispute's stream."""

    def translate(_session: Session, event: DomainEvent) -> Sequence[Outgoing]:
        dispute_id = event.dispute_id
        return [Outgoing(event_type, dispute_stream(dispute_id), dispute_id, fields_of(event))]

    return Route((event_type,), translate)


def seller_fields(event_type: str) -> Route:
    """For events about a seller (penalties): ordered in the seller's stream."""

    def translate(_session: Session, event: Any) -> Sequence[Outgoing]:
        data = fields_of(event)
        data["dispute_id"] = event.dispute_id or None
        return [Outgoing(event_type, f"seller:{event.seller_id}", event.dispute_id or None, data)]

    return Route((event_type,), translate)


# Timeline actions that have a type of their own; every other link is ``dispute.updated``.
TIMELINE_TYPES = {"file": "dispute.created", "deadline-approaching": "deadline.approaching"}


# The dispute's columns a timeline event sends.
_TIMELINE_COLUMNS = frozenset(
    ("order_id", "buyer_id", "seller_id", "status", "outcome", "deadline_action", "deadline_due_at")
)


def _timeline(session: Session, event: TimelineEventAppended) -> Sequence[Outgoing]:
    # The dispute as it now stands in this transaction: the session's own copy, which every
    # change to a dispute's status, outcome and deadline goes through (or keeps in step).
    key = _DISPUTE_MAPPER.identity_key_from_primary_key((event.dispute_id,))
    dispute = session.identity_map.get(key) or session.get(Dispute, event.dispute_id)
    assert isinstance(dispute, Dispute)
    # Its columns as loaded (an attribute read each is a call); one expired is read by the ORM.
    columns: dict[str, Any] = dispute.__dict__
    if not columns.keys() >= _TIMELINE_COLUMNS:
        columns = {name: getattr(dispute, name) for name in _TIMELINE_COLUMNS}
    due_at, deadline_action = columns["deadline_due_at"], columns["deadline_action"]
    data = {
        "dispute_id": event.dispute_id,
        "order_id": columns["order_id"],
        "buyer_id": columns["buyer_id"],
        "seller_id": columns["seller_id"],
        "seq": event.seq,
        "action": event.action,
        "actor_id": event.actor_id,
        "from_status": event.from_status,
        "status": event.to_status,
        "awaiting": awaiting(dispute) if columns["status"] == event.to_status else None,
        "outcome": columns["outcome"],
        "deadline": (
            {"action": deadline_action, "due_at": due_at.isoformat()}
            if due_at and deadline_action
            else None
        ),
        "payload": event.payload,
        "occurred_at": event.at.isoformat(),
    }
    event_type = TIMELINE_TYPES.get(event.action, "dispute.updated")
    return [Outgoing(event_type, dispute_stream(event.dispute_id), event.dispute_id, data)]


CATALOGUE: tuple[tuple[type[DomainEvent], Route], ...] = (
    (TimelineEventAppended, Route((*TIMELINE_TYPES.values(), "dispute.updated"), _timeline)),
    (RefundInstructed, same_fields("refund.instructed")),
    (DisputeDecided, same_fields("decision.made")),
    (DecisionOverturned, same_fields("decision.overturned")),
    (PenaltyApplied, seller_fields("penalty.applied")),
    (PenaltyLifted, seller_fields("penalty.lifted")),
    (CompensationInstructed, same_fields("compensation.instructed")),
    (RecoveryOpened, same_fields("recovery.opened")),
    (RecoveryOverdue, same_fields("recovery.overdue")),
    (RecoveryClosed, same_fields("recovery.closed")),
    (FeedbackRequested, same_fields("feedback.requested")),
)

CHECKPOINT_TYPE = "audit.checkpoint"  # sent by the checkpoint job, not by a domain event

# Every type an endpoint may filter on.
EVENT_TYPES: tuple[str, ...] = (
    *dict.fromkeys(t for _, route in CATALOGUE for t in route.types),
    CHECKPOINT_TYPE,
)
