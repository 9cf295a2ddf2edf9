"""The composition root: the one place that builds a running engine and wires the domains together.

``build(config)`` makes the database engine, the handler registry, the policy, the clock and the
evidence storage. ``create_app``, ``arbitration worker``, every CLI command and the test fixtures
call it, so a handler registered here runs whichever entry point made the change.

Satellites (penalties, the webhook outbox) register their domain-event handlers in
``register_handlers``. A deployment may add its own with ``ARBITRATION_PLUGINS``: module names,
comma-separated, each with a ``register(handlers)`` function.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

import migrations
from api.config import Config
from arbitration.clock import Clock
from arbitration.db import Database, make_engine
from arbitration.events import Handlers
from arbitration.policy import Policy
from evidence.storage import BlobStore, FilesystemBlobStore
from penalties import handlers as penalties_handlers

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


# The schema -----------------------------------------------------------------------------------


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_schema(database_url: str) -> None:
    """Apply every Alembic revision not yet applied (safe to run at every start)."""
    command.upgrade(alembic_config(database_url), "head")
