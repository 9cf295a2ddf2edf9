"""Alembic environment: the engine's own models and engine settings (SQLite pragmas included)."""

from __future__ import annotations

from alembic import context

from arbitration import models  # noqa: F401  (registers every table on Base.metadata)
from arbitration.db import Base, database_url_from_env, make_engine
from evidence import models as evidence_models  # noqa: F401  (the evidence table)
from penalties import models as penalties_models  # noqa: F401  (the penalties tables)

url = context.config.get_main_option("sqlalchemy.url") or database_url_from_env()


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
