"""The audit trail (DESIGN §6): per-dispute hash chains of append-only events.

``hash = sha256(prev_hash + canonical event)``, where the canonical event is sorted, compact JSON.
Anyone holding the rows can recompute every link; ``verify_chains`` names the first broken one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Update, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from arbitration import json_text
from arbitration.db import execute_core, execute_later
from arbitration.events import TimelineEventAppended, record
from arbitration.models import Dispute, Event
from arbitration.statements import prepared

GENESIS_HASH = "0" * 64

# Payload fields that may hold a person's words or data. Since hash version 2 a link's hash
# covers a SHA-256 of each of them, not the value, so ``privacy purge`` can remove the value,
# keep its hash (``{"redacted_sha256": …}``) and leave the chain verifiable.
PERSONAL_FIELDS = frozenset(
    {"reason", "note", "question", "description", "rationale", "tracking_number", "carrier"}
)
# ... except where the field holds a code, not words: the reason a dispute was filed for.
NOT_PERSONAL = frozenset({("file", "reason")})
REDACTED = "redacted_sha256"
HASH_VERSION = 2
_HELD_HEADS = "arbitration.audit.held_heads"


def canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _link_hash(prev_hash: str, event: Event) -> str:
    """sha256(prev_hash + the event as sorted, compact JSON)."""
    return chain_hash(prev_hash, _document(event))


# Sorted, compact JSON, the form every hash covers: one encoder, built once (``json.dumps`` with
# these options builds one a call, then calls its ``encode``: the same text).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def value_digest(value: Any) -> str:
    """The SHA-256 of a value as sorted, compact JSON: what a redaction keeps of it."""
    return hashlib.sha256(_CANONICAL.encode(value).encode()).hexdigest()


def is_redacted(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REDACTED}


def is_personal(action: str, key: str) -> bool:
    """Whether payload field ``key`` of an ``action`` event may hold personal data."""
    return key in PERSONAL_FIELDS and (action, key) not in NOT_PERSONAL


def _sealed(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with each personal field replaced by its digest (kept as is if redacted)."""
    sealed = dict(payload)
    for key in PERSONAL_FIELDS.intersection(payload):  # few keys of a payload are personal
        if is_personal(action, key):
            value = payload[key]
            sealed[key] = {"sha256": value[REDACTED] if is_redacted(value) else value_digest(value)}
    return sealed


def _document(event: Event) -> dict[str, Any]:
    """What a dispute event's hash covers."""
    return _link_document(
        dispute_id=event.dispute_id,
        seq=event.seq,
        actor_id=event.actor_id,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        payload=event.payload,
        occurred_at=event.occurred_at,
        hash_version=event.hash_version,
    )


def _link_document(
    *,
    dispute_id: str,
    seq: int,
    actor_id: str,
    action: str,
    from_status: str | None,
    to_status: str,
    payload: dict[str, Any],
    occurred_at: datetime,
    hash_version: int,
) -> dict[str, Any]:
    return {
        "dispute_id": dispute_id,
        "seq": seq,
        "actor": actor_id,
        "action": action,
        "from": from_status,
        "to": to_status,
        "payload": payload if hash_version == 1 else _sealed(action, payload),
        "occurred_at": canonical_time(occurred_at),
    }


# Values JSON hands back as they went in (not a subclass: an IntEnum comes back a plain int).
_JSON_SCALARS = frozenset({str, int, bool, type(None)})
_TEXT = frozenset({str})


def as_stored(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as the database will return it, so a hash covers exactly that: a copy when
    every key is text and every value a plain string, number or null, else a JSON round trip."""
    if _TEXT.issuperset(map(type, payload)) and _JSON_SCALARS.issuperset(
        map(type, payload.values())
    ):
        return dict(payload)
    return json.loads(json_text.dumps_bytes(payload))  # type: ignore[no-any-return]


def chain_hash(prev_hash: str, document: dict[str, Any]) -> str:
    """A link of any hash chain (a dispute's, a seller's): sha256(prev_hash + sorted, compact JSON)."""
    canonical = _CANONICAL.encode(document)
    return hashlib.sha256(prev_hash.encode() + canonical.encode()).hexdigest()


def head_statements(key: Any) -> tuple[Update, Update]:
    """The two statements of a hash chain whose head (``event_count``, ``last_event_hash``) sits
    on the row ``key`` names (a dispute's, a seller's standing): bump the count, returning it and
    the previous hash, then set the new hash. Both take the key as ``:key``; built once each."""
    table = key.class_
    bump = (
        update(table)
        .where(key == bindparam("key"))
        .values(event_count=table.event_count + 1)
        .returning(table.event_count, table.last_event_hash)
        .execution_options(synchronize_session=False)
    )
    set_hash = (
        update(table)
        .where(key == bindparam("key"))
        .values(last_event_hash=bindparam("hash"))
        .execution_options(synchronize_session=False)
    )
    return prepared(bump), prepared(set_hash)


_BUMP_HEAD, _SET_HEAD_HASH = head_statements(Dispute.id)
_INSERT_EVENT = prepared(insert(Event))


def hold_head(session: Session, dispute: Dispute) -> None:
    """This transaction holds ``dispute``'s row (it won the compare-and-set, or it is filing it),
    and ``dispute.event_count``/``last_event_hash`` are the row's: its links are counted on the
    object from now on and written with the row's other changes, not two statements a link."""
    session.info.setdefault(_HELD_HEADS, {})[dispute.id] = dispute


@dataclass(frozen=True)
class NewLink:
    """A link taken on a chain (its sequence number and hash counted), not yet inserted."""

    row: dict[str, Any]
    announced: TimelineEventAppended


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
) -> None:
    """Add the next link of the dispute's chain, in the caller's transaction."""
    link = new_link(
        session,
        dispute_id=dispute_id,
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        payload=payload,
        at=at,
    )
    write_link(session, link)


def new_link(
    session: Session,
    *,
    dispute_id: str,
    actor_id: str,
    action: str,
    from_status: str | None,
    to_status: str,
    payload: dict[str, Any],
    at: datetime,
) -> NewLink:
    """Take the next link of the dispute's chain: the head moves to it now; ``write_link``
    inserts it (a filing first inserts the dispute row, which carries the head).

    The dispute row holds the chain's head. Unless this transaction already holds the row
    (``hold_head``), bumping the head first locks it (PostgreSQL), so two writers never take the
    same sequence number.
    """
    held: Dispute | None = session.info.get(_HELD_HEADS, {}).get(dispute_id)
    if held is not None:
        seq, prev_hash = held.event_count + 1, held.last_event_hash
    else:
        head = execute_core(session, _BUMP_HEAD, {"key": dispute_id}).one()
        seq, prev_hash = head[0], head[1]
    payload = as_stored(payload)
    row = {
        "dispute_id": dispute_id,
        "seq": seq,
        "actor_id": actor_id,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "payload": payload,
        "occurred_at": at,
        "prev_hash": prev_hash,
        "hash_version": HASH_VERSION,
    }
    link_hash = row["hash"] = chain_hash(
        prev_hash,
        _link_document(
            dispute_id=dispute_id,
            seq=seq,
            actor_id=actor_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            payload=payload,
            occurred_at=at,
            hash_version=HASH_VERSION,
        ),
    )
    if held is not None:
        held.event_count = seq
        held.last_event_hash = link_hash
    else:
        execute_core(session, _SET_HEAD_HASH, {"key": dispute_id, "hash": link_hash})
        _keep_head_current(session, dispute_id, seq, link_hash)
    announced = TimelineEventAppended(
        dispute_id=dispute_id,
        at=at,
        seq=seq,
        action=action,
        actor_id=actor_id,
        from_status=from_status,
        to_status=to_status,
        payload=payload,
    )
    return NewLink(row, announced)


def _keep_head_current(session: Session, dispute_id: str, seq: int, link_hash: str) -> None:
    """The head just moved in SQL: a copy of the row the session holds shows it too, so a later
    step that holds the row (``flows.act``, which may take the head as read) counts on from it."""
    dispute = session.identity_map.get(identity_key(Dispute, dispute_id))
    if isinstance(dispute, Dispute):
        set_committed_value(dispute, "event_count", seq)
        set_committed_value(dispute, "last_event_hash", link_hash)


def write_link(session: Session, link: NewLink) -> None:
    """Insert a link ``new_link`` took and announce it.

    A plain row: links are only ever inserted, so there is no object to track. The flush before
    it writes the held head with the row's other changes (the link refers to the row).
    """
    execute_later(session, _INSERT_EVENT, link.row)
    record(session, link.announced)


def note(
    session: Session,
    *,
    dispute_id: str,
    status: str,
    actor_id: str,
    action: str,
    payload: dict[str, Any],
    at: datetime,
) -> None:
    """An event that leaves the status as it is: a flag, a reminder, a confirmation."""
    append_event(
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


VERIFY_BATCH = 500


def _chains(session: Session) -> Iterator[tuple[Dispute, list[Event]]]:
    """Each dispute with its events in order, a batch of disputes at a time (memory stays flat)."""
    after = ""
    while True:
        heads = list(
            session.scalars(
                select(Dispute).where(Dispute.id > after).order_by(Dispute.id).limit(VERIFY_BATCH)
            )
        )
        if not heads:
            return
        chains: dict[str, list[Event]] = {head.id: [] for head in heads}
        events = select(Event).where(Event.dispute_id.in_(chains)).order_by(Event.seq)
        for event in session.scalars(events):
            chains[event.dispute_id].append(event)
        for head in heads:
            yield head, chains[head.id]
        after = heads[-1].id
        session.expunge_all()


class ChainLink(Protocol):
    seq: int
    prev_hash: str
    hash: str


Link = TypeVar("Link", bound=ChainLink)


def first_break(
    chain: Sequence[Link],
    *,
    document: Callable[[Link], dict[str, Any]],
    head_count: int,
    head_hash: str,
    owner: str,
) -> tuple[int, str] | None:
    """Where a chain (a dispute's, a seller's) breaks: (sequence number, problem), or None.

    ``head_count`` and ``head_hash`` are what its owner row recorded, so a deleted tail shows.
    """
    prev_hash = GENESIS_HASH
    for expected_seq, link in enumerate(chain, start=1):
        if link.seq != expected_seq:
            return expected_seq, "event missing from the chain"
        if link.prev_hash != prev_hash:
            return link.seq, "does not link to the previous event"
        if chain_hash(prev_hash, document(link)) != link.hash:
            return link.seq, "content does not match its hash"
        prev_hash = link.hash
    if len(chain) != head_count or prev_hash != head_hash:
        problem = f"the chain ends at event {len(chain)} but the {owner} recorded {head_count}"
        return len(chain) + 1, problem
    return None


def _first_break(head: Dispute, chain: list[Event]) -> BrokenLink | None:
    found = first_break(
        chain,
        document=_document,
        head_count=head.event_count,
        head_hash=head.last_event_hash,
        owner="dispute",
    )
    return BrokenLink(head.id, *found) if found else None


def verify_chains(session: Session) -> VerifyReport:
    """Recompute every chain and check it reaches the head its dispute recorded."""
    disputes = events = 0
    broken: list[BrokenLink] = []
    for head, chain in _chains(session):
        disputes += 1
        events += len(chain)
        problem = _first_break(head, chain)
        if problem:
            broken.append(problem)
    return VerifyReport(disputes, events, broken)


def redact(event: Event) -> list[str]:
    """Replace the personal fields of a version-2 event by their digests; returns their names.

    The one change an event row may ever see: its hash, which covers only the digests, still holds.
    """
    if event.hash_version == 1:
        return []
    removed = [
        key
        for key, value in event.payload.items()
        if is_personal(event.action, key) and not is_redacted(value)
    ]
    if removed:
        event.payload = {
            key: {REDACTED: value_digest(value)} if key in removed else value
            for key, value in event.payload.items()
        }
    return removed
