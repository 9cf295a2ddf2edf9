"""Idempotency keys (DESIGN §9): the same key and body replay the first response; another body is a 409.

A key is claimed by inserting its row, in the same transaction as the work it guards; a concurrent
duplicate hits the primary key and replays the winner instead of doing the work twice.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arbitration.errors import Conflict
from arbitration.models import IdempotencyRecord


def fingerprint(method: str, path: str, body: Any) -> str:
    """What "the same request" means: same method, path and JSON body (key order ignored)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def claim(
    session: Session, *, account_id: str, key: str, request_fingerprint: str, at: datetime
) -> IdempotencyRecord | None:
    """Claim ``key`` for this request; returns the earlier record to replay if it was used before."""
    record = IdempotencyRecord(
        account_id=account_id, key=key, fingerprint=request_fingerprint, created_at=at
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        earlier = session.get(IdempotencyRecord, (account_id, key), populate_existing=True)
        assert earlier is not None
        if earlier.fingerprint != request_fingerprint:
            raise Conflict(
                "this Idempotency-Key was used with a different request",
                code="idempotency_key_reused",
                details={"idempotency_key": key},
            ) from None
        return earlier
    return None


def remember(session: Session, *, account_id: str, key: str, status_code: int, body: Any) -> None:
    record = session.get(IdempotencyRecord, (account_id, key))
    assert record is not None
    record.status_code = status_code
    record.response = body
