"""Deadlines fire exactly once: with sweeps racing, and with a worker killed in the middle of one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from api.config import Config
from api.wiring import build
from arbitration import sweep
from arbitration.clock import ManualClock, SystemClock
from arbitration.db import Database
from arbitration.models import Deadline, Dispute, Event, Refund
from arbitration.policy import Policy
from tests.support.seed import seed_disputes

ARBITRATION = str(Path(sys.executable).parent / "arbitration")


def _database(url: str, policy: Policy) -> Database:
    """A database of its own (its own connection pool), as another process would have."""
    return build(Config(database_url=url, policy=policy)).database


def _assert_each_dispute_refunded_once(database: Database, dispute_ids: list[str]) -> None:
    with database.unit_of_work(read_only=True) as session:
        accepts = dict(
            session.execute(
                select(Event.dispute_id, func.count())
                .where(Event.action == "accept", Event.actor_id == "system")
                .group_by(Event.dispute_id)
            ).all()
        )
        refunds = dict(
            session.execute(
                select(Refund.dispute_id, func.count()).group_by(Refund.dispute_id)
            ).all()
        )
        closed = set(session.scalars(select(Dispute.id).where(Dispute.outcome == "refunded")))
    assert all(accepts.get(i) == 1 for i in dispute_ids), "an accept fired twice or never"
    assert all(refunds.get(i) == 1 for i in dispute_ids), "a refund was lost or doubled"
    assert closed == set(dispute_ids)


def test_sweeps_racing_over_the_same_due_deadlines_fire_each_once(
    database_url: str, policy: Policy
) -> None:
    start = ManualClock()
    dispute_ids = seed_disputes(
        _database(database_url, policy), policy=policy, count=60, at=start.now()
    )
    later = ManualClock(start.now() + timedelta(days=6))
    barrier = threading.Barrier(4)
    reports: list[sweep.SweepReport] = []

    def race() -> None:
        database = _database(database_url, policy)  # each sweeper its own pool, as processes
        barrier.wait()
        reports.append(sweep.sweep_due_deadlines(database, policy=policy, clock=later))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # 60 reminders (due at day 4) and 60 acceptances (day 5) were due; each fired by one sweeper.
    assert sum(report.fired for report in reports) == 120
    assert not any(report.failed for report in reports)
    _assert_each_dispute_refunded_once(_database(database_url, policy), dispute_ids)


def _fired(database: Database) -> int:
    # A deferred (read-only) transaction: it must not queue for the worker's write lock.
    with database.engine.execution_options(read_only=True).connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM deadlines WHERE status = 'fired' AND action = 'accept'")
        ).scalar_one()


def _worker(database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ARBITRATION_DATABASE_URL": database_url,
        "ARBITRATION_SCHEDULER_INTERVAL": "0.2",
    }
    return subprocess.Popen(
        [ARBITRATION, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.mark.slow
def test_worker_killed_mid_sweep_loses_and_doubles_nothing(
    database_url: str, policy: Policy
) -> None:
    total = 150
    database = _database(database_url, policy)
    filed_at = SystemClock().now() - timedelta(days=6)  # everything is already due in real time
    dispute_ids = seed_disputes(database, policy=policy, count=total, at=filed_at)

    worker = _worker(database_url)
    deadline = time.monotonic() + 60
    while _fired(database) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    fired_before_restart = _fired(database)
    assert 0 < fired_before_restart < total, "the kill did not land mid-sweep"

    # Whatever the kill interrupted was rolled back whole: every fired row has its effect, once.
    with database.unit_of_work(read_only=True) as session:
        fired_ids = set(
            session.scalars(
                select(Deadline.dispute_id).where(
                    Deadline.action == "accept", Deadline.status == "fired"
                )
            )
        )
    _assert_each_dispute_refunded_once(database, sorted(fired_ids))

    restarted = _worker(database_url)
    try:
        deadline = time.monotonic() + 120
        while _fired(database) < total and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
    _assert_each_dispute_refunded_once(database, dispute_ids)
