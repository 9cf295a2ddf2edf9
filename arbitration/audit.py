"""The audit trail (DESIGN §6): per-dispute hash chains of append-only events.

``hash = sha256(prev_hash + canonical event)``, where the canonical event is sorted, compact JSON.
Anyone holding the rows can recompute every link; ``verify_chains`` names the first broken one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.models import Event

GENESIS_HASH = "0" * 64


def canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical(
    *,
    dispute_id: str,
    seq: int,
    actor_id: str,
    action: str,
    from_status: str | None,
    to_status: str,
    payload: dict[str, Any],
    occurred_at: datetime,
) -> bytes:
    document = {
        "dispute_id": dispute_id,
        "seq": seq,
        "actor": actor_id,
        "action": action,
        "from": from_status,
        "to": to_status,
        "payload": payload,
        "occurred_at": canonical_time(occurred_at),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _link_hash(prev_hash: str, event: Event) -> str:
    body = _canonical(
        dispute_id=event.dispute_id,
        seq=event.seq,
        actor_id=event.actor_id,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        payload=event.payload,
        occurred_at=event.occurred_at,
    )
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def append_event(
    session: Session,
    *,
    dispute_id: str,
    actor_id: str,
    action: str,
    from_status: str | None,
    to_status: str,
    payload: dict[str, Any],
    at: datetime,
) -> Event:
    """Add the next link of the dispute's chain, in the caller's transaction."""
    last = session.scalars(
        select(Event).where(Event.dispute_id == dispute_id).order_by(Event.seq.desc()).limit(1)
    ).first()
    # Round-trip the payload through JSON so the hash covers exactly what the database returns.
    payload = json.loads(json.dumps(payload))
    event = Event(
        dispute_id=dispute_id,
        seq=(last.seq + 1) if last else 1,
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        payload=payload,
        occurred_at=at,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = _link_hash(event.prev_hash, event)
    session.add(event)
    return event


def note(
    session: Session,
    *,
    dispute_id: str,
    status: str,
    actor_id: str,
    action: str,
    payload: dict[str, Any],
    at: datetime,
) -> Event:
    """An event that leaves the status as it is: a flag, a reminder, a confirmation."""
    return append_event(
        session,
        dispute_id=dispute_id,
        actor_id=actor_id,
        action=action,
        from_status=status,
        to_status=status,
        payload=payload,
        at=at,
    )


def timeline(session: Session, dispute_id: str) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.dispute_id == dispute_id).order_by(Event.seq))
    )


@dataclass(frozen=True)
class BrokenLink:
    dispute_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"dispute {self.dispute_id}, event {self.seq}: {self.problem}"


@dataclass(frozen=True)
class VerifyReport:
    disputes: int
    events: int
    broken: list[BrokenLink]

    @property
    def ok(self) -> bool:
        return not self.broken


def _events_by_dispute(session: Session) -> Iterator[list[Event]]:
    """Stream events dispute by dispute, without loading the whole log at once."""
    chain: list[Event] = []
    query = select(Event).order_by(Event.dispute_id, Event.seq).execution_options(yield_per=1000)
    for event in session.scalars(query):
        if chain and chain[0].dispute_id != event.dispute_id:
            yield chain
            chain = []
        chain.append(event)
    if chain:
        yield chain


def _first_break(chain: list[Event]) -> BrokenLink | None:
    prev_hash = GENESIS_HASH
    for expected_seq, event in enumerate(chain, start=1):
        if event.seq != expected_seq:
            return BrokenLink(event.dispute_id, expected_seq, "event missing from the chain")
        if event.prev_hash != prev_hash:
            return BrokenLink(event.dispute_id, event.seq, "does not link to the previous event")
        if _link_hash(prev_hash, event) != event.hash:
            return BrokenLink(event.dispute_id, event.seq, "content does not match its hash")
        prev_hash = event.hash
    return None


def verify_chains(session: Session) -> VerifyReport:
    """Recompute every chain; report the first broken link of each dispute."""
    disputes = events = 0
    broken: list[BrokenLink] = []
    for chain in _events_by_dispute(session):
        disputes += 1
        events += len(chain)
        problem = _first_break(chain)
        if problem:
            broken.append(problem)
    return VerifyReport(disputes, events, broken)
