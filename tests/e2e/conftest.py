"""A real ``arbitration serve`` process on a free port, over a demo database in a temporary folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ARBITRATION = str(Path(sys.executable).parent / "arbitration")


@dataclass
class RunningEngine:
    url: str
    folder: Path
    env: dict[str, str]
    tokens: dict[str, str]
    process: subprocess.Popen[str]

    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        """One JSON request as ``who`` (by the name of its token); the decoded answer."""
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {self.tokens[who]}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ARBITRATION, *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the engine exited: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            urllib.request.urlopen(f"{url}/v1/openapi.json", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"the engine did not answer at {url}")


def start_engine(folder: Path, extra_env: dict[str, str] | None = None) -> RunningEngine:
    env = {
        **os.environ,
        "ARBITRATION_DATABASE_URL": f"sqlite:///{folder / 'arbitration.db'}",
        **(extra_env or {}),
    }
    for step in (["db", "upgrade"], ["demo", "--if-empty"]):
        subprocess.run([ARBITRATION, *step], cwd=folder, env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [ARBITRATION, "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, process)
    tokens = json.loads((folder / "arbitration-demo-tokens.json").read_text())
    return RunningEngine(url, folder, env, tokens, process)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[RunningEngine]:
    running = start_engine(tmp_path)
    yield running
    running.process.terminate()
    running.process.wait(timeout=10)
