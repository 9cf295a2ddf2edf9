"""The aggregate queries behind a summary: one row per group each, over indexed columns.

``FigureQueries.figures(by)`` runs them for one grouping and assembles each group's ``Figures``;
what each figure means is told in ``reports.summary``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from arbitration import lifecycle
from arbitration.db import UTCDateTime, not_by_index
from arbitration.models import Decision, Dispute, Event, Refund
from arbitration.policy import Policy
from reports.models import Feedback
from reports.sql import grouped_median, seconds_between

TOTAL = "all"
HOUR = 3600.0


@dataclass(frozen=True)
class Rate:
    """``count`` out of ``of``; ``share`` is None when there is nothing to count."""

    count: int
    of: int

    @property
    def share(self) -> float | None:
        return self.count / self.of if self.of else None


@dataclass(frozen=True)
class Figures:
    """Every KPI for one group (or for all disputes: ``key`` is ``"all"``; ``None`` is a group
    with no value, such as the disputes nobody has ruled on yet when grouped by arbitrator)."""

    key: str | None
    filed: int
    resolved: Rate
    outcomes: dict[str, int]
    median_hours_to_resolution: float | None
    settled_by_parties: Rate
    closed_by_timeout: Rate
    escalated: Rate
    sla_compliance: Rate
    appeals_overturned: Rate
    refunds_on_time: Rate
    satisfied: Rate
    dissatisfied: int
    cases_ruled: int
    median_hours_to_rule: float | None
    escalated_to_seniors: int


def window(column: Any, since: datetime | None, until: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [column < until]
    if since is not None:
        conditions.append(column >= since)
    return conditions


DISPUTE_KEYS: dict[str, Any] = {
    "reason": Dispute.reason,
    "category": Dispute.category,
    "seller": Dispute.seller_id,
    "channel": Dispute.channel,
    # A dispute's figures go to whoever ruled on it first, or holds it now.
    "arbitrator": func.coalesce(Dispute.first_arbitrator_id, Dispute.assigned_arbitrator_id),
}


class FigureQueries:
    """The aggregate queries of one report, each returning ``(key, ...)`` rows."""

    def __init__(
        self,
        session: Session,
        *,
        policy: Policy,
        at: datetime,
        since: datetime | None,
        until: datetime,
    ) -> None:
        self.session = session
        self.policy = policy
        self.at = at
        self.since = since
        self.until = until

    def _rows(self, query: Select[Any]) -> dict[str | None, Any]:
        return {row[0]: row for row in self.session.execute(query).all()}

    def _filed(self) -> list[ColumnElement[bool]]:
        return window(Dispute.created_at, self.since, self.until)

    def _since_filing(self, column: Any) -> list[ColumnElement[bool]]:
        """What happens to a dispute (a ruling, a refund, an answer) happens after its filing, so
        never before ``since``: saying so lets the database range-scan the child table's own time
        index instead of reading all of it (PostgreSQL's hash joins would), whatever it joins."""
        return [column >= self.since] if self.since is not None else []

    def figures(self, by: str | None) -> dict[str | None, Figures]:
        dispute_key = literal(TOTAL) if by is None else DISPUTE_KEYS[by]
        ruling_key = (
            literal(TOTAL)
            if by is None
            else Decision.arbitrator_id
            if by == "arbitrator"
            else DISPUTE_KEYS[by]
        )
        counts = self._rows(self._counts(dispute_key))
        outcomes = self._outcomes(dispute_key)
        resolution = self._rows(grouped_median(self._resolution_times(dispute_key)))
        rulings = self._rows(self._rulings(ruling_key))
        ruling_times = self._rows(grouped_median(self._ruling_times(ruling_key)))
        appeals = self._rows(self._appeals(ruling_key))
        # A case waiting past its SLA is the miss of whoever holds it now (nobody: None).
        overdue_key = Dispute.assigned_arbitrator_id if by == "arbitrator" else dispute_key
        overdue = self._rows(self._overdue(overdue_key))
        refunds = self._rows(self._refunds(dispute_key))
        feedback = self._rows(self._feedback(dispute_key))
        found = {
            "counts": counts,
            "outcomes": outcomes,
            "resolution": resolution,
            "rulings": rulings,
            "ruling_times": ruling_times,
            "appeals": appeals,
            "overdue": overdue,
            "refunds": refunds,
            "feedback": feedback,
        }
        keys = {TOTAL} if by is None else {*counts, *rulings, *overdue}
        return {key: self._assemble(key, found) for key in keys}

    def _assemble(self, key: str | None, found: dict[str, Any]) -> Figures:
        def row(name: str, width: int) -> tuple[Any, ...]:
            values = found[name].get(key)
            return tuple(values[1:]) if values is not None else (0,) * width

        filed, resolved, ruled, by_system, escalated, to_seniors = (
            int(v or 0) for v in row("counts", 6)
        )
        decided, within = (int(v or 0) for v in row("rulings", 2))
        appealed, overturned = (int(v or 0) for v in row("appeals", 2))
        (overdue,) = (int(v or 0) for v in row("overdue", 1))
        refunds_due, refunds_on_time = (int(v or 0) for v in row("refunds", 2))
        answers, satisfied, dissatisfied = (int(v or 0) for v in row("feedback", 3))
        resolution = found["resolution"].get(key)
        ruling_time = found["ruling_times"].get(key)
        unruled_closed = resolved - ruled
        timeouts = by_system
        return Figures(
            key=key,
            filed=filed,
            resolved=Rate(resolved, filed),
            outcomes=dict(sorted(found["outcomes"].get(key, {}).items())),
            median_hours_to_resolution=hours(resolution),
            settled_by_parties=Rate(unruled_closed - timeouts, resolved),
            closed_by_timeout=Rate(timeouts, resolved),
            escalated=Rate(escalated, filed),
            sla_compliance=Rate(within, decided + overdue),
            appeals_overturned=Rate(overturned, appealed),
            refunds_on_time=Rate(refunds_on_time, refunds_due),
            satisfied=Rate(satisfied, answers),
            dissatisfied=dissatisfied,
            cases_ruled=decided,
            median_hours_to_rule=hours(ruling_time),
            escalated_to_seniors=to_seniors,
        )

    # Disputes: how many, how they ended, how they travelled.

    def _counts(self, key: Any) -> Select[Any]:
        closed = Dispute.status == lifecycle.CLOSED
        ruled = and_(closed, Dispute.decision_id.is_not(None))
        closing_by_system = exists().where(
            Event.dispute_id == Dispute.id,
            Event.to_status == lifecycle.CLOSED,
            Event.from_status != lifecycle.CLOSED,
            Event.actor_id == lifecycle.SYSTEM,
        )
        reached_platform = exists().where(
            Event.dispute_id == Dispute.id, Event.to_status == lifecycle.GATHERING_EVIDENCE
        )
        return (
            select(
                key.label("key"),
                func.count(),
                count_if(closed),
                count_if(ruled),
                count_if(and_(closed, Dispute.decision_id.is_(None), closing_by_system)),
                count_if(reached_platform),
                count_if(Dispute.senior_escalated_at.is_not(None)),
            )
            .select_from(Dispute)
            .where(*self._filed())
            .group_by(key)
        )

    def _outcomes(self, key: Any) -> dict[str | None, dict[str, int]]:
        rows = self.session.execute(
            select(key.label("key"), Dispute.outcome, func.count())
            .select_from(Dispute)
            # The period's range drives, not every closed dispute ever (``not_by_index``).
            .where(*self._filed(), not_by_index(Dispute.status) == lifecycle.CLOSED)
            .group_by(key, Dispute.outcome)
        ).all()
        split: dict[str | None, dict[str, int]] = defaultdict(dict)
        for group, outcome, count in rows:
            split[group][outcome or "unknown"] = count
        return split

    def _resolution_times(self, key: Any) -> Any:
        return (
            select(
                key.label("key"),
                seconds_between(Dispute.created_at, Dispute.closed_at).label("value"),
            )
            .where(*self._filed(), Dispute.closed_at.is_not(None))
            .subquery("resolution")
        )

    # Rulings: how many, how fast, within the SLA.

    def _ruling_seconds(self) -> tuple[Any, Any]:
        """Seconds from when the case became ready for this ruling to the ruling, and the SLA."""
        ready_at = (
            select(func.max(Event.occurred_at))
            .where(
                Event.dispute_id == Decision.dispute_id,
                # A ruling is awaited in awaiting_decision, an appeal ruling in under_appeal.
                Event.to_status
                == case(
                    (Decision.kind == "appeal", lifecycle.UNDER_APPEAL),
                    else_=lifecycle.AWAITING_DECISION,
                ),
                Event.from_status != Event.to_status,
                Event.occurred_at <= Decision.decided_at,
            )
            .scalar_subquery()
        )
        sla = self.policy.sla
        sla_seconds = case(
            (Dispute.priority == "urgent", sla.decision_window("urgent").total_seconds()),
            else_=sla.decision_window("normal").total_seconds(),
        )
        return seconds_between(ready_at, Decision.decided_at), sla_seconds

    def _rulings(self, key: Any) -> Select[Any]:
        elapsed, sla_seconds = self._ruling_seconds()
        return (
            select(key.label("key"), func.count(), count_if(elapsed <= sla_seconds))
            .select_from(Decision)
            .join(Dispute, Dispute.id == Decision.dispute_id)
            .where(*self._filed(), *self._since_filing(Decision.decided_at))
            .group_by(key)
        )

    def _ruling_times(self, key: Any) -> Any:
        elapsed, _ = self._ruling_seconds()
        return (
            select(key.label("key"), elapsed.label("value"))
            .select_from(Decision)
            .join(Dispute, Dispute.id == Decision.dispute_id)
            .where(*self._filed(), *self._since_filing(Decision.decided_at))
            .subquery("ruling_times")
        )

    def _appeals(self, key: Any) -> Select[Any]:
        """First rulings that were appealed, and those the appeal overturned."""
        appeal = aliased(Decision)
        # An appeal is decided on the ruling's own dispute: looking it up by dispute keeps the
        # look-up on an index whatever the planner thinks of ``replaces_id`` (mostly NULL).
        overturned = exists().where(
            appeal.dispute_id == Decision.dispute_id,
            appeal.replaces_id == Decision.id,
            appeal.result == "overturn",
        )
        return (
            select(
                key.label("key"),
                count_if(Dispute.appealed_by.is_not(None)),
                count_if(overturned),
            )
            .select_from(Decision)
            .join(Dispute, Dispute.id == Decision.dispute_id)
            .where(
                *self._filed(), *self._since_filing(Decision.decided_at), Decision.kind == "ruling"
            )
            .group_by(key)
        )

    def _overdue(self, key: Any) -> Select[Any]:
        """Cases still waiting for a ruling past their SLA: misses already."""
        return (
            select(key.label("key"), func.count())
            .select_from(Dispute)
            .where(
                *self._filed(),
                Dispute.status.in_(tuple(lifecycle.SLA_STATES)),
                Dispute.sla_due_at <= literal(self.at, UTCDateTime()),
            )
            .group_by(key)
        )

    # What came after: refunds paid on time, satisfaction.

    def _refunds(self, key: Any) -> Select[Any]:
        """A refund is on time when it was confirmed before the engine flagged it overdue: the
        flag is set by the ``refund_confirmation`` deadline, counted on the policy's calendar
        (working days), which no fixed number of seconds could say."""
        due = or_(Refund.confirmed_at.is_not(None), Refund.overdue_since.is_not(None))
        on_time = and_(Refund.confirmed_at.is_not(None), Refund.overdue_since.is_(None))
        return (
            select(key.label("key"), count_if(due), count_if(on_time))
            .select_from(Refund)
            .join(Dispute, Dispute.id == Refund.dispute_id)
            .where(*self._filed(), *self._since_filing(Refund.instructed_at))
            .group_by(key)
        )

    def _feedback(self, key: Any) -> Select[Any]:
        rules = self.policy.reports
        return (
            select(
                key.label("key"),
                func.count(),
                count_if(Feedback.rating >= rules.satisfied_from),
                count_if(Feedback.rating <= rules.dissatisfied_up_to),
            )
            .select_from(Feedback)
            .join(Dispute, Dispute.id == Feedback.dispute_id)
            .where(*self._filed(), *self._since_filing(Feedback.created_at))
            .group_by(key)
        )


def count_if(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def hours(row: Any) -> float | None:
    if row is None or row[1] is None:
        return None
    return round(float(row[1]) / HOUR, 2)
