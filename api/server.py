"""``arbitration serve --workers N``: the app under gunicorn, one engine per worker process.

The master process forks the workers and never builds the app: each worker calls ``create_app`` in
``load()``, after the fork, so no SQLAlchemy engine (nor any pooled connection) is ever shared
between processes. The workers never sweep deadlines; ``arbitration worker`` processes do.

Workers are gthread: a request spends most of its time waiting on the database (a commit's fsync,
a row lock) or on a slow client's upload, and threads let one process serve others meanwhile
without a buffering proxy in front. A worker's threads share its engine's pool, sized to match.

Both servers (waitress in one process, gunicorn's workers) run with ``tune_interpreter``'s switch
interval and their start-up objects frozen.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from api.app import create_app
from api.config import Config

WORKER_CLASS = "gthread"
THREADS_PER_WORKER = 4  # within SQLAlchemy's default pool of 5 connections per process
# How long a thread may keep the GIL while others wait for it (CPython's default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.05
# Objects allocated (less those freed) between two collections of the youngest generation
# (CPython's default: 700).
YOUNG_GENERATION_THRESHOLD = 10_000


def tune_interpreter() -> None:
    """Let a request thread keep the GIL until it waits on something, rather than have the others
    force it to hand the GIL over every 5 ms (CPython's default).

    A write holds SQLite's one writer lock (``arbitration.dialects.SQLiteForMoney``) from ``BEGIN
    IMMEDIATE`` to the end of its commit. In a busy server some thread has always been waiting for
    the GIL longer than 5 ms, so the lock's holder was forced off it in the middle of its Python,
    again and again, while the writers queued behind it waited: under four clients a ruling held
    the lock 2.5 ms (median), 1.7 ms of it running. A request's threads give the GIL up on their
    own at every statement, socket read and write (well within 50 ms), so with this interval a
    forced handover is rare (``docs/performance.md``, seventh session). The price: a thread
    computing for long without any I/O makes the others wait up to 50 ms at a time rather than
    5 ms.

    And the objects built so far (the modules, the app, its schemas, SQLAlchemy's metadata) are
    moved out of the garbage collector's reach (``gc.freeze``): they live as long as the process,
    and a full collection scanned them all, about 200,000, stopping every request thread for
    some 130 ms, every few hundred writes of a young process.

    And the youngest generation is collected after 10,000 allocations rather than 700: a ruling
    allocates some 90 objects more than it frees, so at 700 a collection came every eighth ruling
    and, with the older generations' that follow, took about 60 µs a ruling (6 µs at 10,000, in
    process; ``docs/performance.md``, fifteenth session). What a request frees it frees at once
    (reference counts); only cycles wait for a collection, now longer, so none may hold a
    request's body: a refusal's is let go with its answer (``api.errors._let_go``).

    Called in each serving process once its app is built: ``arbitration serve``, and each gunicorn
    worker after the fork (the master's call sets the interval the workers inherit).
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


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
        app = create_app(self.config)
        tune_interpreter()
        return app


def serve_with_workers(config: Config, *, host: str, port: int, workers: int) -> None:
    """Run the gunicorn master until it is stopped (SIGTERM or SIGINT: a graceful shutdown)."""
    tune_interpreter()
    GunicornServer(config, host=host, port=port, workers=workers).run()
