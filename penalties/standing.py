"""A seller's standing (DESIGN §5): what the marketplace must enforce now, and the violation history.

Standing reads the seller's totals row and the live penalties over the ``(seller_id, status)``
index; it never loads the violation history, so it costs the same for a seller with ten past
violations as for one with a hundred thousand. A penalty past its end no longer counts, even
before the sweep has marked it expired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from arbitration.accounts import SELLER, Caller
from arbitration.errors import NotFound, ValidationFailed
from arbitration.models import Account, Recovery
from arbitration.policy import Policy
from arbitration.recoveries import OWES_RECOVERY, is_overdue, open_recoveries
from penalties import ledger
from penalties.browse import decode_cursor, encode_cursor, may_see_seller
from penalties.explain import in_force
from penalties.models import ACTIVE, PENDING_REVIEW, Penalty, SellerStanding, Violation

# What each penalty kind switches off.
BLOCKS_LISTING = frozenset({"listing_restriction", "account_freeze", "permanent_ban"})
BLOCKS_SELLING = frozenset({"account_freeze", "permanent_ban"})
HIDES_FROM_SEARCH = frozenset({"search_shielding", "account_freeze", "permanent_ban"})


@dataclass
class Standing:
    seller_id: str
    points: dict[str, int]
    active_penalties: list[Penalty] = field(default_factory=list)
    pending_review: list[Penalty] = field(default_factory=list)
    # What the seller owes for refunds the platform paid first (DESIGN §5a).
    open_recoveries: list[Recovery] = field(default_factory=list)
    recovery_overdue: bool = False

    @property
    def _kinds(self) -> set[str]:
        return {penalty.kind for penalty in self.active_penalties}

    @property
    def can_list(self) -> bool:
        return not self._kinds & BLOCKS_LISTING

    @property
    def can_sell(self) -> bool:
        """No freeze or ban, and no recovery overdue (DESIGN §5a) until it is recovered."""
        return not self._kinds & BLOCKS_SELLING and not self.recovery_overdue

    @property
    def visible_in_search(self) -> bool:
        return not self._kinds & HIDES_FROM_SEARCH

    @property
    def frozen(self) -> bool:
        return "account_freeze" in self._kinds or self.banned

    @property
    def banned(self) -> bool:
        return "permanent_ban" in self._kinds


def _require_visible(session: Session, caller: Caller, seller_id: str) -> None:
    """A 404 for a seller the caller may not see, and for an id that names no seller at all."""
    account = session.get(Account, seller_id)
    if account is None or account.role != SELLER or not may_see_seller(caller, seller_id):
        raise NotFound(f"no seller {seller_id}")


# The seller's role, their totals row, their live penalties and whether they owe an open recovery, in one
# statement over the primary keys and the ``(seller_id, status)`` indexes: one row per live penalty
# (or one row without). Built once.
_SELLER_WITH_LIVE_PENALTIES = (
    select(Account.role, SellerStanding, Penalty, OWES_RECOVERY)
    .outerjoin(SellerStanding, SellerStanding.seller_id == Account.id)
    .outerjoin(
        Penalty,
        and_(Penalty.seller_id == Account.id, Penalty.status.in_((ACTIVE, PENDING_REVIEW))),
    )
    .where(Account.id == bindparam("seller_id"))
)


def standing(
    session: Session, *, caller: Caller, seller_id: str, policy: Policy, at: datetime
) -> Standing:
    """What the seller may do now (platform, trust & safety, admins, the seller; else a 404)."""
    rows = session.execute(_SELLER_WITH_LIVE_PENALTIES, {"seller_id": seller_id}).all()
    role = rows[0].role if rows else None
    if role != SELLER or not may_see_seller(caller, seller_id):
        raise NotFound(f"no seller {seller_id}")
    row = rows[0][1]
    points = {
        name: ledger.ledger_points(session, row, name, policy.penalties, at) if row else 0
        for name in ("general", "severe")
    }
    result = Standing(seller_id=seller_id, points=points)
    live = [penalty for _, _, penalty, _ in rows if penalty is not None]
    # Sorted here, not in SQL: an ORDER BY id may tempt the planner off the (seller, status)
    # index into a scan of every penalty in id order, and a seller has few live penalties.
    for penalty in sorted(live, key=lambda penalty: penalty.id):
        if penalty.status == PENDING_REVIEW:
            result.pending_review.append(penalty)
        elif in_force(penalty, at):
            result.active_penalties.append(penalty)
    if rows[0].owes_recovery:
        result.open_recoveries = open_recoveries(session, seller_id=seller_id)
    result.recovery_overdue = any(is_overdue(owed, at) for owed in result.open_recoveries)
    return result


@dataclass(frozen=True)
class ViolationPage:
    violations: list[Violation]
    next_cursor: str | None


def violations(
    session: Session,
    *,
    caller: Caller,
    seller_id: str,
    cursor: str | None = None,
    limit: int = 50,
) -> ViolationPage:
    """The seller's violations, newest first, a page at a time over ``(seller_id, recorded_at)``."""
    _require_visible(session, caller, seller_id)
    query = (
        select(Violation)
        .where(Violation.seller_id == seller_id)
        .order_by(Violation.recorded_at.desc(), Violation.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        last = session.get(Violation, decode_cursor(cursor, "vio"))
        if last is None or last.seller_id != seller_id:
            raise ValidationFailed("bad cursor", details={"cursor": ["not a cursor we issued"]})
        query = query.where(
            or_(
                Violation.recorded_at < last.recorded_at,
                and_(Violation.recorded_at == last.recorded_at, Violation.id < last.id),
            )
        )
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return ViolationPage(rows, encode_cursor(rows[-1].id) if more else None)
