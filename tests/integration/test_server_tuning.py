"""Both servers run with the interpreter tuned (``api.server.tune_interpreter``): the GIL's switch
interval is set before the first request, and the app's objects are frozen once it is built."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api import cli, server
from api.config import Config
from api.wiring import upgrade_schema
from arbitration.policy import load_policy


@pytest.fixture
def interval_restored() -> Iterator[None]:
    before = sys.getswitchinterval()
    gc.unfreeze()
    yield
    sys.setswitchinterval(before)
    gc.unfreeze()  # the test process collects as before


def test_arbitration_serve_sets_the_switch_interval_before_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interval_restored: None
) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    upgrade_schema(url)
    served: dict[str, Any] = {}

    def serve(app: object, **options: object) -> None:  # waitress, not started
        served.update(options, interval=sys.getswitchinterval(), frozen=gc.get_freeze_count())

    monkeypatch.setattr(cli.waitress, "serve", serve)
    sys.setswitchinterval(0.005)
    result = CliRunner().invoke(
        cli.main, ["serve", "--no-scheduler", "--port", "1"], env={"ARBITRATION_DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    assert served["threads"] == 8
    assert served["interval"] == pytest.approx(server.SWITCH_INTERVAL_SECONDS)
    assert server.SWITCH_INTERVAL_SECONDS > 0.005  # longer than CPython's default
    assert served["frozen"] > 10_000  # the app's objects, out of the collector's reach


def test_each_gunicorn_worker_freezes_its_app_once_built(
    tmp_path: Path, interval_restored: None
) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    upgrade_schema(url)
    config = Config(database_url=url, policy=load_policy())
    worker = server.GunicornServer(config, host="127.0.0.1", port=1, workers=2)
    before = gc.get_freeze_count()
    app = worker.load()  # what a worker runs after the fork
    assert app.extensions["arbitration"] is not None
    assert gc.get_freeze_count() > before


def test_gunicorn_workers_inherit_the_interval_set_in_the_master(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interval_restored: None
) -> None:
    ran: dict[str, float] = {}
    monkeypatch.setattr(
        server.GunicornServer, "run", lambda self: ran.update(interval=sys.getswitchinterval())
    )
    sys.setswitchinterval(0.005)
    config = Config(database_url=f"sqlite:///{tmp_path / 'engine.db'}", policy=load_policy())
    server.serve_with_workers(config, host="127.0.0.1", port=1, workers=2)
    assert ran["interval"] == pytest.approx(server.SWITCH_INTERVAL_SECONDS)
