"""Where a benchmark's databases live: SQLite files in its folder, or (``--pg``) PostgreSQL.

``python -m bench --pg`` runs itself again under ``scripts/with-postgres``, the throwaway server the
PostgreSQL test suites use (started as the ``postgres`` user, removed on exit), with durable commits
(``WITH_POSTGRES_DURABLE=1``: fsync on, as SQLite's ``synchronous=FULL`` is). Each database a
benchmark asks for (the engine's, the bare baseline's) is then a database of its own on that server,
so the engine and its baseline always run on the same kind of database and the ratio compares like
with like.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.orm import Session

from api.config import Config
from api.wiring import build, upgrade_schema
from arbitration import accounts
from arbitration.clock import ManualClock
from arbitration.models import Account
from arbitration.policy import load_policy
from tests.support import databases as test_databases
from webhooks import outbox
from webhooks import service as webhook_service
from webhooks.models import Delivery

REPOSITORY = Path(__file__).resolve().parents[1]
WITH_POSTGRES = REPOSITORY / "scripts" / "with-postgres"
ADMIN_URL_VARIABLE = "ARBITRATION_TEST_POSTGRES_URL"  # set by scripts/with-postgres
UNDER_POSTGRES = "BENCH_UNDER_POSTGRES"  # set when the run was started again under it
# Where the benchmarks' webhook endpoint points: the discard port, where nothing listens.
WEBHOOK_URL = "http://127.0.0.1:9/webhooks"


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pg",
        action="store_true",
        help="run on a throwaway PostgreSQL server (engine and baseline both), not SQLite",
    )


def run_under_postgres_if_asked(argv: list[str]) -> None:
    """With ``--pg``, replace this process by the same run under ``scripts/with-postgres``."""
    if "--pg" not in argv or os.environ.get(UNDER_POSTGRES):
        return
    print("starting a throwaway PostgreSQL server (scripts/with-postgres)...", flush=True)
    environment = {**os.environ, UNDER_POSTGRES: "1", "WITH_POSTGRES_DURABLE": "1"}
    command = [str(WITH_POSTGRES), sys.executable, "-m", "bench", *argv]
    os.execve(command[0], command, environment)


def new_database(folder: Path, name: str, *, postgres: bool) -> str:
    """The URL of a new, empty database called ``name``: a file in ``folder``, or on the server."""
    if not postgres:
        return f"sqlite:///{folder / f'{name}.db'}"
    admin = os.environ.get(ADMIN_URL_VARIABLE)
    if not admin or not os.environ.get(UNDER_POSTGRES):
        sys.exit(
            "--pg: run the benchmarks through `python -m bench ... --pg` (it starts the server)"
        )
    database = f"bench_{name}".replace("-", "_").lower()
    test_databases.admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", url=admin)
    test_databases.admin(f"CREATE DATABASE {database}", url=admin)
    return make_url(admin).set(database=database).render_as_string(hide_password=False)


def discard(url: str) -> None:
    """Remove a database made by ``new_database`` (its engines disposed, its servers stopped)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        test_databases.drop(url)
    elif parsed.database:
        path = Path(parsed.database)
        for leftover in path.parent.glob(f"{path.name}*"):  # and its -wal and -shm
            leftover.unlink()


def numbered(engine: Engine) -> tuple[str, str]:
    """SQL that numbers copies ``n.i`` from 1 to ``:count``: a prefix to the statement, and the
    join that goes after its ``FROM <table> AS t``. SQLite has a recursive CTE; PostgreSQL has
    ``generate_series``, which it inserts from faster."""
    if engine.dialect.name == "postgresql":
        return "", "CROSS JOIN generate_series(1, :count) AS n(i)"
    cte = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
    return cte, "JOIN n"


def zero_padded(engine: Engine, number: str, width: int) -> str:
    """SQL text of the integer ``number`` padded with zeros to ``width`` digits (ids that sort)."""
    if engine.dialect.name == "postgresql":
        return f"lpad(CAST({number} AS TEXT), {width}, '0')"
    return f"printf('%0{width}d', {number})"


def moved(engine: Engine, moment: str, seconds: str) -> str:
    """SQL for the time ``moment`` moved by ``seconds`` (an SQL integer), stored as ``UTCDateTime``
    stores it: a timestamp on PostgreSQL, text on SQLite (whose comparisons as text then keep the
    order of time)."""
    if engine.dialect.name == "postgresql":
        return f"({moment} + ({seconds}) * INTERVAL '1 second')"
    return f"strftime('%Y-%m-%d %H:%M:%S', {moment}, ({seconds}) || ' seconds') || '.000000'"


def earlier(engine: Engine, first: str, second: str) -> str:
    """SQL for the earlier of two times."""
    name = "LEAST" if engine.dialect.name == "postgresql" else "min"
    return f"{name}({first}, {second})"


def as_in_production(engine: Engine) -> None:
    """After a bulk load, the statistics each database has in production: PostgreSQL's autovacuum
    analyzes a table once a tenth of it has changed (a bulk load in the minute before a benchmark
    would otherwise be planned blind), SQLite's engine never gathers any (``ANALYZE`` would give
    it plans production never gets)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def as_a_marketplace(url: str, people: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Migrate the engine database at ``url``, create one account per (role, id), and register a
    webhook endpoint for its platform account (``register_webhook_endpoint``), as a marketplace
    sets the engine up: the accounts' tokens."""
    upgrade_schema(url)
    clock = ManualClock()
    services = build(Config(database_url=url, policy=load_policy(), clock=clock))
    tokens = {}
    with services.database.unit_of_work() as session:
        for role, account_id in people:
            account, tokens[account_id] = accounts.create_account(
                session, role=role, display_name=account_id, at=clock.now(), account_id=account_id
            )
            if role == accounts.PLATFORM:
                register_webhook_endpoint(session, platform=account, at=clock.now())
    services.database.dispose()
    return tokens


def register_webhook_endpoint(session: Session, *, platform: Account, at: datetime) -> None:
    """One webhook endpoint for every event, as every marketplace registers (it is how it hears
    back). The benchmarks' servers run without the scheduler, so the events the writes store
    wait to be fanned out to it (``fan_out``, which ``bench http`` times after its rounds), and
    nothing listens at ``WEBHOOK_URL``: fanning out and delivering is the worker's work, not the
    request's."""
    webhook_service.create_endpoint(
        session,
        caller=accounts.Caller(platform),
        url=WEBHOOK_URL,
        event_types=None,
        description="a benchmark's: never delivered",
        at=at,
    )


@dataclass(frozen=True)
class FanOut:
    """The delivery job's first step over what a benchmark's writes left: the events fanned out,
    the deliveries made, and the time it took, in the benchmark's own process."""

    events: int
    deliveries: int
    seconds: float
    cpu_seconds: float

    @property
    def cpu_us_an_event(self) -> float:
        return 1e6 * self.cpu_seconds / self.events if self.events else 0.0


def fan_out(url: str) -> FanOut:
    """Fan out every event waiting in the database at ``url`` (``webhooks.outbox.fan_out``), as
    the worker would, and time it."""
    services = build(Config(database_url=url, policy=load_policy()))
    database = services.database
    try:
        with database.unit_of_work(read_only=True) as session:
            before = session.scalar(select(func.count()).select_from(Delivery)) or 0
        began, cpu = time.perf_counter(), time.process_time()
        events = outbox.fan_out(database, policy=services.policy.webhooks)
        seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
        with database.unit_of_work(read_only=True) as session:
            after = session.scalar(select(func.count()).select_from(Delivery)) or 0
    finally:
        database.dispose()
    return FanOut(events, after - before, seconds, cpu_seconds)


def describe() -> str:
    """The database of this run, for its first line: SQLite, or the server's version and fsync."""
    admin = os.environ.get(ADMIN_URL_VARIABLE)
    if not admin or not os.environ.get(UNDER_POSTGRES):
        return "SQLite"
    version, fsync, commit = test_databases.settings(
        admin, ("server_version", "fsync", "synchronous_commit")
    )
    return f"PostgreSQL {version} (fsync {fsync}, synchronous_commit {commit})"
