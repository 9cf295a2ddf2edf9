"""Each seller's hash chain: every violation, penalty and review, verifiable like a dispute's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.audit import canonical_time, chain_hash, first_break, head_statements
from arbitration.db import execute_core
from penalties.models import SellerEvent, SellerStanding

# The chain's head on the standing row, bumped and then set (built once).
_BUMP_HEAD, _SET_HEAD_HASH = head_statements(SellerStanding.seller_id)


def _document(event: SellerEvent) -> dict[str, Any]:
    return {
        "seller_id": event.seller_id,
        "seq": event.seq,
        "actor": event.actor_id,
        "action": event.action,
        "payload": event.payload,
        "occurred_at": canonical_time(event.occurred_at),
    }


def append(
    session: Session,
    *,
    standing: SellerStanding,
    actor_id: str,
    action: str,
    payload: dict[str, Any],
    at: datetime,
) -> SellerEvent:
    """Add the next link of the seller's chain; ``standing`` is locked by the caller."""
    seq, prev_hash = execute_core(session, _BUMP_HEAD, {"key": standing.seller_id}).one()
    event = SellerEvent(
        seller_id=standing.seller_id,
        seq=seq,
        actor_id=actor_id,
        action=action,
        payload=json.loads(json.dumps(payload)),
        occurred_at=at,
        prev_hash=prev_hash,
    )
    event.hash = chain_hash(prev_hash, _document(event))
    session.add(event)
    execute_core(
        session, _SET_HEAD_HASH, {"key": standing.seller_id, "hash": event.hash}, flush=False
    )
    session.expire(standing, ["event_count", "last_event_hash"])
    return event


@dataclass(frozen=True)
class BrokenSellerLink:
    seller_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"seller {self.seller_id}, event {self.seq}: {self.problem}"


def verify(session: Session) -> tuple[int, int, list[BrokenSellerLink]]:
    """Recompute every seller's chain: (sellers, events, broken links)."""
    sellers = events = 0
    broken: list[BrokenSellerLink] = []
    for standing in session.scalars(select(SellerStanding).order_by(SellerStanding.seller_id)):
        sellers += 1
        chain = list(
            session.scalars(
                select(SellerEvent)
                .where(SellerEvent.seller_id == standing.seller_id)
                .order_by(SellerEvent.seq)
            )
        )
        events += len(chain)
        problem = _first_break(standing, chain)
        if problem:
            broken.append(problem)
    return sellers, events, broken


def _first_break(head: SellerStanding, chain: list[SellerEvent]) -> BrokenSellerLink | None:
    found = first_break(
        chain,
        document=_document,
        head_count=head.event_count,
        head_hash=head.last_event_hash,
        owner="seller",
    )
    return BrokenSellerLink(head.seller_id, *found) if found else None
