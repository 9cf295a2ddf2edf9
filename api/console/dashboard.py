"""The dashboard: the reports' KPIs for a chosen period, with charts (filed and closed per day,
the outcome split, SLA compliance, satisfaction against its goal). The figures are
``reports.summary.summarize``'s, like the API's and the CLI's, so all three agree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import Markup

from api.console.charts import Chart, Rule, Series, bar_chart
from api.console.web import blp, load, now, page, read, staff
from api.console.words import label
from api.context import services
from api.schemas.reports import ReportQueryIn
from arbitration.accounts import SEES_ALL_DISPUTES
from arbitration.errors import Forbidden
from reports.summary import Figures, Summary, summarize

REPORT_QUERY = ReportQueryIn()
HALF_WIDTH = 460


def _period() -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    """The period typed in the form (dates, UTC), loaded by the API's own query schema."""
    today = now().date()
    values = {
        # Without a start, ``summarize`` covers ``reports.default_period`` (the API's default too).
        "since": request.args.get("since") or "",
        "until": request.args.get("until") or "",
    }
    data = {name: f"{value}T00:00:00Z" for name, value in values.items() if value}
    if values["until"]:
        # The form's "until" is the last day shown: the report's end is the day after it.
        try:
            end = today.fromisoformat(values["until"]) + timedelta(days=1)
            data["until"] = f"{end}T00:00:00Z"
        except ValueError:
            data["until"] = values["until"]
    query, errors = load(REPORT_QUERY, data)
    return values, query, errors


@blp.get("/dashboard")
def dashboard_page() -> ResponseReturnValue:
    who = staff()
    if who.role not in SEES_ALL_DISPUTES:
        raise Forbidden("reports are for staff and the platform")
    values, query, errors = _period()
    if errors:
        return page("dashboard.html", 422, values=values, errors=errors, summary=None, charts={})
    summary: Summary = read(
        lambda db: summarize(
            db,
            policy=services().policy,
            at=now(),
            since=query.get("since"),
            until=query.get("until"),
        )
    )
    if not values["since"] and summary.since is not None:
        values = {**values, "since": str(summary.since.date())}  # the form shows the default
    return page(
        "dashboard.html",
        values=values,
        errors={},
        summary=summary,
        kpis=_kpis(summary.total, summary.satisfaction_goal),
        charts=_charts(summary),
    )


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"


def _kpis(total: Figures, goal: float) -> list[tuple[str, str, str]]:
    """(label, value, detail) for each tile."""
    hours = total.median_hours_to_resolution
    return [
        (gettext("Filed"), str(total.filed), ""),
        (
            gettext("Resolved"),
            _percent(total.resolved.share),
            f"{total.resolved.count} / {total.resolved.of}",
        ),
        (gettext("Median time to resolve"), "—" if hours is None else f"{hours:.1f} h", ""),
        (
            gettext("Settled by the parties"),
            _percent(total.settled_by_parties.share),
            f"{total.settled_by_parties.count} / {total.settled_by_parties.of}",
        ),
        (
            gettext("SLA compliance"),
            _percent(total.sla_compliance.share),
            f"{total.sla_compliance.count} / {total.sla_compliance.of}",
        ),
        (
            gettext("Appeals overturned"),
            _percent(total.appeals_overturned.share),
            f"{total.appeals_overturned.count} / {total.appeals_overturned.of}",
        ),
        (
            gettext("Refunds confirmed on time"),
            _percent(total.refunds_on_time.share),
            f"{total.refunds_on_time.count} / {total.refunds_on_time.of}",
        ),
        (
            gettext("Satisfied"),
            _percent(total.satisfied.share),
            gettext("goal %(goal)s", goal=_percent(goal)),
        ),
    ]


def _charts(summary: Summary) -> dict[str, Markup]:
    total = summary.total
    days = summary.daily
    per_day = bar_chart(
        Chart(
            title=gettext("Filed and closed per day"),
            x_labels=[day.day.strftime("%m-%d") for day in days],
            series=[
                Series(gettext("filed"), [day.filed for day in days]),
                Series(label("closed"), [day.closed for day in days], "#16a34a"),
            ],
            y_label=gettext("disputes"),
        )
    )
    outcomes = sorted(total.outcomes.items(), key=lambda kv: -kv[1])
    split = bar_chart(
        Chart(
            title=gettext("How closed disputes ended"),
            x_labels=[label(outcome) for outcome, _ in outcomes] or ["—"],
            series=[Series(gettext("disputes"), [count for _, count in outcomes] or [0])],
            y_label=gettext("disputes"),
            width=HALF_WIDTH,
        )
    )
    rates = [
        (gettext("SLA compliance"), total.sla_compliance.share),
        (gettext("Satisfied"), total.satisfied.share),
        (gettext("Refunds on time"), total.refunds_on_time.share),
    ]
    goal = summary.satisfaction_goal * 100
    shares = bar_chart(
        Chart(
            title=gettext("SLA compliance and satisfaction against the goal"),
            x_labels=[name for name, _ in rates],
            series=[Series("%", [round((share or 0) * 100, 1) for _, share in rates], "#7c3aed")],
            y_label="%",
            rules=[
                Rule(goal, gettext("satisfaction goal %(goal)s %%", goal=f"{goal:g}"), "#dc2626")
            ],
            y_max=100,
            width=HALF_WIDTH,
        )
    )
    return {"per_day": Markup(per_day), "outcomes": Markup(split), "shares": Markup(shares)}
