"""Reading penalties: one by id, or a page of them for trust & safety (newest first).

Who may see a penalty: trust & safety, admins, the platform's own account, and the penalised
seller (directly or through the platform acting on their behalf). To anyone else it does not
exist: a 404, not a 403, as for another party's dispute.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.accounts import ADMIN, PLATFORM, TRUST_SAFETY, Caller
from arbitration.errors import Forbidden, NotFound, ValidationFailed
from arbitration.ids import is_generated_id
from penalties.models import Penalty

# Who sees every seller's penalties and standing (the platform only with its own token).
OVERSEERS = frozenset({TRUST_SAFETY, ADMIN, PLATFORM})


def oversees(caller: Caller) -> bool:
    """Whether the caller may see every seller's record (not the platform acting for someone)."""
    return caller.via is None and caller.role in OVERSEERS


def may_see_seller(caller: Caller, seller_id: str) -> bool:
    return oversees(caller) or caller.id == seller_id


# Cursors ----------------------------------------------------------------------------------------


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode()


def decode_cursor(cursor: str, prefix: str) -> str:
    """A cursor is the last id of the previous page, base64-encoded; anything else is refused."""
    try:
        last_id = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        last_id = ""
    if not is_generated_id(last_id, prefix) or encode_cursor(last_id) != cursor:
        raise ValidationFailed("bad cursor", details={"cursor": ["not a cursor we issued"]})
    return last_id


# Penalties --------------------------------------------------------------------------------------


def get_penalty(session: Session, *, caller: Caller, penalty_id: str) -> Penalty:
    penalty = session.get(Penalty, penalty_id)
    if penalty is None or not may_see_seller(caller, penalty.seller_id):
        raise NotFound(f"no penalty {penalty_id}")
    return penalty


@dataclass(frozen=True)
class PenaltyFilters:
    status: str | None = None
    seller_id: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class PenaltyPage:
    penalties: list[Penalty]
    next_cursor: str | None


def list_penalties(
    session: Session,
    *,
    caller: Caller,
    filters: PenaltyFilters,
    cursor: str | None = None,
    limit: int = 50,
) -> PenaltyPage:
    """Every seller's penalties, newest first (trust & safety, admins, the platform)."""
    if not oversees(caller):
        raise Forbidden("only trust & safety, admins and the platform list penalties")
    query = select(Penalty).order_by(Penalty.id.desc()).limit(limit + 1)
    for field in ("status", "seller_id", "kind"):
        value = getattr(filters, field)
        if value is not None:
            query = query.where(getattr(Penalty, field) == value)
    if cursor:
        query = query.where(Penalty.id < decode_cursor(cursor, "pen"))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return PenaltyPage(rows, encode_cursor(rows[-1].id) if more else None)
