"""Anchored history: signed checkpoints of every chain head (dispute and seller chains).

A database writer could rewrite a whole chain consistently and ``audit verify`` would pass. A
checkpoint signed with the engine's Ed25519 key (``ARBITRATION_AUDIT_SIGNING_KEY``), kept by a
third party (fetched from ``/v1/audit/checkpoints`` or received as the ``audit.checkpoint``
webhook), fixes each chain's length and head hash at that moment: ``verify_against`` proves the
history since then was only appended to, naming each dispute or seller whose past changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arbitration.audit import canonical_time
from arbitration.clock import Clock
from arbitration.db import Database
from arbitration.models import Dispute, Event
from arbitration.policy import WebhookPolicy
from penalties.models import SellerEvent, SellerStanding
from webhooks import outbox
from webhooks.catalogue import AUDIT_STREAM, CHECKPOINT_TYPE, Outgoing
from webhooks.models import Checkpoint

log = logging.getLogger(__name__)

KEY_ENV_VAR = "ARBITRATION_AUDIT_SIGNING_KEY"
FORMAT = "arbitration-checkpoint/1"
BATCH = 500


class SigningKeyError(Exception):
    """The signing key is missing or not 32 bytes of hex."""


def new_signing_key() -> str:
    """A fresh Ed25519 private key, as the 64 hex digits ``ARBITRATION_AUDIT_SIGNING_KEY`` takes."""
    return Ed25519PrivateKey.generate().private_bytes_raw().hex()


def load_signing_key(value: str) -> Ed25519PrivateKey:
    try:
        raw = bytes.fromhex(value.strip())
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise SigningKeyError(f"{KEY_ENV_VAR} must be 64 hex digits (an Ed25519 seed)") from None


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def key_id(public_hex: str) -> str:
    """A short name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def _heads(session: Session) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    disputes = {
        dispute_id: [count, head]
        for dispute_id, count, head in session.execute(
            select(Dispute.id, Dispute.event_count, Dispute.last_event_hash)
            .where(Dispute.event_count > 0)
            .order_by(Dispute.id)
        )
    }
    sellers = {
        seller_id: [count, head]
        for seller_id, count, head in session.execute(
            select(
                SellerStanding.seller_id, SellerStanding.event_count, SellerStanding.last_event_hash
            )
            .where(SellerStanding.event_count > 0)
            .order_by(SellerStanding.seller_id)
        )
    }
    return disputes, sellers


def _canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def take(session: Session, *, key: Ed25519PrivateKey, at: datetime) -> Checkpoint:
    """Sign every chain head now, store it, and put the ``audit.checkpoint`` webhook in the outbox."""
    last = session.scalars(select(Checkpoint).order_by(Checkpoint.seq.desc()).limit(1)).first()
    disputes, sellers = _heads(session)
    public_hex = public_key_hex(key)
    document = {
        "format": FORMAT,
        "seq": (last.seq + 1) if last else 1,
        "taken_at": canonical_time(at),
        "previous": hashlib.sha256(last.document.encode()).hexdigest() if last else None,
        "key_id": key_id(public_hex),
        "disputes": disputes,
        "sellers": sellers,
    }
    text = _canonical(document)
    checkpoint = Checkpoint(
        seq=document["seq"],
        taken_at=at,
        document=text,
        signature=key.sign(text.encode()).hex(),
        key_id=document["key_id"],
    )
    session.add(checkpoint)
    session.flush()  # a second worker taking the same seq fails here (primary key)
    outbox.write(
        session,
        Outgoing(
            CHECKPOINT_TYPE,
            AUDIT_STREAM,
            None,
            {
                **exported(checkpoint),
                "disputes": len(disputes),
                "sellers": len(sellers),
            },
        ),
        at=at,
    )
    return checkpoint


def exported(checkpoint: Checkpoint) -> dict[str, Any]:
    """What a third party keeps: the exact signed text, its signature and the key's id."""
    return {
        "seq": checkpoint.seq,
        "taken_at": checkpoint.taken_at.isoformat(),
        "document": checkpoint.document,
        "signature": checkpoint.signature,
        "key_id": checkpoint.key_id,
    }


def take_if_due(
    database: Database, *, key: Ed25519PrivateKey, policy: WebhookPolicy, clock: Clock
) -> Checkpoint | None:
    """A checkpoint when ``checkpoint_interval`` has passed since the last one (or there is none)."""
    at = clock.now()
    try:
        with database.unit_of_work() as session:
            last_at = session.scalar(select(func.max(Checkpoint.taken_at)))
            if last_at is not None and at - last_at < policy.checkpoint_interval:
                return None
            return take(session, key=key, at=at)
    except IntegrityError:
        log.info("another worker took this checkpoint")
        return None


# Verifying history against a kept checkpoint --------------------------------------------------


@dataclass(frozen=True)
class Rewritten:
    kind: str  # dispute or seller
    owner_id: str
    problem: str

    def __str__(self) -> str:
        return f"{self.kind} {self.owner_id}: {self.problem}"


class BadCheckpoint(Exception):
    """The file is not a checkpoint, or its signature does not verify with the engine's key."""


def read_checkpoint(kept: dict[str, Any], *, public_hex: str) -> dict[str, Any]:
    """The signed document of a kept checkpoint, once its signature checks out."""
    try:
        text, signature = kept["document"], bytes.fromhex(kept["signature"])
    except (KeyError, TypeError, ValueError):
        raise BadCheckpoint("not a checkpoint: expected document and signature") from None
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    try:
        public.verify(signature, text.encode())
    except InvalidSignature:
        raise BadCheckpoint("the checkpoint's signature does not verify with this key") from None
    document: dict[str, Any] = json.loads(text)
    if document.get("format") != FORMAT:
        raise BadCheckpoint(f"unknown checkpoint format {document.get('format')!r}")
    return document


def _chunks(items: dict[str, list[Any]]) -> Iterator[dict[str, list[Any]]]:
    keys = list(items)
    for start in range(0, len(keys), BATCH):
        yield {key: items[key] for key in keys[start : start + BATCH]}


def verify_against(session: Session, document: dict[str, Any]) -> list[Rewritten]:
    """Every chain the checkpoint names still holds, at the length it had, the head it had."""
    problems: list[Rewritten] = []
    for kind, model, owner_column in (
        ("dispute", Event, Event.dispute_id),
        ("seller", SellerEvent, SellerEvent.seller_id),
    ):
        heads: dict[str, list[Any]] = document.get(f"{kind}s", {})
        for chunk in _chunks(heads):
            found = {
                (owner, seq): link_hash
                for owner, seq, link_hash in session.execute(
                    select(owner_column, model.seq, model.hash).where(owner_column.in_(chunk))
                )
            }
            for owner, (count, head) in chunk.items():
                now = found.get((owner, count))
                if now is None:
                    problem = f"event {count}, the head at the checkpoint, is gone"
                elif now != head:
                    problem = f"history up to event {count} was rewritten since the checkpoint"
                else:
                    continue
                problems.append(Rewritten(kind, owner, problem))
    return problems
