"""One APScheduler interval job that runs the sweep; the database, not the scheduler, holds the truth.

``coalesce`` folds missed runs into one, ``max_instances=1`` keeps runs of one process from
overlapping, and ``misfire_grace_time=None`` never drops a late run. The first run starts at once,
so deadlines that came due while nothing ran fire at the next start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from arbitration.clock import Clock, SystemClock
from arbitration.db import Database
from arbitration.policy import Policy
from arbitration.sweep import DEFAULT_BATCH_SIZE, Handler, sweep_due_deadlines

log = logging.getLogger(__name__)


def build_scheduler(
    database: Database,
    *,
    policy: Policy,
    clock: Clock,
    interval_seconds: float,
    blocking: bool = False,
    extra_handlers: Mapping[str, Handler] | None = None,
    extra_jobs: Mapping[str, Callable[[], object]] | None = None,
) -> BaseScheduler:
    """A scheduler (not yet started) whose one job sweeps due deadlines every ``interval_seconds``.

    ``extra_jobs`` (the satellites' periodic work: webhook deliveries, checkpoints; named by the
    composition root) run at the same interval, each as its own job, so none delays another.
    """
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)

    def sweep_until_nothing_is_due() -> None:
        while True:
            report = sweep_due_deadlines(
                database, policy=policy, clock=clock, extra_handlers=extra_handlers
            )
            if report.handled:
                log.info(
                    "sweep: %d fired, %d stale, %d failed",
                    report.fired,
                    report.cancelled,
                    len(report.failed),
                )
            # A full batch may mean more is due; a batch of only failures will be retried later.
            if report.fired + report.cancelled == 0 or report.handled < DEFAULT_BATCH_SIZE:
                return

    scheduler.add_job(
        sweep_until_nothing_is_due,
        "interval",
        seconds=interval_seconds,
        id="sweep-due-deadlines",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        next_run_time=SystemClock().now(),  # APScheduler runs on real time; the sweep on ``clock``
    )
    for name, job in (extra_jobs or {}).items():
        scheduler.add_job(
            _logged(name, job),
            "interval",
            seconds=interval_seconds,
            id=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=SystemClock().now(),
        )
    return scheduler


def _logged(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:  # the next run tries again; the database holds what is left to do
            log.exception("scheduled job %s failed", name)

    return run
