"""What-if: ``arbitration penalties simulate --rules FILE`` replays the ledger under other rules.

Violations are put on the ledger the way a ruling does (``record_violation`` in a unit of work);
the command runs as an operator runs it, a real process against the test's database, and must
leave that database exactly as it found it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.wiring import Services
from arbitration.clock import ManualClock
from arbitration.models import Deadline
from arbitration.policy import PenaltyPolicy, load_policy
from penalties import simulate
from penalties.ledger import record_violation
from penalties.models import (
    FROM_RULING,
    LadderCrossing,
    Penalty,
    SellerEvent,
    SellerStanding,
    Violation,
)

pytestmark = pytest.mark.slow  # each test runs the arbitration command in a process of its own

ARBITRATION = str(Path(sys.executable).parent / "arbitration")

# The general ladder at half its thresholds (6, 12, 18, 24); everything else as shipped.
HALVED = """
[penalties]
version = "halved"

[[penalties.ladder.general]]
points = 6
penalties = [{ kind = "public_warning" }, { kind = "listing_restriction", duration = "7d" }]

[[penalties.ladder.general]]
points = 12
penalties = [{ kind = "listing_restriction", duration = "14d" }]

[[penalties.ladder.general]]
points = 18
penalties = [
    { kind = "listing_restriction", duration = "21d" },
    { kind = "search_shielding", duration = "21d" },
]

[[penalties.ladder.general]]
points = 24
penalties = [
    { kind = "listing_restriction", duration = "28d" },
    { kind = "search_shielding", duration = "28d" },
]
"""


def write_rules(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ARBITRATION_POLICY"}
    return subprocess.run(
        [ARBITRATION, "penalties", "simulate", *args],
        env={**env, "ARBITRATION_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def violate(
    services: Services,
    clock: ManualClock,
    seller_id: str,
    *kinds: str,
    rules: PenaltyPolicy | None = None,
) -> None:
    """Record each violation in its own unit of work, an hour apart, as rulings would."""
    for kind in kinds:
        clock.advance(timedelta(hours=1))
        with services.database.unit_of_work() as session:
            record_violation(
                session,
                seller_id=seller_id,
                kind=kind,
                source=FROM_RULING,
                actor_id="arb-1",
                policy=rules or services.policy.penalties,
                at=clock.now(),
            )


def snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the penalties touch, to show the what-if wrote nothing."""
    tables = (Violation, Penalty, LadderCrossing, SellerStanding, SellerEvent, Deadline)
    with services.database.unit_of_work(read_only=True) as session:
        return {
            model.__tablename__: sorted(
                tuple(str(value) for value in row)
                for row in session.execute(select(*model.__table__.columns)).all()
            )
            for model in tables
        }


def seed(services: Services, clock: ManualClock) -> None:
    # 12 general points: under the shipped ladder one step (12), under the halved one two (6, 12).
    violate(services, clock, "seller-a", *["not_as_described"] * 4)
    # 3 points: below the first step either way, so not listed.
    violate(services, clock, "seller-b", "not_as_described")
    # 6 points: nothing today, the first halved step tomorrow.
    violate(services, clock, "seller-c", "non_delivery", "non_delivery")
    # Severe only: the rules file leaves the severe ledger alone, so not listed.
    violate(services, clock, "seller-d", "counterfeit")


def test_the_table_lists_only_the_sellers_whose_penalties_would_differ(
    services: Services, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    seed(services, clock)
    before = snapshot(services)

    result = run(database_url, "--rules", str(write_rules(tmp_path, HALVED)))

    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("SELLER"))
    assert header.split() == ["SELLER", "LEDGER", "POINTS", "THRESHOLDS", "CROSSED", "PENALTIES", "(+", "added,", "-", "removed)"]  # fmt: skip
    column = header.index("PENALTIES")
    row_a = next(line for line in lines if line.startswith("seller-a"))
    assert row_a.split()[:8] == ["seller-a", "general", "12", "->", "12", "12", "->", "6,12"]
    assert row_a[column:] == "+ listing_restriction 14d (at 12)"
    row_c = next(line for line in lines if line.startswith("seller-c"))
    assert row_c.split()[:8] == ["seller-c", "general", "6", "->", "6", "-", "->", "6"]
    assert row_c[column:] == "+ public_warning (at 6)"
    following = lines[lines.index(row_c) + 1]
    assert following[:column].strip() == ""
    assert following[column:] == "+ listing_restriction 7d (at 6)"
    assert "seller-b" not in out
    assert "seller-d" not in out
    assert "4 sellers examined, 2 affected" in out
    assert "2026.1 -> halved" in out
    assert snapshot(services) == before


def test_json_is_one_document_with_both_sides_per_seller(
    services: Services, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    seed(services, clock)
    before = snapshot(services)

    result = run(database_url, "--rules", str(write_rules(tmp_path, HALVED)), "--format", "json")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["sellers_examined"] == 4
    assert document["sellers_affected"] == 2
    assert document["violations_replayed"] == 8
    assert document["current"]["version"] == "2026.1"
    assert document["other"]["version"] == "halved"
    assert document["missing_kinds"] == {"current": {}, "other": {}}
    by_seller = {entry["seller_id"]: entry for entry in document["sellers"]}
    assert set(by_seller) == {"seller-a", "seller-c"}

    a = by_seller["seller-a"]
    assert a["violations"] == 4
    assert a["current"]["points"] == a["other"]["points"] == {"general": 12, "severe": 0}
    assert [c["points"] for c in a["current"]["thresholds_crossed"]] == [12]
    assert [c["points"] for c in a["other"]["thresholds_crossed"]] == [6, 12]
    assert [(p["kind"], p["duration"]) for p in a["current"]["penalties"]] == [
        ("public_warning", None),
        ("listing_restriction", "7d"),
    ]
    assert [(p["kind"], p["duration"], p["threshold"]) for p in a["penalties_added"]] == [
        ("listing_restriction", "14d", 12)
    ]
    assert a["penalties_removed"] == []

    c = by_seller["seller-c"]
    assert c["current"]["penalties"] == []
    assert [(p["kind"], p["duration_seconds"]) for p in c["penalties_added"]] == [
        ("public_warning", None),
        ("listing_restriction", 7 * 86_400),
    ]
    assert snapshot(services) == before


def test_penalties_the_other_rules_would_not_impose_are_listed_as_removed(
    services: Services, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    violate(services, clock, "seller-a", *["not_as_described"] * 4)
    softer = write_rules(
        tmp_path,
        '[penalties]\nversion = "soft"\n[penalties.violations.not_as_described]\npoints = 2\n',
    )

    result = run(database_url, "--rules", str(softer), "--format", "json")

    assert result.returncode == 0, result.stderr
    (a,) = json.loads(result.stdout)["sellers"]
    assert (a["current"]["points"]["general"], a["other"]["points"]["general"]) == (12, 8)
    assert a["other"]["thresholds_crossed"] == []
    assert [p["kind"] for p in a["penalties_removed"]] == ["public_warning", "listing_restriction"]
    assert a["penalties_added"] == []


def test_a_kind_the_rules_do_not_know_counts_nothing_and_is_reported(
    services: Services, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    # Recorded under rules (since retired) that knew a kind the shipped ones do not.
    retired = write_rules(
        tmp_path,
        '[penalties]\nversion = "old"\n'
        '[penalties.violations.grey_market]\nledger = "general"\npoints = 6\n',
        name="old.toml",
    )
    old_rules = load_policy(retired).penalties
    violate(services, clock, "seller-g", "grey_market", "grey_market", rules=old_rules)
    violate(services, clock, "seller-g", "not_as_described", rules=old_rules)

    table = run(database_url, "--rules", str(write_rules(tmp_path, HALVED)))
    document = json.loads(
        run(database_url, "--rules", str(write_rules(tmp_path, HALVED)), "--format", "json").stdout
    )

    assert table.returncode == 0, table.stderr
    assert "counted as 0 points: grey_market (2 violations)" in table.stdout
    assert document["missing_kinds"] == {"current": {"grey_market": 2}, "other": {"grey_market": 2}}
    # Only not_as_described counts: 3 points, below even the halved first step.
    assert document["sellers_examined"] == 1
    assert document["sellers_affected"] == 0


def test_no_difference_says_so(
    services: Services, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    seed(services, clock)
    same = write_rules(tmp_path, '[penalties]\nversion = "same"\n')

    result = run(database_url, "--rules", str(same))

    assert result.returncode == 0, result.stderr
    assert "No seller's penalties would differ." in result.stdout
    assert "4 sellers examined, 0 affected" in result.stdout


def test_a_bad_rules_file_is_a_one_line_error(database_url: str, tmp_path: Path) -> None:
    bad = write_rules(tmp_path, '[penalties]\npoints_window = "fortnightly"\n')

    for rules in (str(bad), str(tmp_path / "missing.toml")):
        result = run(database_url, "--rules", rules)
        assert result.returncode == 1
        assert result.stdout == ""
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("Error: bad rules file:")
    assert "penalties.points_window" in run(database_url, "--rules", str(bad)).stderr


def test_many_sellers_show_a_progress_bar_on_stderr(
    services: Services, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    for n in range(205):
        violate(services, clock, f"seller-{n:03}", "non_delivery", "non_delivery")

    result = run(database_url, "--rules", str(write_rules(tmp_path, HALVED)), "--format", "json")

    assert result.returncode == 0, result.stderr
    assert "Replaying sellers" in result.stderr
    document = json.loads(result.stdout)  # the bar stays out of the JSON
    assert document["sellers_examined"] == document["sellers_affected"] == 205


# The replay itself, in memory --------------------------------------------------------------------


def at(day: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)


def test_a_new_calendar_year_starts_from_zero() -> None:
    rules = load_policy().penalties
    history = [("not_as_described", at(363 + i)) for i in range(4)]  # two in 2026, two in 2027

    _, difference = simulate.compare("s", history, rules, rules)
    replay = simulate.Replay(rules, Counter())
    for kind, moment in history:
        replay.add(kind, moment)

    assert difference is None
    assert replay.outcome().points == {"general": 6, "severe": 0}
    assert replay.outcome().crossings == ()


def test_a_rolling_window_forgets_old_points_and_takes_back_what_still_runs(
    tmp_path: Path,
) -> None:
    calendar = load_policy().penalties
    rolling = load_policy(
        write_rules(tmp_path, '[penalties]\npoints_window = "rolling"\nrolling_window = "30d"\n')
    ).penalties
    # 12 points by day 3 (a 7-day restriction), then one more 40 days later: the window holds 3.
    history = [("not_as_described", at(i)) for i in range(4)] + [("not_as_described", at(43))]

    _, difference = simulate.compare("s", history, calendar, rolling)

    assert difference is not None
    assert difference.current.points == {"general": 15, "severe": 0}
    assert difference.other.points == {"general": 3, "severe": 0}
    # The restriction had run its 7 days when the window moved on; the warning has no end, so
    # undoing the crossing takes it back.
    assert [p.kind for p in difference.other.penalties] == ["listing_restriction"]
    assert [p.kind for p in difference.removed] == ["public_warning"]
    assert difference.added == ()
