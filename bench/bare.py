"""The floor of the stack: a bare Flask app over the engine's own database engine.

``GET /rows/<id>`` selects one row by primary key and returns it as JSON; ``POST /rows`` inserts one
row and commits. Both use ``arbitration.db.make_engine``, so SQLite gets the same pragmas
(WAL, ``synchronous=FULL``) and the same ``BEGIN IMMEDIATE`` as every write of the engine. Served by
the same server as the engine (waitress, 8 threads; or with ``--workers N`` gunicorn exactly as
``arbitration serve --workers N`` configures it, the app built in each worker after the fork; the
interpreter tuned alike, ``api.server.tune_interpreter``), this
is what any endpoint costs before the engine adds anything: the benchmarks divide the engine's
figures by these.

Run as ``python -m bench.bare DATABASE_URL [--workers N] --port PORT``.
"""

from __future__ import annotations

import argparse
import uuid

import waitress
from flask import Flask, abort, jsonify, request
from sqlalchemy import Column, MetaData, String, Table, Text, insert, select

from api.config import Config
from api.server import GunicornServer, tune_interpreter
from arbitration.db import make_engine
from arbitration.policy import load_policy

metadata = MetaData()
rows = Table(
    "bench_rows",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("body", Text, nullable=False),
)


def create_table(database_url: str) -> None:
    """Once, before serving: gunicorn's workers would race each other to create it."""
    engine = make_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()


def create_bare_app(database_url: str) -> Flask:
    engine = make_engine(database_url)
    app = Flask("bare")

    @app.get("/rows/<row_id>")
    def read(row_id: str):  # type: ignore[no-untyped-def]
        with engine.connect().execution_options(read_only=True) as connection:
            row = connection.execute(select(rows).where(rows.c.id == row_id)).one_or_none()
        if row is None:
            abort(404)
        return jsonify({"id": row.id, "body": row.body})

    @app.post("/rows")
    def write():  # type: ignore[no-untyped-def]
        body = request.get_json()
        row = {"id": str(uuid.uuid4()), "body": str(body.get("body", ""))}
        with engine.begin() as connection:
            connection.execute(insert(rows).values(**row))
        return jsonify(row), 201

    return app


class BareGunicornServer(GunicornServer):
    """The engine's gunicorn set-up (worker class, threads, ``GUNICORN_CMD_ARGS``), the bare app."""

    def __init__(self, database_url: str, *, port: int, workers: int) -> None:
        self.database_url = database_url
        config = Config(database_url=database_url, policy=load_policy())
        super().__init__(config, host="127.0.0.1", port=port, workers=workers)

    def load(self) -> Flask:
        app = create_bare_app(self.database_url)
        tune_interpreter()  # as the engine's workers do
        return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    parser.add_argument("url")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    create_table(args.url)
    tune_interpreter()  # as the engine's servers run (for gunicorn: the interval its workers inherit)
    if args.workers is None:
        app = create_bare_app(args.url)
        tune_interpreter()  # its objects frozen once built, as ``arbitration serve`` does
        waitress.serve(app, host="127.0.0.1", port=args.port, threads=8, ident="bare")
    else:
        BareGunicornServer(args.url, port=args.port, workers=args.workers).run()
