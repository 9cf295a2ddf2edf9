"""Migration 0014 on a database in the field: the events already written have their deliveries,
so none waits to be fanned out again; the endpoints already registered hear what comes next."""

from __future__ import annotations

from alembic import command
from flask import Flask
from sqlalchemy import create_engine, func, select, text

from api.wiring import Services, alembic_config
from tests.support.world import World
from webhooks import outbox
from webhooks.models import Delivery


def _count(database_url: str, sql: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_upgrading_leaves_no_event_to_fan_out_twice_and_endpoints_hear_the_next(
    app: Flask, world: World, services: Services, database_url: str
) -> None:
    response = world.call(
        "platform", "POST", "/v1/webhook-endpoints", json={"url": "http://x.example/h"}
    )
    assert response.status_code == 201, response.json
    world.dispute()
    outbox.fan_out(services.database, policy=services.policy.webhooks)
    with services.database.unit_of_work(read_only=True) as session:
        made = session.scalar(select(func.count()).select_from(Delivery))
    assert made
    app.extensions["arbitration"].database.dispose()
    config = alembic_config(database_url)
    command.downgrade(config, "0013")  # as the field has it: every event with its deliveries
    command.upgrade(config, "head")

    assert _count(database_url, "SELECT count(*) FROM webhook_events WHERE fanout_pending") == 0
    assert _count(database_url, "SELECT max(starts_after) FROM webhook_endpoints") == 0
    assert outbox.fan_out(services.database, policy=services.policy.webhooks) == 0
    world.dispute()
    assert outbox.fan_out(services.database, policy=services.policy.webhooks) > 0
    with services.database.unit_of_work(read_only=True) as session:
        assert (session.scalar(select(func.count()).select_from(Delivery)) or 0) > made
