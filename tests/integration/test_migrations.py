"""The Alembic revisions and the models describe the same schema, and every revision runs both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import evidence.models  # noqa: F401  (registers the evidence tables)
from api.wiring import alembic_config, upgrade_schema
from arbitration import models  # noqa: F401  (registers the core tables)
from arbitration.db import Base


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
    finally:
        engine.dispose()


def test_the_migrations_build_exactly_the_models_schema(database_url: str) -> None:
    """``database_url`` was migrated from empty (SQLite, or PostgreSQL when the suite runs there)."""
    assert _differences(database_url) == []


def test_every_revision_downgrades_and_upgrades_again(database_url: str) -> None:
    url = database_url
    upgrade_schema(url)
    config = alembic_config(url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    assert _differences(url) == []
