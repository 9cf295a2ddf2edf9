"""Public warnings (DESIGN §7): the sellers under a public warning now, for anyone to read.

Only what the ladder recorded is published: the seller, since when, the ledger and threshold
crossed and the kinds of violation behind it. Never the notes or reasons people wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.models import Account
from penalties.models import ACTIVE, Penalty, Violation

PUBLIC_WARNING = "public_warning"


@dataclass(frozen=True)
class PublicWarning:
    penalty_id: str
    seller_id: str
    seller_name: str
    since: datetime | None
    ledger: str | None
    threshold: int | None
    violations: list[str]


def public_warnings(session: Session, *, seller_id: str | None = None) -> list[PublicWarning]:
    """Public warnings in force, newest first (one query for them, one for their violations)."""
    query = (
        select(Penalty, Account.display_name)
        .join(Account, Account.id == Penalty.seller_id)
        .where(Penalty.kind == PUBLIC_WARNING, Penalty.status == ACTIVE)
        .order_by(Penalty.id.desc())  # ids sort by creation time: the index's own order
    )
    if seller_id is not None:
        query = query.where(Penalty.seller_id == seller_id)
    rows = session.execute(query).all()
    wanted = {vid for penalty, _ in rows for vid in penalty.violation_ids}
    kinds = dict(
        session.execute(select(Violation.id, Violation.kind).where(Violation.id.in_(wanted))).all()
        if wanted
        else []
    )
    return [
        PublicWarning(
            penalty_id=penalty.id,
            seller_id=penalty.seller_id,
            seller_name=name,
            since=penalty.starts_at,
            ledger=penalty.ledger,
            threshold=penalty.threshold,
            violations=sorted({kinds[vid] for vid in penalty.violation_ids if vid in kinds}),
        )
        for penalty, name in rows
    ]
