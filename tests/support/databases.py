"""A database of its own for code that runs outside a test's fixtures (hypothesis examples).

The ``migrated_template`` fixture of ``tests/conftest.py`` gives a SQLite file or a PostgreSQL
database name's URL; ``clone`` makes a fresh copy of it and ``drop`` removes the copy, on whichever
database the run uses (``ARBITRATION_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

POSTGRES_ADMIN_URL = os.environ.get("ARBITRATION_TEST_POSTGRES_URL")
_clones = itertools.count()


def clone(template: str) -> str:
    """A new database with the template's schema and rows: its URL."""
    if POSTGRES_ADMIN_URL:
        name = f"arbitration_clone_{os.getpid()}_{next(_clones)}"
        source = make_url(template).database
        admin(f"CREATE DATABASE {name} TEMPLATE {source}", copy=True)
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    folder = tempfile.mkdtemp(prefix="arbitration-clone-")
    path = Path(folder) / "arbitration.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def drop(url: str) -> None:
    """Remove a clone (after its engines are disposed; FORCE ends any connection left)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin(f"DROP DATABASE IF EXISTS {parsed.database} WITH (FORCE)")
    elif parsed.database:
        shutil.rmtree(Path(parsed.database).parent, ignore_errors=True)


def admin(statement: str, *, url: str | None = None, copy: bool = False) -> None:
    """Run ``statement`` (CREATE or DROP DATABASE) on the PostgreSQL server of ``url`` (default:
    the tests' server), outside any transaction."""
    engine = create_engine(url or POSTGRES_ADMIN_URL or "", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if copy:  # file by file, as tests/conftest.py clones (PostgreSQL 15+)
                version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
                statement += " STRATEGY FILE_COPY" if version >= 150000 else ""
            connection.execute(text(statement))
    finally:
        engine.dispose()


def settings(url: str, names: tuple[str, ...]) -> list[str]:
    """The PostgreSQL server's ``SHOW`` value of each of ``names``."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [str(connection.execute(text(f"SHOW {name}")).scalar_one()) for name in names]
    finally:
        engine.dispose()
