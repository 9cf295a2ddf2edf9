"""The composition root: the one place that builds a running engine and wires the domains together.

``build(config)`` makes the database engine, the handler registry, the policy, the clock and the
evidence storage. ``create_app``, ``arbitration worker``, every CLI command and the test fixtures
call it, so a handler registered here runs whichever entry point made the change.

Satellites (penalties, the webhook outbox) register their domain-event handlers in
``register_handlers``. A deployment may add its own with ``ARBITRATION_PLUGINS``: module names,
comma-separated, each with a ``register(handlers)`` function.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

import migrations
from api.config import Config
from arbitration import privacy, recoveries
from arbitration.clock import Clock
from arbitration.db import Database, make_engine
from arbitration.events import DecisionOverturned, Handlers
from arbitration.policy import Policy
from evidence import retention as evidence_retention
from evidence.storage import BlobStore, FilesystemBlobStore
from penalties import buyers as buyer_ledger
from penalties import handlers as penalties_handlers
from reports import feedback as reports_feedback
from webhooks import checkpoints, delivery
from webhooks import outbox as webhook_outbox
from webhooks import service as webhook_service

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


@dataclass(frozen=True)
class Services:
    """Everything a use case needs from the running engine."""

    database: Database
    policy: Policy
    clock: Clock
    config: Config
    storage: BlobStore  # evidence bytes, content-addressed (evidence.storage)


def register_handlers(handlers: Handlers, config: Config) -> None:
    """Every satellite's reactions to the core's domain events, then the deployment's plugins."""
    penalties_handlers.register(handlers, policy=config.policy)
    reports_feedback.register(handlers, policy=config.policy)
    # Fairness both ways (DESIGN §5a): the buyer ledger (it also answers the core's questions
    # about the parties' standing, Handlers.party_standing); recoveries fall overdue, or are
    # written off when an appeal clears the seller.
    buyer_ledger.register(handlers, policy=config.policy)
    handlers.on_deadline(recoveries.RECOVERY_OVERDUE, recoveries.on_overdue)
    handlers.on(DecisionOverturned, recoveries.on_overturned)
    webhook_outbox.register(handlers)
    for module_name in config.plugins:
        importlib.import_module(module_name).register(handlers)


def build(config: Config) -> Services:
    handlers = Handlers()
    register_handlers(handlers, config)
    database = Database(make_engine(config.database_url), handlers)
    return Services(
        database=database,
        policy=config.policy,
        clock=config.clock,
        config=config,
        storage=FilesystemBlobStore(config.evidence_dir),
    )


def scheduled_jobs(services: Services) -> dict[str, Callable[[], object]]:
    """What the scheduler runs besides the deadline sweep: webhook deliveries, and signed
    checkpoints of every chain head when a signing key is configured."""
    policy = services.policy.webhooks
    jobs: dict[str, Callable[[], object]] = {
        "deliver-webhooks": functools.partial(
            delivery.deliver_until_idle, services.database, policy=policy, clock=services.clock
        )
    }
    if services.config.audit_signing_key:
        try:
            key = checkpoints.load_signing_key(services.config.audit_signing_key)
        except checkpoints.SigningKeyError as error:  # refused at start, in one line
            raise click.ClickException(str(error)) from None
        jobs["audit-checkpoint"] = functools.partial(
            checkpoints.take_if_due, services.database, key=key, policy=policy, clock=services.clock
        )
    return jobs


@dataclass(frozen=True)
class PersonalDataPurged:
    """What ``purge_personal_data`` did (or, dry, would do)."""

    disputes: list[str]
    events_redacted: int
    events_kept: int  # hashed before version 2: their payload cannot be redacted
    evidence_items: int
    blobs_deleted: int


def purge_personal_data(
    services: Services, *, older_than: timedelta, dry_run: bool = False
) -> PersonalDataPurged:
    """``arbitration privacy purge``: the personal data of disputes closed longer ago than
    ``older_than``, removed in one unit of work from the disputes and their chains
    (``arbitration.privacy``), their webhook events (``webhooks.service``) and their evidence
    (``evidence.retention``); then the evidence bytes no item needs any more."""
    with services.database.unit_of_work() as session:
        at = services.clock.now()
        report = privacy.purge(session, older_than=older_than, at=at, dry_run=dry_run)
        evidence = evidence_retention.EvidencePurge()
        if not dry_run and report.disputes:
            webhook_service.redact_outbox(session, dispute_ids=report.disputes)
            evidence = evidence_retention.purge(session, dispute_ids=report.disputes, at=at)
    deleted = evidence_retention.delete_freed(services.database, services.storage, evidence.freed)
    return PersonalDataPurged(
        report.disputes, report.events_redacted, report.events_kept, evidence.items, deleted
    )


# Start-up checks ------------------------------------------------------------------------------

# What SQLite says when it may read the file but not write it (or not create its -wal/-shm files).
_SQLITE_NOT_WRITABLE = ("readonly", "read-only", "unable to open database file")
_WRITE_PROBE_TABLE = "arbitration_start_write_probe"  # created and rolled back, never kept


class DatabaseNotWritable(click.ClickException):
    """The engine would start but fail its first write: refused at start, as a one-line error."""


def check_database_writable(database_url: str) -> None:
    """Refuse to start on a SQLite file this process cannot write, before serving or sweeping.

    Writes in a transaction (``BEGIN IMMEDIATE``) and rolls it back: nothing changes, but a
    read-only file, a read-only folder (SQLite writes ``-wal`` and ``-shm`` files beside the
    database) or a read-only disk fails here, naming the file, instead of as a traceback from the
    first request or sweep. PostgreSQL needs no check: its server owns the files.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    path = Path(url.database or "").resolve()
    if not path.parent.is_dir():
        raise DatabaseNotWritable(f"the folder of the SQLite database {path} does not exist")
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            # BEGIN IMMEDIATE alone succeeds on a read-only file in WAL mode: write something.
            connection.exec_driver_sql(f"CREATE TABLE {_WRITE_PROBE_TABLE} (x)")
            transaction.rollback()
    except OperationalError as error:
        reason = str(error.orig)
        if not any(words in reason.lower() for words in _SQLITE_NOT_WRITABLE):
            raise
        raise DatabaseNotWritable(
            f"the SQLite database {path} is read-only for this process ({reason}): the engine "
            f"must be able to write the file and create files in {path.parent}"
        ) from None
    finally:
        engine.dispose()


# The schema -----------------------------------------------------------------------------------


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_schema(database_url: str) -> None:
    """Apply every Alembic revision not yet applied (safe to run at every start)."""
    command.upgrade(alembic_config(database_url), "head")
