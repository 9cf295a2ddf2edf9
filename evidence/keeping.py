"""Bytes cannot join a database transaction, so a file is stored before its unit of work opens,
and afterwards kept only if a committed evidence row references it: a refused or failed request
leaves no bytes behind, and bytes another row still needs are never removed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.db import Database
from arbitration.errors import Conflict
from evidence.intake import CheckedFile
from evidence.models import STATEMENT, Evidence
from evidence.storage import BlobStore

log = logging.getLogger(__name__)


@contextmanager
def holding(database: Database, storage: BlobStore, upload: CheckedFile) -> Iterator[None]:
    """Store ``upload`` before the unit of work the ``with`` body runs, and afterwards keep the
    blob only if an evidence row references it (the same bytes may back rows of other uploads)."""
    sha256 = storage.put(upload.stream)
    if sha256 != upload.sha256:  # the bytes changed since they were checked: keep none of them
        _settle(database, storage, sha256, upload)
        raise Conflict("the upload changed while it was being stored; send it again")
    try:
        yield
    finally:
        _settle(database, storage, sha256, upload)


def _settle(database: Database, storage: BlobStore, sha256: str, upload: CheckedFile) -> None:
    """Delete the blob unless referenced; if a concurrent upload of the same bytes committed its
    row meanwhile, put the bytes back (each side re-checks after the other could have acted)."""
    try:
        if _referenced(database, sha256):
            if not storage.exists(sha256):
                _put_again(storage, upload)
            return
        storage.delete(sha256)
        if _referenced(database, sha256):
            _put_again(storage, upload)
    except Exception:
        log.exception("could not settle evidence blob %s", sha256)


def _referenced(database: Database, sha256: str) -> bool:
    with database.unit_of_work(read_only=True) as session:
        return needed(session, sha256)


def needed(session: Session, sha256: str) -> bool:
    """Whether a file item the privacy purge has not removed has these bytes."""
    found = session.scalar(
        select(Evidence.id)
        .where(
            Evidence.sha256 == sha256,
            Evidence.kind != STATEMENT,
            Evidence.purged_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


def _put_again(storage: BlobStore, upload: CheckedFile) -> None:
    upload.rewind()
    storage.put(upload.stream)
