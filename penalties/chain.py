"""Each seller's hash chain: every violation, penalty and review, verifiable like a dispute's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from arbitration.audit import canonical_time, chain_hash, first_break
from arbitration.db import execute_core
from arbitration.statements import prepared
from penalties.models import SellerEvent, SellerStanding

_INSERT_EVENT = prepared(insert(SellerEvent))


def _document(event: SellerEvent) -> dict[str, Any]:
    return _link_document(
        event.seller_id, event.seq, event.actor_id, event.action, event.payload, event.occurred_at
    )


def _link_document(
    seller_id: str, seq: int, actor_id: str, action: str, payload: Any, occurred_at: datetime
) -> dict[str, Any]:
    return {
        "seller_id": seller_id,
        "seq": seq,
        "actor": actor_id,
        "action": action,
        "payload": payload,
        "occurred_at": canonical_time(occurred_at),
    }


def append(
    session: Session,
    *,
    standing: SellerStanding,
    actor_id: str,
    action: str,
    payload: dict[str, Any],
    at: datetime,
) -> None:
    """Add the next link of the seller's chain, as a plain row.

    ``standing`` is locked by the caller (``ledger.lock_standing`` read it ``FOR UPDATE``), so the
    head it holds is the row's: the link is counted on it, and the head is written with the row's
    other changes by the next flush, not by two statements a link.
    """
    seq, prev_hash = standing.event_count + 1, standing.last_event_hash
    # Round-trip the payload through JSON so the hash covers exactly what the database returns.
    payload = json.loads(json.dumps(payload))
    link_hash = chain_hash(
        prev_hash, _link_document(standing.seller_id, seq, actor_id, action, payload, at)
    )
    row = {
        "seller_id": standing.seller_id,
        "seq": seq,
        "actor_id": actor_id,
        "action": action,
        "payload": payload,
        "occurred_at": at,
        "prev_hash": prev_hash,
        "hash": link_hash,
    }
    execute_core(session, _INSERT_EVENT, row, flush=False)  # it refers to no row
    standing.event_count, standing.last_event_hash = seq, link_hash


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
