"""Evidence use cases: add a file or a statement, list what a caller may see, serve verified bytes.

A file's bytes are already in the blob store when ``add_file`` runs (``evidence.keeping``): it
writes the row, the audit link and the domain event in the caller's unit of work.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arbitration import audit, events
from arbitration.accounts import STAFF_ROLES, Caller
from arbitration.disputes import get_dispute
from arbitration.errors import Conflict, Forbidden, NotFound, ValidationFailed
from arbitration.flows import authorize
from arbitration.ids import is_generated_id, new_id
from arbitration.models import Dispute
from arbitration.policy import EvidencePolicy
from evidence.errors import EvidenceCorrupted, EvidenceRemoved
from evidence.intake import CheckedFile
from evidence.models import ARBITRATORS_ONLY, STATEMENT, Evidence
from evidence.storage import CHUNK_BYTES, BlobMissing, BlobStore

log = logging.getLogger(__name__)

ACTION = "add-evidence"
TEXT_MEDIA_TYPE = "text/plain"


# Who sees what ------------------------------------------------------------------------------------


def is_staff(caller: Caller) -> bool:
    """Platform staff acting as themselves (not the platform acting for someone)."""
    return caller.via is None and caller.role in STAFF_ROLES


def may_read(dispute: Dispute, caller: Caller) -> bool:
    """Evidence is for the dispute's two parties and staff; the platform's own account sees none."""
    return caller.id in (dispute.buyer_id, dispute.seller_id) or is_staff(caller)


def sees(item: Evidence, caller: Caller) -> bool:
    """``arbitrators_only`` hides an item from the other party; its author and staff still see it."""
    return item.visibility != ARBITRATORS_ONLY or item.author_id == caller.id or is_staff(caller)


def shown_in_timeline(
    *, action: str, actor_id: str, payload: dict[str, Any], caller: Caller
) -> bool:
    """The timeline link of an ``arbitrators_only`` item shows its author and staff what it holds;
    the other party sees only that something was added (its hash would let them confirm a guess)."""
    hidden = action == ACTION and payload.get("visibility") == ARBITRATORS_ONLY
    return not hidden or actor_id == caller.id or is_staff(caller)


# Adding --------------------------------------------------------------------------------------------


def check_may_add(session: Session, *, caller: Caller, dispute_id: str) -> None:
    """Refuse a caller who may not add evidence now, before any bytes are stored (read-only)."""
    authorize(session, dispute_id=dispute_id, action=ACTION, caller=caller)


def add_file(
    session: Session,
    *,
    caller: Caller,
    dispute_id: str,
    kind: str,
    visibility: str,
    note: str | None,
    stored: CheckedFile,
    policy: EvidencePolicy,
    at: datetime,
) -> Evidence:
    """Record a file already in the blob store under ``stored.sha256``."""
    return _add(
        session,
        caller=caller,
        dispute_id=dispute_id,
        policy=policy,
        at=at,
        kind=kind,
        visibility=visibility,
        note=note,
        sha256=stored.sha256,
        size=stored.size,
        media_type=stored.media_type,
        display_name=stored.display_name,
    )


def add_statement(
    session: Session,
    *,
    caller: Caller,
    dispute_id: str,
    text: str,
    visibility: str,
    policy: EvidencePolicy,
    at: datetime,
) -> Evidence:
    """Record a written statement; its hash goes into the audit chain like a file's."""
    if not text.strip():
        raise ValidationFailed("the statement is empty", details={"text": ["must not be blank"]})
    data = text.encode("utf-8")
    return _add(
        session,
        caller=caller,
        dispute_id=dispute_id,
        policy=policy,
        at=at,
        kind=STATEMENT,
        visibility=visibility,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        media_type=TEXT_MEDIA_TYPE,
    )


def _add(
    session: Session,
    *,
    caller: Caller,
    dispute_id: str,
    policy: EvidencePolicy,
    at: datetime,
    **fields: object,
) -> Evidence:
    dispute, actor = authorize(session, dispute_id=dispute_id, action=ACTION, caller=caller)
    _lock_unchanged(session, dispute)
    already = session.scalar(
        select(func.count())
        .select_from(Evidence)
        .where(Evidence.dispute_id == dispute.id, Evidence.author_id == caller.id)
    )
    if already is not None and already >= policy.max_files_per_party:
        limit = policy.max_files_per_party
        raise ValidationFailed(
            f"you have already added {already} items to this dispute; the limit is {limit}",
            details={"file": [f"at most {limit} items per party per dispute"], "limit": limit},
        )
    item = Evidence(
        id=new_id("evd", at),
        dispute_id=dispute.id,
        author_id=caller.id,
        author_role=actor,
        created_at=at,
        **fields,
    )
    session.add(item)
    payload: dict[str, object] = {
        "evidence_id": item.id,
        "kind": item.kind,
        "sha256": item.sha256,
        "size": item.size,
        "media_type": item.media_type,
        "visibility": item.visibility,
    }
    if caller.via is not None:
        payload["via"] = caller.via.id
    audit.note(
        session,
        dispute_id=dispute.id,
        status=dispute.status,
        actor_id=caller.id,
        action=ACTION,
        payload=payload,
        at=at,
    )
    events.record(
        session,
        events.EvidenceAdded(
            dispute_id=dispute.id,
            at=at,
            evidence_id=item.id,
            author_id=caller.id,
            kind=item.kind,
            sha256=item.sha256,
            visibility=item.visibility,
        ),
    )
    session.flush()
    return item


def _lock_unchanged(session: Session, dispute: Dispute) -> None:
    """Lock the dispute row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) so
    the count of a party's items cannot race, and refuse if the status moved since it was read."""
    status = session.scalar(
        select(Dispute.status).where(Dispute.id == dispute.id).with_for_update()
    )
    if status != dispute.status:
        raise Conflict(
            "the dispute changed while the evidence was being added; try again",
            details={"status": status},
        )


# Reading -------------------------------------------------------------------------------------------


def list_evidence(session: Session, *, caller: Caller, dispute_id: str) -> list[Evidence]:
    """The dispute's evidence the caller may see, oldest first."""
    dispute = get_dispute(session, caller=caller, dispute_id=dispute_id)
    if not may_read(dispute, caller):
        raise Forbidden("evidence is shown only to the dispute's parties and staff")
    items = session.scalars(
        select(Evidence)
        .where(Evidence.dispute_id == dispute.id)
        .order_by(Evidence.created_at, Evidence.id)
    )
    return [item for item in items if sees(item, caller)]


def get_evidence(session: Session, *, caller: Caller, evidence_id: str) -> Evidence:
    """One item, if the caller may see it (otherwise, as for anything hidden, 404)."""
    item = session.get(Evidence, evidence_id) if is_generated_id(evidence_id, "evd") else None
    if item is not None:
        dispute = session.get(Dispute, item.dispute_id)
        if dispute is not None and may_read(dispute, caller) and sees(item, caller):
            return item
    raise NotFound(f"no evidence {evidence_id}")


def verified_content(storage: BlobStore, item: Evidence) -> BinaryIO:
    """The item's bytes, checked against the SHA-256 in the audit chain, as a rewound stream.

    Files are copied to a temporary file while hashed, so what is served is exactly what was
    checked, even if the stored copy changes meanwhile. Missing or altered bytes are never served,
    and an item the privacy purge removed is gone (``evidence.retention``).
    """
    if item.purged_at is not None:
        raise EvidenceRemoved(
            f"evidence {item.id} was removed with the dispute's personal data past retention",
            details={"evidence_id": item.id, "purged_at": item.purged_at.isoformat()},
        )
    if item.text is not None:
        data = item.text.encode("utf-8")
        if hashlib.sha256(data).hexdigest() != item.sha256:
            raise _corrupted(item, "the statement no longer matches its recorded SHA-256")
        return io.BytesIO(data)
    try:
        blob = storage.open(item.sha256)
    except BlobMissing:
        raise _corrupted(item, "the stored file is missing") from None
    copy = tempfile.TemporaryFile()  # noqa: SIM115  (returned open, closed once served)
    digest = hashlib.sha256()
    size = 0
    with blob:
        while size <= item.size and (chunk := blob.read(CHUNK_BYTES)):
            size += len(chunk)
            digest.update(chunk)
            copy.write(chunk)
    if size != item.size or digest.hexdigest() != item.sha256:
        copy.close()
        raise _corrupted(item, "the stored file no longer matches its recorded SHA-256")
    copy.seek(0)
    return copy


def _corrupted(item: Evidence, problem: str) -> EvidenceCorrupted:
    log.error("evidence %s (sha256 %s): %s", item.id, item.sha256, problem)
    return EvidenceCorrupted(
        f"evidence {item.id} cannot be served: {problem}",
        details={"evidence_id": item.id, "sha256": item.sha256},
    )
