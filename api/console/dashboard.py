"""The dashboard: the reports' KPIs with charts for a chosen period (issue 12, on issue reports)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from api.console.web import blp, page, staff


@blp.get("/dashboard")
def dashboard_page() -> ResponseReturnValue:
    staff()
    return page("dashboard.html", available=False)
