"""What-if: replay the recorded violations under other rules, in memory, and say what would differ.

``arbitration penalties simulate --rules FILE`` calls :func:`simulate`. Every seller's violations
that are still active are replayed in recorded order, each at its ``recorded_at``, twice: under the
rules the engine runs with ("current") and under FILE ("other"). Each replay re-derives a
violation's ledger and points from its own rules' ``violations`` table (a kind missing there counts
0 and is reported), counts points over its own window (calendar year or rolling) and walks its own
ladder the way :func:`penalties.ledger.apply_ladder` does: each threshold crossed once per period,
a crossing the total falls back below (a rolling window forgetting old points) undone with the
penalties it imposed that were still running. Nothing is written; violations are read in batches of
seller ids and streamed one row at a time, so memory stays flat however long a history is.

A seller is reported when the two replays differ in points, thresholds crossed or penalties.
``points`` are the totals that counted when the seller's last violation was recorded (the latest
calendar year, or the rolling window ending then), so the result does not depend on today's date.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arbitration.policy import LEDGERS, PenaltyPolicy
from penalties.models import ACTIVE, Violation

SELLER_BATCH = 500  # seller ids read per query
ROW_BATCH = 2_000  # violation rows fetched per round trip while streaming a batch


@dataclass(frozen=True)
class SimulatedPenalty:
    """A penalty a replay's ladder imposed (and did not take back)."""

    ledger: str
    period: str
    threshold: int
    kind: str
    duration: timedelta | None
    review_required: bool

    @property
    def key(self) -> tuple[str, str, float | None]:
        """What the seller would feel: which penalty, for how long (not which step or period)."""
        seconds = self.duration.total_seconds() if self.duration is not None else None
        return (self.ledger, self.kind, seconds)

    def label(self) -> str:
        if self.duration is None:
            return self.kind
        return f"{self.kind} {format_duration(self.duration)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "duration": format_duration(self.duration) if self.duration is not None else None,
            "duration_seconds": int(self.duration.total_seconds()) if self.duration else None,
            "ledger": self.ledger,
            "threshold": self.threshold,
            "period": self.period,
            "review_required": self.review_required,
        }


@dataclass(frozen=True)
class Crossing:
    ledger: str
    period: str
    points: int


@dataclass(frozen=True)
class Outcome:
    """One seller's replay under one set of rules."""

    points: dict[str, int]  # ledger -> points counting at the last violation
    crossings: tuple[Crossing, ...]  # in the order they happened (a re-crossing appears again)
    penalties: tuple[SimulatedPenalty, ...]


@dataclass(frozen=True)
class SellerDifference:
    seller_id: str
    violations: int
    current: Outcome
    other: Outcome
    added: tuple[SimulatedPenalty, ...]  # under the other rules, not the current ones
    removed: tuple[SimulatedPenalty, ...]  # under the current rules, not the other ones

    def ledgers_that_differ(self) -> list[str]:
        return [
            ledger
            for ledger in LEDGERS
            if self.current.points[ledger] != self.other.points[ledger]
            or _crossed(self.current, ledger) != _crossed(self.other, ledger)
            or any(p.ledger == ledger for p in (*self.added, *self.removed))
        ]


@dataclass
class Report:
    current: PenaltyPolicy
    other: PenaltyPolicy
    other_source: str
    sellers_examined: int = 0
    violations_replayed: int = 0
    differences: list[SellerDifference] = field(default_factory=list)
    # Violation kinds a set of rules has no entry for (counted 0): "current"/"other" -> kind -> count.
    missing_kinds: dict[str, Counter[str]] = field(
        default_factory=lambda: {"current": Counter(), "other": Counter()}
    )

    @property
    def sellers_affected(self) -> int:
        return len(self.differences)


# --- one replay -----------------------------------------------------------------------------------


@dataclass
class _Running:
    penalties: list[SimulatedPenalty]
    ends: list[datetime | None]  # None: no end (a ban, or waiting for review)


class Replay:
    """The ladder walked in memory for one seller under one set of rules."""

    def __init__(self, rules: PenaltyPolicy, missing: Counter[str]) -> None:
        self.rules = rules
        self.missing = missing
        self.rolling = rules.points_window == "rolling"
        self.totals: dict[tuple[str, str], int] = {}  # (ledger, year) -> points
        self.windows: dict[str, deque[tuple[datetime, int]]] = {
            ledger: deque() for ledger in LEDGERS
        }
        self.window_sums: dict[str, int] = dict.fromkeys(LEDGERS, 0)
        self.crossed: dict[tuple[str, str, int], _Running] = {}
        self.crossings: list[Crossing] = []
        self.kept: list[SimulatedPenalty] = []
        self.taken_back: list[SimulatedPenalty] = []
        self.last_at: datetime | None = None

    def add(self, kind: str, at: datetime) -> None:
        rule = self.rules.violations.get(kind)
        self.last_at = at
        if rule is None:
            self.missing[kind] += 1
            return
        ledger = rule.ledger
        if self.rolling:
            period = "rolling"
            self.windows[ledger].append((at, rule.points))
            self.window_sums[ledger] += rule.points
            total = self._window_total(ledger, at)
        else:
            period = str(at.year)
            total = self.totals.get((ledger, period), 0) + rule.points
            self.totals[(ledger, period)] = total
        for step in self.rules.ladder[ledger]:
            key = (ledger, period, step.points)
            if step.points <= total and key not in self.crossed:
                self._cross(key, step.penalties, at)
            elif step.points > total and key in self.crossed:
                self._uncross(key, at)

    def _window_total(self, ledger: str, at: datetime) -> int:
        since = at - self.rules.rolling_window
        window = self.windows[ledger]
        while window and window[0][0] <= since:
            self.window_sums[ledger] -= window.popleft()[1]
        return self.window_sums[ledger]

    def _cross(
        self, key: tuple[str, str, int], step_penalties: Iterable[Any], at: datetime
    ) -> None:
        ledger, period, threshold = key
        running = _Running([], [])
        for ladder_penalty in step_penalties:
            review = ladder_penalty.kind in self.rules.review_required
            running.penalties.append(
                SimulatedPenalty(
                    ledger=ledger,
                    period=period,
                    threshold=threshold,
                    kind=ladder_penalty.kind,
                    duration=ladder_penalty.duration,
                    review_required=review,
                )
            )
            lasts = ladder_penalty.duration is None or review
            running.ends.append(None if lasts else at + ladder_penalty.duration)
        self.crossed[key] = running
        self.crossings.append(Crossing(ledger, period, threshold))

    def _uncross(self, key: tuple[str, str, int], at: datetime) -> None:
        """The total fell back below a threshold: what its crossing imposed and still runs ends."""
        running = self.crossed.pop(key)
        for penalty, ends in zip(running.penalties, running.ends, strict=True):
            if ends is None or ends > at:
                self.taken_back.append(penalty)
            else:
                self.kept.append(penalty)

    def outcome(self) -> Outcome:
        penalties = list(self.kept)
        for running in self.crossed.values():
            penalties += running.penalties
        penalties.sort(key=lambda p: (LEDGERS.index(p.ledger), p.period, p.threshold))
        return Outcome(
            points=self._points(), crossings=tuple(self.crossings), penalties=tuple(penalties)
        )

    def _points(self) -> dict[str, int]:
        if self.last_at is None:
            return dict.fromkeys(LEDGERS, 0)
        if self.rolling:
            return {ledger: self._window_total(ledger, self.last_at) for ledger in LEDGERS}
        year = str(self.last_at.year)
        return {ledger: self.totals.get((ledger, year), 0) for ledger in LEDGERS}


def compare(
    seller_id: str,
    violations: Iterable[tuple[str, datetime]],
    current: PenaltyPolicy,
    other: PenaltyPolicy,
    missing: dict[str, Counter[str]] | None = None,
) -> tuple[int, SellerDifference | None]:
    """Replay one seller's ``(kind, recorded_at)`` under both rules; the difference, if any."""
    missing = missing if missing is not None else {"current": Counter(), "other": Counter()}
    now, then = Replay(current, missing["current"]), Replay(other, missing["other"])
    count = 0
    for kind, at in violations:
        now.add(kind, at)
        then.add(kind, at)
        count += 1
    a, b = now.outcome(), then.outcome()
    added = _minus(b.penalties, a.penalties)
    removed = _minus(a.penalties, b.penalties)
    same = a.points == b.points and not added and not removed
    if same and Counter(a.crossings) == Counter(b.crossings):
        return count, None
    return count, SellerDifference(seller_id, count, a, b, added, removed)


def _minus(
    these: Iterable[SimulatedPenalty], those: Iterable[SimulatedPenalty]
) -> tuple[SimulatedPenalty, ...]:
    """``these`` without ``those``, as multisets (by ledger, kind and duration)."""
    left = Counter(p.key for p in those)
    out = []
    for penalty in these:
        if left[penalty.key]:
            left[penalty.key] -= 1
        else:
            out.append(penalty)
    return tuple(out)


def _crossed(outcome: Outcome, ledger: str) -> list[Crossing]:
    return [c for c in outcome.crossings if c.ledger == ledger]


# --- every seller ---------------------------------------------------------------------------------


def count_sellers(session: Session) -> int:
    """How many sellers have an active violation (what ``simulate`` will examine)."""
    distinct = select(Violation.seller_id).where(Violation.status == ACTIVE).distinct().subquery()
    return int(session.scalar(select(func.count()).select_from(distinct)) or 0)


def _histories(
    session: Session, batch: int
) -> Iterator[tuple[str, Iterator[tuple[str, datetime]]]]:
    """Each seller's active violations in recorded order, streamed a batch of sellers at a time."""
    after: str | None = None
    while True:
        query = select(Violation.seller_id).where(Violation.status == ACTIVE)
        if after is not None:
            query = query.where(Violation.seller_id > after)
        ids = session.scalars(query.distinct().order_by(Violation.seller_id).limit(batch)).all()
        if not ids:
            return
        rows = session.execute(
            select(Violation.seller_id, Violation.kind, Violation.recorded_at)
            .where(
                Violation.status == ACTIVE,
                Violation.seller_id >= ids[0],
                Violation.seller_id <= ids[-1],
            )
            .order_by(Violation.seller_id, Violation.recorded_at, Violation.id)
            .execution_options(yield_per=ROW_BATCH)
        )
        for seller_id, group in groupby(rows, key=lambda row: row[0]):
            yield seller_id, ((kind, at) for _, kind, at in group)
        after = ids[-1]


def simulate(
    session: Session,
    *,
    current: PenaltyPolicy,
    other: PenaltyPolicy,
    other_source: str = "",
    on_seller: Callable[[], None] | None = None,
    batch: int = SELLER_BATCH,
) -> Report:
    """Replay every seller under ``current`` and ``other``; read-only."""
    report = Report(current=current, other=other, other_source=other_source)
    for seller_id, violations in _histories(session, batch):
        count, difference = compare(seller_id, violations, current, other, report.missing_kinds)
        report.sellers_examined += 1
        report.violations_replayed += count
        if difference is not None:
            report.differences.append(difference)
        if on_seller is not None:
            on_seller()
    return report


# --- output ---------------------------------------------------------------------------------------


def format_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _thresholds(outcome: Outcome, ledger: str, periods: set[str]) -> str:
    crossings = _crossed(outcome, ledger)
    if not crossings:
        return "-"
    if len(periods) <= 1:
        return ",".join(str(c.points) for c in crossings)
    return " ".join(f"{c.period}:{c.points}" for c in crossings)


def _summary(report: Report) -> str:
    return (
        f"{report.sellers_examined} sellers examined, {report.sellers_affected} affected "
        f"({report.violations_replayed} violations replayed; rules {report.current.version} "
        f"-> {report.other.version})"
    )


def _missing_lines(report: Report) -> list[str]:
    lines = []
    for side, name in (("current", "the current rules"), ("other", report.other_source or "FILE")):
        missing = report.missing_kinds[side]
        if missing:
            kinds = ", ".join(f"{kind} ({n} violations)" for kind, n in sorted(missing.items()))
            lines.append(f"note: not in {name}'s violations table, counted as 0 points: {kinds}")
    return lines


HEADERS = ("SELLER", "LEDGER", "POINTS", "THRESHOLDS CROSSED", "PENALTIES (+ added, - removed)")


def format_table(report: Report) -> str:
    """Fixed-width columns: a row per seller and ledger that differs, a line per penalty change."""
    rows: list[tuple[str, str, str, str, str]] = []
    for difference in report.differences:
        first = True
        for ledger in difference.ledgers_that_differ():
            periods = {
                c.period for c in (*difference.current.crossings, *difference.other.crossings)
            }
            points = f"{difference.current.points[ledger]} -> {difference.other.points[ledger]}"
            thresholds = (
                f"{_thresholds(difference.current, ledger, periods)} -> "
                f"{_thresholds(difference.other, ledger, periods)}"
            )
            changes = [f"+ {_where(p, periods)}" for p in difference.added if p.ledger == ledger]
            changes += [f"- {_where(p, periods)}" for p in difference.removed if p.ledger == ledger]
            seller = difference.seller_id if first else ""
            rows.append((seller, ledger, points, thresholds, changes[0] if changes else ""))
            rows += [("", "", "", "", change) for change in changes[1:]]
            first = False
    lines = [
        f"Penalties under the current rules ({report.current.version}, "
        f"{report.current.points_window}) vs {report.other_source or 'other rules'} "
        f"({report.other.version}, {report.other.points_window})",
        "",
    ]
    if rows:
        widths = [max(len(HEADERS[i]), *(len(row[i]) for row in rows)) for i in range(4)]
        lines.append(_row(HEADERS, widths))
        lines.append(_row((*("-" * w for w in widths), "-" * len(HEADERS[4])), widths))
        lines += [_row(row, widths) for row in rows]
    else:
        lines.append("No seller's penalties would differ.")
    lines += ["", _summary(report), *_missing_lines(report)]
    return "\n".join(lines)


def _where(penalty: SimulatedPenalty, periods: set[str]) -> str:
    at = f"at {penalty.threshold}" + (f", {penalty.period}" if len(periods) > 1 else "")
    review = ", needs review" if penalty.review_required else ""
    return f"{penalty.label()} ({at}{review})"


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
    return "  ".join([*padded, cells[-1]]).rstrip()


def to_json(report: Report) -> str:
    def rules(policy: PenaltyPolicy, source: str) -> dict[str, Any]:
        return {
            "version": policy.version,
            "source": source,
            "points_window": policy.points_window,
            "rolling_window": format_duration(policy.rolling_window),
        }

    def outcome(out: Outcome) -> dict[str, Any]:
        return {
            "points": out.points,
            "thresholds_crossed": [
                {"ledger": c.ledger, "period": c.period, "points": c.points} for c in out.crossings
            ],
            "penalties": [p.as_json() for p in out.penalties],
        }

    document = {
        "current": rules(report.current, "current"),
        "other": rules(report.other, report.other_source),
        "sellers_examined": report.sellers_examined,
        "sellers_affected": report.sellers_affected,
        "violations_replayed": report.violations_replayed,
        "missing_kinds": {
            side: dict(sorted(c.items())) for side, c in report.missing_kinds.items()
        },
        "sellers": [
            {
                "seller_id": d.seller_id,
                "violations": d.violations,
                "current": outcome(d.current),
                "other": outcome(d.other),
                "penalties_added": [p.as_json() for p in d.added],
                "penalties_removed": [p.as_json() for p in d.removed],
            }
            for d in report.differences
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
