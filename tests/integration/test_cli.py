"""The ``arbitration`` command as an operator runs it: a real process against a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test runs the arbitration command in a process of its own

ARBITRATION = str(Path(sys.executable).parent / "arbitration")


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARBITRATION, *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_upgrade_creates_the_default_sqlite_file_in_the_working_directory(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARBITRATION_DATABASE_URL"}
    result = subprocess.run(
        [ARBITRATION, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "arbitration.db").exists()
    again = subprocess.run(
        [ARBITRATION, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr


def test_accounts_create_json_prints_exactly_id_and_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert run("db", "upgrade", cwd=tmp_path, ARBITRATION_DATABASE_URL=url).returncode == 0
    result = run(
        "accounts",
        "create",
        "--role",
        "arbitrator",
        "--name",
        "Ana",
        "--id",
        "ana",
        "--json",
        cwd=tmp_path,
        ARBITRATION_DATABASE_URL=url,
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"id", "token"}
    assert created["id"] == "ana"

    taken = run(
        "accounts", "create", "--role", "buyer", "--name", "X", "--id", "ana",
        cwd=tmp_path, ARBITRATION_DATABASE_URL=url,
    )  # fmt: skip
    assert taken.returncode != 0
    assert "ana is taken" in taken.stderr + taken.stdout


def test_a_bad_policy_stops_the_engine_at_start_naming_the_key(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[deadlines]\nseller_response_unshipped = "48x"\n')
    url = f"sqlite:///{tmp_path / 'a.db'}"
    for command in (["serve", "--port", "1"], ["worker"]):
        result = run(
            *command, cwd=tmp_path, ARBITRATION_DATABASE_URL=url, ARBITRATION_POLICY=str(policy)
        )
        assert result.returncode != 0
        assert "deadlines.seller_response_unshipped" in result.stderr
        assert "48x" in result.stderr


def test_lifecycle_prints_the_diagram(tmp_path: Path) -> None:
    result = run("lifecycle", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("stateDiagram-v2")
