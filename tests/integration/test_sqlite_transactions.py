"""How the SQLite engine begins its transactions (``dialects.SQLiteForMoney``): a write takes the file's
write lock with its first statement, a read never does, and neither mode outlives its connection's
transaction."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.wiring import Services
from arbitration import dialects
from arbitration.dialects import SQLITE_CACHE_KIB, SQLITE_WRITER_CACHE_KIB
from arbitration.models import Account


@pytest.fixture
def services(app: Flask, database_url: str) -> Services:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's own locking")
    found: Services = app.extensions["arbitration"]
    return found


def _another_process_can_write(database_url: str) -> bool:
    other = sqlite3.connect(
        Path(database_url.removeprefix("sqlite:///")), isolation_level=None, timeout=0
    )
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as refused:
        assert "locked" in str(refused)
        return False
    else:
        other.execute("ROLLBACK")
        return True
    finally:
        other.close()


def test_a_write_holds_the_write_lock_from_its_first_read(
    services: Services, database_url: str
) -> None:
    with services.database.unit_of_work() as session:
        session.execute(select(Account.id)).first()
        assert not _another_process_can_write(database_url)

    assert _another_process_can_write(database_url)


def test_a_write_that_fails_gives_the_lock_back(services: Services, database_url: str) -> None:
    with pytest.raises(RuntimeError), services.database.unit_of_work() as session:
        session.execute(select(Account.id)).first()
        raise RuntimeError("the use case refused")

    assert _another_process_can_write(database_url)
    with services.database.unit_of_work() as session:  # and this process's next writer begins
        session.execute(select(Account.id)).first()
        assert not _another_process_can_write(database_url)


def test_a_read_never_blocks_a_writer(services: Services, database_url: str) -> None:
    with services.database.unit_of_work(read_only=True) as session:
        session.execute(select(Account.id)).first()
        assert _another_process_can_write(database_url)


def test_a_read_mode_set_on_a_connection_never_used_does_not_reach_the_next_write(
    services: Services, database_url: str
) -> None:
    engine = services.database.engine
    engine.pool.dispose()  # one pooled connection from here on, handed to each user in turn
    with engine.connect() as connection:
        connection.execution_options(read_only=True)

    with services.database.unit_of_work() as session:
        session.execute(select(Account.id)).first()
        assert not _another_process_can_write(database_url)


def test_a_read_only_engine_never_blocks_a_writer(services: Services, database_url: str) -> None:
    with services.database.engine.execution_options(read_only=True).connect() as connection:
        connection.execute(select(Account.id)).first()
        assert _another_process_can_write(database_url)


def _driver_connection(session: Session) -> object:
    return session.connection().connection.driver_connection


def test_writes_take_turns_on_one_connection_no_read_is_given(services: Services) -> None:
    """So a write finds the pages it needs in that connection's cache: SQLite empties a
    connection's cache when another connection has committed since its last transaction."""
    database = services.database
    writers: list[object] = []

    def write() -> None:
        with database.unit_of_work() as session:
            session.execute(select(Account.id)).first()
            writers.append(_driver_connection(session))

    write()
    with database.unit_of_work(read_only=True) as reading, database.lookup() as looking_up:
        reader = _driver_connection(reading)
        looked_up = looking_up.connection.driver_connection
        other_thread = threading.Thread(target=write)
        other_thread.start()
        other_thread.join(timeout=10)
        with database.unit_of_work(on=looking_up) as session:  # a write request's look-up
            session.execute(select(Account.id)).first()
            writers.append(_driver_connection(session))

    assert len(writers) == 3
    assert writers[0] is writers[1] is writers[2]
    assert writers[0] not in (reader, looked_up)


def test_the_writer_connections_cache_is_bounded_smaller(services: Services) -> None:
    """No other commit empties it, so it would fill to the readers' size as the database grows:
    a server's memory would climb by that much."""
    database = services.database
    database.engine.dispose()  # connections made from here on
    with database.unit_of_work() as writing, database.unit_of_work(read_only=True) as reading:
        sizes = [
            session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
            for session in (writing, reading)
        ]
    assert sizes == [-SQLITE_WRITER_CACHE_KIB, -SQLITE_CACHE_KIB]


def test_a_write_that_waited_too_long_for_the_writer_connection_takes_another(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a write in this process that waited past the busy timeout for the writer lock always
    did: it goes on waiting in SQLite's own busy handler, and writes once the file is free."""
    database = services.database
    with database.unit_of_work(read_only=True) as session:  # a pooled connection, 30 s in SQLite
        session.execute(select(Account.id)).first()
    # The wait for the writer connection, and for the writer lock:
    monkeypatch.setattr(dialects, "SQLITE_BUSY_TIMEOUT_MS", 100)
    holding, done = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def hold_the_writer() -> None:
        with database.unit_of_work() as session:
            session.execute(select(Account.id)).first()
            seen["first"] = _driver_connection(session)
            holding.set()
            done.wait(timeout=10)

    first = threading.Thread(target=hold_the_writer)
    first.start()
    assert holding.wait(timeout=10)
    try:

        def write_meanwhile() -> None:
            with database.unit_of_work() as session:
                session.execute(select(Account.id)).first()
                seen["second"] = _driver_connection(session)

        second = threading.Thread(target=write_meanwhile)
        second.start()
        second.join(timeout=1)
        assert second.is_alive()  # past both timeouts, waiting on the file itself
    finally:
        done.set()
        first.join(timeout=10)
    second.join(timeout=10)
    assert not second.is_alive()
    assert seen["second"] is not seen["first"]
