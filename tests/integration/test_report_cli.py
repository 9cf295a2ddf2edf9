"""``arbitration report`` over ``arbitration demo`` data: every KPI printed, the API's numbers.

Real processes against the test's database (SQLite, or PostgreSQL when the suite runs there).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from api.app import create_app
from api.config import Config
from arbitration.clock import SystemClock
from arbitration.policy import load_policy
from tests.integration.test_cli import run

# The demo's history reaches 40 days back, past the default period: its whole span, explicitly.
SINCE = "2000-01-01T00:00:00"
UNTIL = "2100-01-01T00:00:00"
RATES = (
    "resolved",
    "settled_by_parties",
    "closed_by_timeout",
    "escalated",
    "sla_compliance",
    "appeals_overturned",
    "refunds_on_time",
    "satisfied",
)
TABLE_HEADERS = (
    "filed",
    "resolved",
    "median h to resolve",
    "settled by parties",
    "closed by timeout",
    "escalated",
    "refunds on time",
    "satisfied",
    "dissatisfied",
    "cases ruled",
    "median h to rule",
    "SLA met",
    "appeals overturned",
    "escalated to seniors",
)


def _report(database_url: str, cwd: Path, *args: str) -> str:
    result = run(
        "report",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        *args,
        cwd=cwd,
        ARBITRATION_DATABASE_URL=database_url,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_report_over_the_demo_prints_every_kpi_and_the_api_agrees(
    database_url: str, tmp_path: Path
) -> None:
    demo = run("demo", cwd=tmp_path, ARBITRATION_DATABASE_URL=database_url)
    assert demo.returncode == 0, demo.stderr

    table = _report(database_url, tmp_path)
    for header in TABLE_HEADERS:
        assert header in table, header
    assert "below the 80% goal" in table or "meets the 80% goal" in table

    cli: dict[str, Any] = json.loads(_report(database_url, tmp_path, "--format", "json"))
    total = cli["total"]
    for rate in RATES:  # every KPI has something to count over the demo
        assert total[rate]["of"] > 0, rate
    assert total["median_hours_to_resolution"] is not None
    assert total["median_hours_to_rule"] is not None
    assert total["escalated_to_seniors"] >= 1
    assert total["appeals_overturned"]["count"] >= 1
    assert {"refunded", "settled", "partially_refunded"} <= set(total["outcomes"])

    tokens = json.loads((tmp_path / "arbitration-demo-tokens.json").read_text())
    app = create_app(
        Config(
            database_url=database_url,
            policy=load_policy(),
            clock=SystemClock(),  # the demo is laid out back from now, as the CLI sees it
            evidence_dir=str(tmp_path / "evidence"),
            testing=True,
        )
    )
    try:
        response = app.test_client().get(
            "/v1/reports/summary",
            query_string={"since": SINCE, "until": UNTIL, "by": "reason"},
            headers={"Authorization": f"Bearer {tokens['platform']}"},
        )
    finally:
        app.extensions["arbitration"].database.dispose()
    assert response.status_code == 200, response.json
    api = response.json
    by_reason = json.loads(_report(database_url, tmp_path, "--by", "reason", "--format", "json"))
    for body in (api, by_reason):
        body.pop("generated_at")
    assert api == by_reason
    assert api["total"] == total


def test_the_report_as_csv_has_a_row_per_group_after_the_totals(
    database_url: str, tmp_path: Path
) -> None:
    assert run("demo", cwd=tmp_path, ARBITRATION_DATABASE_URL=database_url).returncode == 0

    rows = list(
        csv.DictReader(
            io.StringIO(_report(database_url, tmp_path, "--by", "channel", "--format", "csv"))
        )
    )

    assert rows[0]["channel"] == "all"
    assert {row["channel"] for row in rows[1:]} >= {"app", "web", "hotline", "chat"}
    assert sum(int(row["filed"]) for row in rows[1:]) == int(rows[0]["filed"])
