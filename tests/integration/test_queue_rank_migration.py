"""Migration 0009 gives the disputes already in the field the rank of their priority."""

from __future__ import annotations

from alembic import command
from flask import Flask
from sqlalchemy import create_engine, text

from api.wiring import alembic_config
from arbitration.classification import priority_rank
from tests.support.world import World


def test_upgrading_ranks_the_disputes_already_filed(
    app: Flask, world: World, database_url: str
) -> None:
    for reason in ("safety_hazard", "counterfeit", "damaged"):
        world.dispute(reason=reason)
    app.extensions["arbitration"].database.dispose()
    config = alembic_config(database_url)
    command.downgrade(config, "0008")
    command.upgrade(config, "head")
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT priority, priority_rank FROM disputes")).all()
    finally:
        engine.dispose()
    assert sorted(rows) == sorted(
        (priority, priority_rank(priority)) for priority in ("urgent", "high", "normal")
    )
