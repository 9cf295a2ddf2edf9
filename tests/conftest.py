"""Shared fixtures: a real SQLite file per test (copied from a migrated template), the app, a clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from api.config import Config
from arbitration import schema
from arbitration.clock import ManualClock
from arbitration.policy import Policy, load_policy
from tests.support.world import World


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the Alembic revisions once from empty; every test starts from a copy of the result."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    schema.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "arbitration.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def app(database_url: str, policy: Policy, clock: ManualClock) -> Iterator[Flask]:
    app = create_app(Config(database_url=database_url, policy=policy, clock=clock, testing=True))
    yield app
    app.extensions["arbitration"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> World:
    return World(app, client)
