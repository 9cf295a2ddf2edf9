"""The Alembic revisions and the models describe the same schema, and every revision runs both ways."""

from __future__ import annotations

from pathlib import Path

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


def test_the_migrations_build_exactly_the_models_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade_schema(url)
    assert _differences(url) == []


def test_every_revision_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'both-ways.db'}"
    upgrade_schema(url)
    config = alembic_config(url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    assert _differences(url) == []
