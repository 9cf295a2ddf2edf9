"""The privacy purge's part in evidence (``arbitration privacy purge``): past retention, an item's
file name, note and words are removed, and its bytes once no item that is not purged has the
same SHA-256 (the same photo may back another dispute). The row stays, with the SHA-256 the audit
chain recorded, so every chain still verifies and the item is still listed, marked ``purged_at``;
asking for its content is a 410.

Bytes cannot join a transaction: the rows change in the purge's unit of work, and the bytes it
freed are deleted after it commits (``delete_freed``), each only if no item needs it by then. An
upload of the same bytes committed meanwhile puts them back itself (``keeping``); a crash between
the commit and the deletion leaves those bytes on disk, never served again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.db import Database
from evidence.keeping import needed
from evidence.models import Evidence
from evidence.storage import BlobStore

DISPUTES_A_STATEMENT = 500  # dispute ids bound in one look-up, well within every database's limit


@dataclass
class EvidencePurge:
    items: int = 0
    freed: list[str] = field(default_factory=list)  # SHA-256s no item that is not purged needs


def purge(session: Session, *, dispute_ids: Sequence[str], at: datetime) -> EvidencePurge:
    """Remove the personal data of the disputes' evidence not purged yet; say which bytes it
    freed (deleted by ``delete_freed`` once this unit of work has committed)."""
    report = EvidencePurge()
    files: set[str] = set()
    for start in range(0, len(dispute_ids), DISPUTES_A_STATEMENT):
        chosen = dispute_ids[start : start + DISPUTES_A_STATEMENT]
        items = session.scalars(
            select(Evidence).where(Evidence.dispute_id.in_(chosen), Evidence.purged_at.is_(None))
        ).all()
        for item in items:
            item.display_name = item.note = None
            if item.is_file:
                files.add(item.sha256)
            else:
                item.text = None
            item.purged_at = at
        report.items += len(items)
    session.flush()
    report.freed = sorted(sha256 for sha256 in files if not needed(session, sha256))
    return report


def delete_freed(database: Database, storage: BlobStore, freed: Iterable[str]) -> int:
    """Delete the bytes a committed purge freed that still no item needs; how many went."""
    deleted = 0
    for sha256 in freed:
        with database.unit_of_work(read_only=True) as session:
            if needed(session, sha256):
                continue
        storage.delete(sha256)
        deleted += 1
    return deleted
