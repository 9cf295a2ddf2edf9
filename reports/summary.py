"""The reports' one entry point: every KPI of DESIGN §7 (and the arbitrators' accountability
figures of §5a) for the disputes filed in a period, in total and per group.

``summarize`` runs a handful of aggregate queries (one row per group each) over indexed columns and
never loads a dispute into Python; the API, the CLI and the staff console all call it, so their
numbers agree. What each figure counts:

- **filed**: disputes filed in ``[since, until)`` (by default the last ``reports.default_period``);
  every other figure is about those disputes.
- **resolved**: of those filed, the closed ones; **outcomes**: closed ones per outcome.
- **median hours to resolution**: from filing to closing, over the closed ones.
- **settled by the parties**: closed without a ruling, by a party's move (an acceptance, an
  accepted offer, a confirmed return, a withdrawal); **closed by timeout**: closed without a
  ruling because a party let a deadline pass (the system's move). Both are shares of the closed.
- **escalated**: shares of filed disputes that reached the platform (evidence gathering).
- **SLA compliance**: rulings (and appeal rulings) made within the SLA of the case's priority,
  counted from when the case became ready for one; cases still waiting past their SLA count as
  misses.
- **appeals overturned**: of the appealed rulings, the share overturned.
- **refunds confirmed on time**: of the refunds whose confirmation window has passed (or that are
  confirmed), those the platform confirmed within ``refund_confirmation``.
- **satisfied**: of the satisfaction answers (both parties'), those at or above
  ``reports.satisfied_from``, against the goal ``reports.satisfaction_goal``; **dissatisfied**
  counts answers at or below ``reports.dissatisfied_up_to``.
- **cases ruled**, **median hours to rule**, **escalated to seniors** (cases that went past twice
  their SLA): the accountability figures, per arbitrator when grouped ``by="arbitrator"``.

Grouped by ``arbitrator``, rulings count for the arbitrator who made them, and a dispute's other
figures for the arbitrator who ruled on it first (or holds it now); ``None`` is nobody yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arbitration.errors import ValidationFailed
from arbitration.models import Dispute
from arbitration.policy import Policy
from reports.queries import TOTAL, FigureQueries, Figures, Rate, window
from reports.sql import utc_day

__all__ = ["GROUPINGS", "Day", "Figures", "Rate", "Summary", "daily_series", "summarize"]

GROUPINGS = ("reason", "category", "seller", "channel", "arbitrator")
# A daily series keeps at most its last this many days (a chart of ten years is not a chart).
MAX_SERIES_DAYS = 3660
# Fields of a Summary that ``to_dict`` converts itself rather than through ``_plain``.
_NOT_PLAIN = ("total", "groups", "daily")


@dataclass(frozen=True)
class Day:
    """Disputes filed and closed on one UTC day (the console's chart)."""

    day: date
    filed: int
    closed: int


@dataclass(frozen=True)
class Summary:
    by: str | None
    since: datetime | None
    until: datetime
    generated_at: datetime
    satisfaction_goal: float
    total: Figures
    groups: list[Figures]
    daily: list[Day] = field(default_factory=list)

    def to_dict(self, *, iso_times: bool = True) -> dict[str, Any]:
        """Plain data: rates carry their share; times are ISO 8601 text (or left as they are,
        for a schema to dump)."""
        # ``asdict`` deep-copies: fine for the figures, slow for years of days (an all-time report).
        figures = {"total": asdict(self.total), "groups": [asdict(g) for g in self.groups]}
        rest = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_PLAIN}
        plain: dict[str, Any] = _plain(rest | figures, iso_times)
        plain["daily"] = [
            {
                "day": day.day.isoformat() if iso_times else day.day,
                "filed": day.filed,
                "closed": day.closed,
            }
            for day in self.daily
        ]
        return plain


def summarize(
    session: Session,
    *,
    policy: Policy,
    at: datetime,
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Summary:
    """Every KPI for the disputes filed in ``[since, until)``, in total and, with ``by``, per
    reason, category, seller, channel or arbitrator.

    ``until`` defaults to ``at``; ``since`` to ``reports.default_period`` before ``until``, so that
    a report costs what its period holds, not what the table holds (an all-time report is an early
    ``since`` away). The API, the CLI and the console all take this default from here."""
    # Without an ``until``, everything filed up to now, this very moment included.
    end = until if until is not None else at + timedelta(microseconds=1)
    until = until or at
    if by is not None and by not in GROUPINGS:
        raise ValidationFailed(
            "unknown grouping", details={"by": [f"one of: {', '.join(GROUPINGS)}"]}
        )
    if since is None:
        since = until - policy.reports.default_period
    if since >= until:
        raise ValidationFailed("empty period", details={"since": ["must be before until"]})
    query = FigureQueries(session, policy=policy, at=at, since=since, until=end)
    total = query.figures(None)[TOTAL]
    groups = query.figures(by) if by else {}
    ordered = sorted(groups.values(), key=lambda f: (-f.filed, -f.cases_ruled, f.key or ""))
    return Summary(
        by=by,
        since=since,
        until=until,
        generated_at=at,
        satisfaction_goal=policy.reports.satisfaction_goal,
        total=total,
        groups=ordered,
        daily=daily_series(session, since=since, until=end),
    )


def daily_series(session: Session, *, since: datetime | None, until: datetime) -> list[Day]:
    """Filed and closed per UTC day in ``[since, until)``, every day present (zeros included),
    from ``since`` (or the first filing) to the day before ``until`` (or ``until``'s day)."""
    filed_day = utc_day(Dispute.created_at)
    closed_day = utc_day(Dispute.closed_at)
    filed_rows = session.execute(
        select(filed_day, func.count())
        .where(*window(Dispute.created_at, since, until))
        .group_by(filed_day)
    ).all()
    closed_rows = session.execute(
        select(closed_day, func.count())
        .where(Dispute.closed_at.is_not(None), *window(Dispute.closed_at, since, until))
        .group_by(closed_day)
    ).all()
    filed = {date.fromisoformat(str(day)): count for day, count in filed_rows}
    closed = {date.fromisoformat(str(day)): count for day, count in closed_rows}
    known = [*filed, *closed]
    if since is None and not known:
        return []
    first = since.date() if since is not None else min(known)
    last = (until - timedelta(microseconds=1)).date()
    if known:
        last = max(last, *known) if since is None else last
    if (last - first).days > MAX_SERIES_DAYS:
        first = last - timedelta(days=MAX_SERIES_DAYS)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [Day(day, filed.get(day, 0), closed.get(day, 0)) for day in days]


def _plain(value: Any, iso_times: bool) -> Any:
    if isinstance(value, dict):
        if set(value) == {"count", "of"}:
            rate = Rate(**value)
            return {"count": rate.count, "of": rate.of, "share": _share(rate.share)}
        return {key: _plain(item, iso_times) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, iso_times) for item in value]
    if iso_times and isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _share(share: float | None) -> float | None:
    return None if share is None else round(share, 4)


def figures_rows(summary: Summary) -> Iterable[Figures]:
    """The total first, then each group."""
    yield summary.total
    yield from summary.groups
