"""Shared fixtures: a real SQLite file per test (copied from a migrated template), the app, a clock."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, event, make_url, text
from sqlalchemy.pool import Pool

from api.app import create_app
from api.config import Config
from api.wiring import Services, build, upgrade_schema
from arbitration.clock import ManualClock
from arbitration.policy import Policy, load_policy
from tests.support.world import World

# Set to a PostgreSQL server's admin URL (e.g. postgresql+psycopg://postgres@/postgres?host=/tmp/pg)
# to run the same suites on PostgreSQL: each test gets its own database, cloned from a migrated one.
POSTGRES_ADMIN_URL = os.environ.get("ARBITRATION_TEST_POSTGRES_URL")
_databases = itertools.count()
# One template per pytest process, so two runs against the same server don't drop each other's.
_TEMPLATE = f"arbitration_template_{os.getpid()}"


# Speed (issue 11): a test that does not test durability need not wait for the disk. The engine asks
# SQLite for synchronous=FULL (money); in this test process every SQLite connection is switched to
# synchronous=OFF when first checked out, unless its test is marked `durable`. A crash of the whole
# machine is the only thing OFF gives up, and no test crashes the machine.
_durable = False


@event.listens_for(Pool, "checkout")
def _sqlite_without_fsync(dbapi_connection: object, record: object, _proxy: object) -> None:
    info = getattr(record, "info", {})
    if _durable or info.get("no_fsync") or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.execute("PRAGMA synchronous=OFF")
    info["no_fsync"] = True


@pytest.fixture(autouse=True)
def _durability(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked ``durable`` keep the engine's synchronous=FULL."""
    global _durable
    _durable = request.node.get_closest_marker("durable") is not None
    yield
    _durable = False


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


def _copy(connection: Connection) -> str:
    """PostgreSQL 15+ copies a small template faster file by file than through the WAL (about
    0.05 s a database instead of 0.15 s, with the test server's fsync off)."""
    version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    return " STRATEGY FILE_COPY" if version >= 150000 else ""


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
            connection.execute(
                text(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}{_copy(connection)}")
            )
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
    """An app on this test's own database, policy, clock and evidence folder.

    Building the app (blueprints, the OpenAPI document) is most of a test's cost, so an app is
    reused by the next test with an equal policy: only its engine (``build``) is made anew. A test
    that changes the app itself (a route, a hook, a config value) gets it to itself: it is
    dropped afterwards.
    """
    evidence_dir = str(tmp_path / "evidence")
    config = Config(
        database_url=database_url,
        policy=policy,
        clock=clock,
        evidence_dir=evidence_dir,
        testing=True,
    )
    app = _reusable_app(config)
    shape = _shape(app)
    try:
        yield app
    finally:
        app.extensions["arbitration"].database.dispose()
        if _shape(app) != shape:
            _apps[:] = [(key, kept) for key, kept in _apps if kept is not app]


# Apps kept for reuse, newest last: (policy, app). A few, as tests override `policy` now and then.
_apps: list[tuple[Policy, Flask]] = []
_KEPT_APPS = 4


def _reusable_app(config: Config) -> Flask:
    for policy, kept in _apps:
        if policy == config.policy:
            kept.extensions["arbitration"] = build(config)
            # A test may add a route (and then has the app to itself, see `app`).
            kept._got_first_request = False
            return kept
    app = create_app(config)
    _apps.append((config.policy, app))
    del _apps[:-_KEPT_APPS]
    return app


def _shape(app: Flask) -> tuple[object, ...]:
    """What a test could change about an app other than its engine."""
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    return (
        sorted(str(rule) for rule in app.url_map.iter_rules()),
        sorted(app.view_functions),
        [{key: list(funcs) for key, funcs in hook.items()} for hook in hooks],
        dict(app.config),
        sorted(app.extensions),
        app.request_class,
        app.json,
        {  # a defaultdict, filled with empty entries as errors are looked up
            (scope, code): dict(handlers)
            for scope, codes in app.error_handler_spec.items()
            for code, handlers in codes.items()
            if handlers
        },
    )


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
