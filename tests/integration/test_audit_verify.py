"""``arbitration audit verify`` recomputes every chain and names the first broken link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from arbitration.db import make_engine
from tests.support.penalties import rule_against
from tests.support.world import World

pytestmark = pytest.mark.slow  # each test runs `arbitration audit verify` in a process of its own

ARBITRATION = str(Path(sys.executable).parent / "arbitration")


def _verify(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARBITRATION_DATABASE_URL": database_url}
    return subprocess.run(
        [ARBITRATION, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )


def _busy_world(world: World) -> str:
    dispute, _buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "offer", amount=1_000)
    world.ok(seller, dispute["id"], "reject", reason="no")
    world.dispute()
    return dispute["id"]


def test_untouched_log_verifies(world: World, database_url: str) -> None:
    _busy_world(world)
    result = _verify(database_url)
    assert result.returncode == 0, result.stderr
    assert "4 events in 2 disputes verify" in result.stdout


def test_edited_payload_is_caught_and_named(world: World, database_url: str) -> None:
    dispute_id = _busy_world(world)
    with make_engine(database_url).begin() as connection:
        connection.execute(
            text("UPDATE events SET payload = :payload WHERE dispute_id = :id AND seq = 2"),
            {"payload": '{"amount": 1, "note": "", "offer_id": "x"}', "id": dispute_id},
        )
    result = _verify(database_url)
    assert result.returncode == 1
    assert f"dispute {dispute_id}, event 2: content does not match its hash" in result.stderr


def test_deleted_event_is_caught(world: World, database_url: str) -> None:
    dispute_id = _busy_world(world)
    with make_engine(database_url).begin() as connection:
        connection.execute(
            text("DELETE FROM events WHERE dispute_id = :id AND seq = 2"), {"id": dispute_id}
        )
    result = _verify(database_url)
    assert result.returncode == 1
    assert f"dispute {dispute_id}, event 2: event missing from the chain" in result.stderr


def test_deleted_latest_events_are_caught(world: World, database_url: str) -> None:
    dispute_id = _busy_world(world)
    with make_engine(database_url).begin() as connection:
        connection.execute(
            text("DELETE FROM events WHERE dispute_id = :id AND seq = 3"), {"id": dispute_id}
        )
    result = _verify(database_url)
    assert result.returncode == 1
    assert (
        f"dispute {dispute_id}, event 3: the chain ends at event 2 but the dispute recorded 3"
        in result.stderr
    )


def _penalised_seller(world: World) -> str:
    seller = world.account("seller")
    for _ in range(4):  # a violation each, then the 12-point crossing: five links
        rule_against(world, seller, "not_as_described")
    return seller


def test_sellers_chains_verify_too(world: World, database_url: str) -> None:
    _penalised_seller(world)
    result = _verify(database_url)
    assert result.returncode == 0, result.stderr
    assert "5 events in 1 sellers' chains verify" in result.stdout


def test_edited_seller_event_is_caught_and_named(world: World, database_url: str) -> None:
    seller = _penalised_seller(world)
    with make_engine(database_url).begin() as connection:
        connection.execute(
            text("UPDATE seller_events SET payload = :payload WHERE seller_id = :id AND seq = 2"),
            {"payload": '{"points": 0}', "id": seller},
        )
    result = _verify(database_url)
    assert result.returncode == 1
    assert f"seller {seller}, event 2: content does not match its hash" in result.stderr


def test_deleted_seller_event_is_caught(world: World, database_url: str) -> None:
    seller = _penalised_seller(world)
    with make_engine(database_url).begin() as connection:
        connection.execute(
            text("DELETE FROM seller_events WHERE seller_id = :id AND seq = 5"), {"id": seller}
        )
    result = _verify(database_url)
    assert result.returncode == 1
    assert f"seller {seller}, event 5: the chain ends at event 4" in result.stderr
