"""A summary as people read it in a terminal (tables), or as CSV and JSON for other tools."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from reports.summary import Figures, Rate, Summary, figures_rows

NONE = "-"


def as_json(summary: Summary) -> str:
    return json.dumps(summary.to_dict(), indent=2)


def _rate(rate: Rate) -> str:
    share = rate.share
    return NONE if share is None else f"{share:.0%} ({rate.count}/{rate.of})"


def _hours(hours: float | None) -> str:
    return NONE if hours is None else f"{hours:.1f}"


def _label(figures: Figures) -> str:
    return "(none)" if figures.key is None else figures.key


Column = tuple[str, Callable[[Figures], str]]

DISPUTE_COLUMNS: tuple[Column, ...] = (
    ("filed", lambda f: str(f.filed)),
    ("resolved", lambda f: _rate(f.resolved)),
    ("median h to resolve", lambda f: _hours(f.median_hours_to_resolution)),
    ("settled by parties", lambda f: _rate(f.settled_by_parties)),
    ("closed by timeout", lambda f: _rate(f.closed_by_timeout)),
    ("escalated", lambda f: _rate(f.escalated)),
    ("refunds on time", lambda f: _rate(f.refunds_on_time)),
    ("satisfied", lambda f: _rate(f.satisfied)),
    ("dissatisfied", lambda f: str(f.dissatisfied)),
)

RULING_COLUMNS: tuple[Column, ...] = (
    ("cases ruled", lambda f: str(f.cases_ruled)),
    ("median h to rule", lambda f: _hours(f.median_hours_to_rule)),
    ("SLA met", lambda f: _rate(f.sla_compliance)),
    ("appeals overturned", lambda f: _rate(f.appeals_overturned)),
    ("escalated to seniors", lambda f: str(f.escalated_to_seniors)),
)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        parts = [
            f"{first:<{widths[0]}}",
            *(f"{c:>{w}}" for c, w in zip(rest, widths[1:], strict=True)),
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def as_table(summary: Summary) -> str:
    """Three tables (disputes, outcomes, rulings), the totals first, then each group."""
    group = summary.by or "disputes"
    rows = list(figures_rows(summary))
    since = summary.since.isoformat() if summary.since else "the first dispute"
    out = [
        f"Disputes filed from {since} until {summary.until.isoformat()}"
        + (f", by {summary.by}" if summary.by else ""),
        "",
        _table(
            [group, *(name for name, _ in DISPUTE_COLUMNS)],
            [[_label(f), *(cell(f) for _, cell in DISPUTE_COLUMNS)] for f in rows],
        ),
        "",
    ]
    outcomes = sorted({outcome for f in rows for outcome in f.outcomes})
    out += [
        "Outcomes of the resolved disputes",
        "",
        _table(
            [group, *outcomes] if outcomes else [group, "resolved"],
            [
                [_label(f), *(str(f.outcomes.get(o, 0)) for o in outcomes)]
                if outcomes
                else [_label(f), "0"]
                for f in rows
            ],
        ),
        "",
        "Rulings" + (" by the arbitrator who made them" if summary.by == "arbitrator" else ""),
        "",
        _table(
            [group, *(name for name, _ in RULING_COLUMNS)],
            [[_label(f), *(cell(f) for _, cell in RULING_COLUMNS)] for f in rows],
        ),
        "",
        _satisfaction_line(summary),
    ]
    return "\n".join(out)


def _satisfaction_line(summary: Summary) -> str:
    satisfied = summary.total.satisfied
    goal = summary.satisfaction_goal
    if satisfied.share is None:
        return f"Satisfaction: no answers yet (goal: {goal:.0%} satisfied)."
    verdict = "meets" if satisfied.share >= goal else "below"
    return (
        f"Satisfaction: {satisfied.share:.0%} satisfied ({satisfied.count} of {satisfied.of} "
        f"answers; {summary.total.dissatisfied} dissatisfied), {verdict} the {goal:.0%} goal."
    )


def as_csv(summary: Summary) -> str:
    """One row per group (the totals first, key ``all``), every figure a column."""
    rows = list(figures_rows(summary))
    outcomes = sorted({outcome for f in rows for outcome in f.outcomes})
    rate_fields = (
        "resolved",
        "settled_by_parties",
        "closed_by_timeout",
        "escalated",
        "sla_compliance",
        "appeals_overturned",
        "refunds_on_time",
        "satisfied",
    )
    headers = [
        summary.by or "group",
        "filed",
        *(f"{name}_{part}" for name in rate_fields for part in ("count", "of", "share")),
        "median_hours_to_resolution",
        "dissatisfied",
        "cases_ruled",
        "median_hours_to_rule",
        "escalated_to_seniors",
        *(f"outcome_{outcome}" for outcome in outcomes),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    for f in rows:
        cells: list[Any] = [_label(f), f.filed]
        for name in rate_fields:
            rate: Rate = getattr(f, name)
            share = "" if rate.share is None else round(rate.share, 4)
            cells += [rate.count, rate.of, share]
        cells += [
            "" if f.median_hours_to_resolution is None else f.median_hours_to_resolution,
            f.dissatisfied,
            f.cases_ruled,
            "" if f.median_hours_to_rule is None else f.median_hours_to_rule,
            f.escalated_to_seniors,
            *(f.outcomes.get(outcome, 0) for outcome in outcomes),
        ]
        writer.writerow(cells)
    return buffer.getvalue()
