"""Sweep cost follows what is due, not what is open.

Sweeps 1,000 due deadlines in a database with 10,000 open disputes (the baseline) and again with
1,000,000 (``--quick``: 100,000), and prints the ratio; the goal is at most 1.5. Filler disputes are
cloned from a template row in SQL so that building a million takes seconds, not hours; the due
ones are filed through the real use cases. ``--pg``: the same on PostgreSQL databases.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, Table, text

from api.config import Config
from api.wiring import build, upgrade_schema
from arbitration import sweep
from arbitration.clock import ManualClock
from arbitration.db import Database
from arbitration.models import Deadline, Dispute, Order
from arbitration.policy import Policy, load_policy
from bench import databases
from tests.support.seed import seed_disputes

DUE = 1_000
GOAL = 1.5


def _clone(engine: Engine, table: Table, where: str, count: int, overrides: dict[str, str]) -> None:
    """Insert ``count`` copies of the rows matching ``where``, with some columns computed from i."""
    columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    columns = [c for c in columns if not (c == "id" and table.name == "deadlines")]
    select_list = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    series, join = databases.numbered(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                f"{series} INSERT INTO {table.name} ({', '.join(columns)}) "
                f"SELECT {select_list} FROM {table.name} AS t {join} WHERE {where}"
            ),
            {"count": count},
        )


def build_database(
    folder: Path, open_disputes: int, policy: Policy, clock: ManualClock, *, postgres: bool = False
) -> Database:
    url = databases.new_database(folder, f"bench-{open_disputes}", postgres=postgres)
    upgrade_schema(url)
    database = build(Config(database_url=url, policy=policy, clock=clock)).database
    engine = database.engine
    (template,) = seed_disputes(database, policy=policy, count=1, at=clock.now(), prefix="tpl")
    filler = open_disputes - DUE - 1
    print(f"loading {open_disputes:,} open disputes...", flush=True)
    _clone(engine, Order.__table__, "t.id = 'tpl-order-0'", filler, {"id": "'fill-o-' || i"})
    _clone(
        engine,
        Dispute.__table__,
        f"t.id = '{template}'",
        filler,
        {"id": "'fill-d-' || i", "order_id": "'fill-o-' || i", "open_order_id": "'fill-o-' || i"},
    )
    _clone(
        engine,
        Deadline.__table__,
        f"t.dispute_id = '{template}'",
        filler,
        {"dispute_id": "'fill-d-' || i"},
    )
    # The due ones: unshipped orders, so each runs one 24-hour timer and no reminder.
    seed_disputes(
        database, policy=policy, count=DUE, at=clock.now(), prefix="due", order_status="paid"
    )
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    return database


def measure(database: Database, policy: Policy, start: ManualClock) -> float:
    clock = ManualClock(start.now() + timedelta(hours=25))
    began = time.perf_counter()
    report = sweep.sweep_due_deadlines(database, policy=policy, clock=clock, batch_size=DUE * 10)
    elapsed = time.perf_counter() - began
    assert report.fired == DUE and not report.failed, report
    return elapsed


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="100,000 open disputes, not 1,000,000")
    databases.add_options(parser)
    args = parser.parse_args(argv)
    large = 100_000 if args.quick else 1_000_000
    policy = load_policy()
    with tempfile.TemporaryDirectory() as folder:
        results = {}
        for size in (10_000, large):
            clock = ManualClock()
            began = time.perf_counter()
            database = build_database(Path(folder), size, policy, clock, postgres=args.pg)
            built = time.perf_counter() - began
            results[size] = measure(database, policy, clock)
            database.dispose()
            databases.discard(database.engine.url.render_as_string(hide_password=False))
            print(
                f"sweep of {DUE:,} due deadlines with {size:>9,} open disputes: "
                f"{results[size]:6.2f}s ({results[size] / DUE * 1000:.1f} ms each; built in {built:.0f}s)"
            )
    ratio = results[large] / results[10_000]
    verdict = "ok" if ratio <= GOAL else "ABOVE GOAL"
    print(f"ratio {large:,} / 10,000 open: {ratio:.2f} (goal <= {GOAL}: {verdict})")
