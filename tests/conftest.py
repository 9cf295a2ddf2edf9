"""Shared fixtures: a real SQLite file per test (copied from a migrated template), the app, a clock."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, make_url, text

from api.app import create_app
from api.config import Config
from api.wiring import Services, upgrade_schema
from arbitration.clock import ManualClock
from arbitration.policy import Policy, load_policy
from tests.support.world import World

# Set to a PostgreSQL server's admin URL (e.g. postgresql+psycopg://postgres@/postgres?host=/tmp/pg)
# to run the same suites on PostgreSQL: each test gets its own database, cloned from a migrated one.
POSTGRES_ADMIN_URL = os.environ.get("ARBITRATION_TEST_POSTGRES_URL")
_databases = itertools.count()
# One template per pytest process, so two runs against the same server don't drop each other's.
_TEMPLATE = f"arbitration_template_{os.getpid()}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the Alembic revisions once from empty; every test starts from a copy of the result."""
    if POSTGRES_ADMIN_URL:
        admin = make_url(POSTGRES_ADMIN_URL)
        with _postgres_admin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {_TEMPLATE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {_TEMPLATE}"))
        url = admin.set(database=_TEMPLATE).render_as_string(hide_password=False)
        upgrade_schema(url)
        yield url
        with _postgres_admin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {_TEMPLATE} WITH (FORCE)"))
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_schema(f"sqlite:///{path}")
    yield str(path)


@contextmanager
def _postgres_admin() -> Iterator[Connection]:
    engine = create_engine(POSTGRES_ADMIN_URL or "", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    if POSTGRES_ADMIN_URL:
        name = f"arbitration_test_{os.getpid()}_{next(_databases)}"
        with _postgres_admin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}"))
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        # Dropped after the test (and after the app's engine is disposed), or a run leaves
        # hundreds of databases behind; FORCE ends connections a test's own engines still hold.
        with _postgres_admin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        return
    path = tmp_path / "arbitration.db"
    shutil.copyfile(migrated_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def app(database_url: str, policy: Policy, clock: ManualClock, tmp_path: Path) -> Iterator[Flask]:
    evidence_dir = str(tmp_path / "evidence")
    config = Config(
        database_url=database_url,
        policy=policy,
        clock=clock,
        evidence_dir=evidence_dir,
        testing=True,
    )
    app = create_app(config)
    yield app
    app.extensions["arbitration"].database.dispose()


@pytest.fixture
def services(app: Flask) -> Services:
    """The app's running engine: its database (with the handler registry), policy and clock."""
    return app.extensions["arbitration"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> World:
    return World(app, client)
