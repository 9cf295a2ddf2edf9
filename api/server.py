"""``arbitration serve --workers N``: the app under gunicorn, one engine per worker process.

The master process forks the workers and never builds the app: each worker calls ``create_app`` in
``load()``, after the fork, so no SQLAlchemy engine (nor any pooled connection) is ever shared
between processes. The workers never sweep deadlines; ``arbitration worker`` processes do.

Workers are gthread: a request spends most of its time waiting on the database (a commit's fsync,
a row lock) or on a slow client's upload, and threads let one process serve others meanwhile
without a buffering proxy in front. A worker's threads share its engine's pool, sized to match.

Both servers (waitress in one process, gunicorn's workers) run with ``tune_interpreter``'s switch
interval.
"""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from api.app import create_app
from api.config import Config

WORKER_CLASS = "gthread"
THREADS_PER_WORKER = 4  # within SQLAlchemy's default pool of 5 connections per process
# How long a thread may keep the GIL while others wait for it (CPython's default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.02


def tune_interpreter() -> None:
    """Let a request thread keep the GIL longer before the others force it to hand it over.

    A write holds SQLite's one writer lock (``arbitration.db.SQLiteForMoney``) from ``BEGIN
    IMMEDIATE`` to the end of its commit, and gives the GIL up at each of its statements (sqlite3
    releases it around every step). Every handover the other request threads force on it stretches
    the time the lock is held, and the writers queued behind it wait that much longer: under four
    clients a ruling held the lock 2.5 ms (median) with CPython's default 5 ms interval, 2.0 ms
    with 20 ms (``docs/performance.md``, seventh session). The price: a thread computing for long
    (a large report) makes the others wait up to 20 ms at a time rather than 5 ms. Set once per
    process, before serving; a forked gunicorn worker inherits it.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


class GunicornServer(BaseApplication):
    """gunicorn, configured from the command line, then from ``GUNICORN_CMD_ARGS`` if set."""

    def __init__(self, config: Config, *, host: str, port: int, workers: int) -> None:
        self.config = config
        bind_host = f"[{host}]" if ":" in host else host  # an IPv6 address
        self.options: dict[str, Any] = {
            "bind": f"{bind_host}:{port}",
            "workers": workers,
            "worker_class": WORKER_CLASS,
            "threads": THREADS_PER_WORKER,
            "proc_name": "arbitration",
            # gunicorn's control socket defaults to one path per user: two masters on a host (or
            # two test runs) would take it from each other.
            "control_socket_disable": True,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Any other gunicorn setting (access log, timeouts, forwarded_allow_ips) without a flag of
        # ours: GUNICORN_CMD_ARGS="--access-logfile - --timeout 60".
        from_env = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
        for key, value in vars(from_env).items():
            if value is not None and key != "args":
                self.cfg.set(key.lower(), value)

    # types-gunicorn's WSGI callable takes a narrower start_response than the WSGI spec's (Flask's).
    def load(self) -> Flask:  # type: ignore[override]
        """Runs in each worker, after the fork: the engine and its pool belong to this process."""
        return create_app(self.config)


def serve_with_workers(config: Config, *, host: str, port: int, workers: int) -> None:
    """Run the gunicorn master until it is stopped (SIGTERM or SIGINT: a graceful shutdown)."""
    tune_interpreter()
    GunicornServer(config, host=host, port=port, workers=workers).run()
