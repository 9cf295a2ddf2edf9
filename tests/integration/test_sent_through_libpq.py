"""On PostgreSQL the fast path's statements go straight through libpq (``arbitration.libpq``), each
prepared on the server once per connection: what must hold is that a prepared statement is
never prepared twice, outlives a rollback (psycopg's own preparing, which would drop it then, is
off), and is prepared anew once the server may have dropped it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError, ProgrammingError

from api.wiring import Services
from arbitration import statements
from arbitration.db import execute_core, execute_later
from arbitration.models import Account
from tests.support.seed import account_row

_COUNT_NAMED = statements.prepared(
    select(func.count()).select_from(Account).where(Account.display_name == "prepared")
)
_INSERT_ACCOUNT = statements.prepared(insert(Account))


@pytest.fixture
def connection(services: Services) -> Any:
    if services.database.engine.dialect.name != "postgresql":
        pytest.skip("libpq is PostgreSQL's")
    with services.database.engine.connect() as connection:
        yield connection


def _prepared(connection: Connection, prefix: str, containing: str) -> int:
    """How many statements this connection's session has prepared under names starting with
    ``prefix`` (``arbitration_``: ours; ``_pg3_``: psycopg's) whose SQL contains ``containing``."""
    found = connection.exec_driver_sql(
        "SELECT count(*) FROM pg_prepared_statements"
        " WHERE starts_with(name, %(prefix)s) AND strpos(statement, %(containing)s) > 0",
        {"prefix": prefix, "containing": containing},
    )
    return int(found.scalar_one())


def _account(account_id: str, services: Services) -> dict[str, Any]:
    return account_row(account_id, display_name="prepared", at=services.clock.now())


def test_a_statement_is_prepared_once_for_a_connection(connection: Connection) -> None:
    with connection.begin():
        for _ in range(3):
            assert statements.run(connection, _COUNT_NAMED, None).scalar() == 0
        assert _prepared(connection, "arbitration_", "display_name") == 1


def test_a_statement_sent_twice_at_once_is_prepared_once(services: Services) -> None:
    if services.database.engine.dialect.name != "postgresql":
        pytest.skip("libpq is PostgreSQL's")
    with services.database.unit_of_work() as session:
        # Two inserts into one table wait, then go out together with the count: one pipeline.
        execute_later(session, _INSERT_ACCOUNT, _account("prepared-1", services))
        execute_later(session, _INSERT_ACCOUNT, _account("prepared-2", services))
        assert execute_core(session, _COUNT_NAMED).scalar() == 2
        connection = session.connection()
        assert _prepared(connection, "arbitration_", "INSERT INTO accounts") == 1


def test_prepared_statements_outlive_a_rollback_even_to_a_savepoint(connection: Connection) -> None:
    orm_count = select(func.count()).select_from(Account).where(Account.role == "buyer")
    transaction = connection.begin()
    statements.run(connection, _COUNT_NAMED, None)
    savepoint = connection.begin_nested()
    for _ in range(6):  # psycopg would prepare it from its fifth run, and forget all at a rollback
        connection.execute(orm_count)
    savepoint.rollback()
    assert _prepared(connection, "arbitration_", "display_name") == 1
    assert statements.run(connection, _COUNT_NAMED, None).scalar() == 0
    transaction.rollback()

    with connection.begin():
        assert _prepared(connection, "arbitration_", "display_name") == 1
        assert _prepared(connection, "_pg3_", "") == 0  # psycopg prepares nothing of its own
        assert statements.run(connection, _COUNT_NAMED, None).scalar() == 0


def test_statements_are_prepared_anew_once_the_server_may_have_dropped_them(
    connection: Connection,
) -> None:
    with connection.begin():
        statements.run(connection, _COUNT_NAMED, None)
        connection.exec_driver_sql("DEALLOCATE ALL")
        assert _prepared(connection, "arbitration_", "display_name") == 0
        assert statements.run(connection, _COUNT_NAMED, None).scalar() == 0
        assert _prepared(connection, "arbitration_", "display_name") == 1


def test_a_failed_statement_leaves_its_connection_preparing_right(
    services: Services, connection: Connection
) -> None:
    account = _account("prepared-1", services)
    with connection.begin():
        statements.run(connection, _INSERT_ACCOUNT, account)
    with pytest.raises(IntegrityError), connection.begin():
        statements.run(connection, _INSERT_ACCOUNT, account)  # the same key again
    with connection.begin():
        assert statements.run(connection, _COUNT_NAMED, None).scalar() == 1
        statements.run(connection, _INSERT_ACCOUNT, _account("prepared-2", services))
        assert statements.run(connection, _COUNT_NAMED, None).scalar() == 2


def test_statements_dropped_behind_the_engines_back_fail_once_then_are_prepared_anew(
    connection: Connection,
) -> None:
    with connection.begin():
        statements.run(connection, _COUNT_NAMED, None)
    driver_connection: Any = connection.connection.driver_connection
    driver_connection.execute("DEALLOCATE ALL")  # psycopg's own cursor: the engine does not see it
    with pytest.raises(ProgrammingError, match="does not exist"), connection.begin():
        statements.run(connection, _COUNT_NAMED, None)
    with connection.begin():
        assert statements.run(connection, _COUNT_NAMED, None).scalar() == 0
