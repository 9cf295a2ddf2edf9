"""Both servers run with the interpreter tuned (``api.server.tune_interpreter``): the GIL's switch
interval is set before the first request, the app's objects are frozen once it is built, and the
youngest generation is collected less often."""

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
    before, thresholds = sys.getswitchinterval(), gc.get_threshold()
    gc.unfreeze()
    yield
    sys.setswitchinterval(before)
    gc.set_threshold(*thresholds)
    gc.unfreeze()  # the test process collects as before


def test_arbitration_serve_sets_the_switch_interval_before_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interval_restored: None
) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    upgrade_schema(url)
    served: dict[str, Any] = {}

    def serve(app: object, **options: object) -> None:  # waitress, not started
        served.update(
            options,
            interval=sys.getswitchinterval(),
            frozen=gc.get_freeze_count(),
            young=gc.get_threshold()[0],
        )

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
    assert served["young"] == server.YOUNG_GENERATION_THRESHOLD > 700  # CPython's default


def test_each_gunicorn_worker_freezes_its_app_once_built(
    tmp_path: Path, interval_restored: None
) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    upgrade_schema(url)
    config = Config(database_url=url, policy=load_policy())
    worker = server.GunicornServer(config, host="127.0.0.1", port=1, workers=2)
    before = gc.get_freeze_count()
    gc.set_threshold(700)
    app = worker.load()  # what a worker runs after the fork
    assert app.extensions["arbitration"] is not None
    assert gc.get_freeze_count() > before
    assert gc.get_threshold()[0] == server.YOUNG_GENERATION_THRESHOLD


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
