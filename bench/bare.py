"""The floor of the stack: a bare Flask app over the engine's own database engine.

``GET /rows/<id>`` selects one row by primary key and returns it as JSON; ``POST /rows`` inserts one
row and commits. Both use ``arbitration.db.make_engine``, so SQLite gets the same pragmas
(WAL, ``synchronous=FULL``) and the same ``BEGIN IMMEDIATE`` as every write of the engine. Served by
the same server as the engine (waitress, 8 threads), this is what any endpoint costs before the
engine adds anything: the benchmarks divide the engine's figures by these.

Run as ``python -m bench.bare DATABASE_URL PORT``.
"""

from __future__ import annotations

import sys
import uuid

import waitress
from flask import Flask, abort, jsonify, request
from sqlalchemy import Column, MetaData, String, Table, Text, insert, select

from arbitration.db import make_engine

metadata = MetaData()
rows = Table(
    "bench_rows",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("body", Text, nullable=False),
)


def create_bare_app(database_url: str) -> Flask:
    engine = make_engine(database_url)
    metadata.create_all(engine)
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


if __name__ == "__main__":
    url, port = sys.argv[1], int(sys.argv[2])
    waitress.serve(create_bare_app(url), host="127.0.0.1", port=port, threads=8, ident="bare")
