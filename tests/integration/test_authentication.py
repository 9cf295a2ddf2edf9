"""Finding the caller: one look-up per request, outside any transaction for a write, never cached."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from api.wiring import Services
from arbitration import dialects
from arbitration.accounts import Identity, authenticate
from arbitration.errors import Forbidden, Unauthorized
from arbitration.models import Account, ApiToken
from tests.support.world import World


@pytest.fixture
def services(app: Flask) -> Services:
    found: Services = app.extensions["arbitration"]
    return found


def test_a_token_gives_its_accounts_identity(world: World, services: Services) -> None:
    buyer = world.account("buyer")
    with services.database.unit_of_work(read_only=True) as session:
        row = session.get_one(Account, buyer)
        expected = Identity(row.id, row.role, row.display_name)

    with services.database.lookup() as connection:
        who = authenticate(connection, token=world.tokens[buyer], on_behalf_of=None)

    assert who.account == expected
    assert (who.id, who.role, who.via) == (buyer, "buyer", None)


def test_the_platform_acting_for_a_seller_is_that_seller_via_the_platform(
    world: World, services: Services
) -> None:
    seller = world.account("seller")

    with services.database.unit_of_work(read_only=True) as session:
        who = authenticate(
            session.connection(), token=world.tokens["platform"], on_behalf_of=seller
        )

    assert (who.id, who.role, who.account.display_name) == (seller, "seller", seller.title())
    assert who.via == Identity("platform", "platform", "Platform")


@pytest.mark.parametrize("token", [None, "", "arb_not-a-token"])
def test_no_token_or_an_unknown_one_is_unauthorized(services: Services, token: str | None) -> None:
    with services.database.lookup() as connection, pytest.raises(Unauthorized):
        authenticate(connection, token=token, on_behalf_of=None)


@pytest.mark.parametrize("on_behalf_of", ["nobody", "platform"])
def test_on_behalf_of_names_an_existing_party(
    world: World, services: Services, on_behalf_of: str
) -> None:
    with services.database.lookup() as connection, pytest.raises(Forbidden):
        authenticate(connection, token=world.tokens["platform"], on_behalf_of=on_behalf_of)


def test_a_revoked_token_fails_on_the_next_look_up(world: World, services: Services) -> None:
    buyer = world.account("buyer")
    with services.database.lookup() as connection:
        authenticate(connection, token=world.tokens[buyer], on_behalf_of=None)

    with services.database.unit_of_work() as session:
        revoked = update(ApiToken).where(ApiToken.account_id == buyer)
        session.execute(revoked.values(revoked_at=services.clock.now()))

    with services.database.lookup() as connection, pytest.raises(Unauthorized):
        authenticate(connection, token=world.tokens[buyer], on_behalf_of=None)


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Wait 50 ms for SQLite's write lock instead of 30 s (set before the app's engine exists)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("holds SQLite's write lock")
    monkeypatch.setattr(dialects, "SQLITE_BUSY_TIMEOUT_MS", 50)


@contextmanager
def write_lock_held_elsewhere(database_url: str) -> Iterator[None]:
    """Another process holds SQLite's write lock."""
    holder = sqlite3.connect(Path(database_url.removeprefix("sqlite:///")), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_look_up_takes_no_write_lock_and_leaves_no_transaction(
    short_busy_timeout: None, database_url: str, world: World, services: Services
) -> None:
    buyer = world.account("buyer")
    with write_lock_held_elsewhere(database_url), services.database.lookup() as connection:
        who = authenticate(connection, token=world.tokens[buyer], on_behalf_of=None)
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        assert not driver.in_transaction

    assert who.id == buyer


def test_a_write_finds_its_caller_while_another_process_writes(
    short_busy_timeout: None, database_url: str, world: World
) -> None:
    """Only the write's own transaction waits for the lock: its caller was found without it."""
    buyer, _seller, order_id = world.parties()
    body = {"order_id": order_id, "reason": "nonsense", "remedy": "refund_only", "amount": 1}

    with write_lock_held_elsewhere(database_url):
        response = world.call(buyer, "POST", "/v1/disputes", json=body)

    assert response.status_code == 422, response.json
