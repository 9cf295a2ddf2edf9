"""The servers a benchmark measures: the engine as ``arbitration serve`` runs it, and the bare app.

Both are waitress, one process (as ``arbitration serve`` runs), or with ``workers`` both are
gunicorn with that many worker processes (``arbitration serve --workers N``); on a free local port,
with their output dropped (waitress warns of its queue depth under many clients);
``wait_until_up`` returns once the server answers; ``cpu_seconds`` reads what a server has
cost the machine so far.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ARBITRATION = str(Path(sys.executable).parent / "arbitration")
REPOSITORY = Path(__file__).resolve().parents[1]
Server = tuple[subprocess.Popen[bytes], int]  # the process and its port


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered on port {port}")


def _start(argv: list[str], cwd: Path, env: dict[str, str], ready_path: str) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [*argv, str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_up(port, ready_path, process)
    return process, port


def start_engine(folder: Path, database_url: str, workers: int | None = None) -> Server:
    """``arbitration serve`` (no scheduler: nothing but the requests measured) over the database."""
    env = {**os.environ, "ARBITRATION_DATABASE_URL": database_url}
    argv = [ARBITRATION, "serve", "--no-scheduler", *_workers(workers), "--port"]
    return _start(argv, folder, env, "/v1/openapi.json")


def start_bare(database_url: str, workers: int | None = None) -> Server:
    """``bench.bare`` over its own database (run from the repository, where the ``bench`` package
    is)."""
    argv = [sys.executable, "-m", "bench.bare", database_url, *_workers(workers), "--port"]
    return _start(argv, REPOSITORY, dict(os.environ), "/rows/none")


def _workers(workers: int | None) -> list[str]:
    return [] if workers is None else ["--workers", str(workers)]


def server_name(workers: int | None) -> str:
    """How the servers run, for a benchmark's report."""
    if workers is None:
        return "waitress, one process"
    return f"gunicorn, {workers} worker processes"


def cpu_seconds(process: subprocess.Popen[bytes]) -> float | None:
    """The CPU time (user and system, every thread) ``process`` and its live child processes
    (gunicorn's workers) have used so far; None where there is no ``/proc`` to read it from.

    Read by the clock tick (10 ms): a figure pooled over a few hundred requests or more."""
    try:
        ticks = _ticks(process.pid)
        tasks = list(Path(f"/proc/{process.pid}/task").iterdir())
    except OSError:
        return None
    for child in (child for task in tasks for child in _children(task)):
        with contextlib.suppress(OSError):  # a worker that ended in between: its time went too
            ticks += _ticks(child)
    return ticks / os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    # After the command's closing parenthesis: the state is field 3, utime and stime 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _children(task: Path) -> list[int]:
    """The processes a thread of the server started; none if the thread ended in between."""
    try:
        return [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        return []


def stop(*servers: Server) -> None:
    for process, _ in servers:
        process.terminate()
    for process, _ in servers:
        process.wait(timeout=30)


def start_both(
    folder: Path, engine_url: str, bare_url: str, workers: int | None = None
) -> tuple[Server, Server]:
    """The engine and the bare baseline, served the same way; neither left running on failure."""
    engine = start_engine(folder, engine_url, workers)
    try:
        return engine, start_bare(bare_url, workers)
    except BaseException:
        stop(engine)
        raise
