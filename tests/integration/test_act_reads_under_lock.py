"""On PostgreSQL an action reads its dispute's row under the row's lock (``get_dispute(lock=True)``,
``SELECT ... FOR UPDATE OF disputes``): a second actor on the same dispute waits for the first to
commit, then is answered on the state the first left, as SQLite's one writer answers it, rather
than reading the old state and losing a compare-and-set afterwards."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from werkzeug.test import TestResponse

from api.wiring import Services
from arbitration import flows
from arbitration.accounts import Caller
from arbitration.models import Account
from tests.support.world import World

# (The statement's text is longer than what pg_stat_activity keeps of it: its load reads every
# column, so the FOR UPDATE at its end is cut off.)
WAITING_ON_THE_ROW = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    " AND query LIKE 'SELECT disputes.id, %'"
)


def test_a_second_action_waits_for_the_first_then_is_answered_on_its_state(
    world: World, services: Services
) -> None:
    if services.database.engine.dialect.name == "sqlite":
        pytest.skip(
            "SQLite has no row locks: a write holds the whole file from its first statement"
        )
    filed, _, seller = world.dispute()
    answered: list[TestResponse] = []
    with services.database.unit_of_work() as session:
        account = session.get(Account, seller)
        assert account is not None
        flows.act(
            session,
            dispute_id=filed["id"],
            action="reject",
            caller=Caller(account),
            params={"reason": "Works as described."},
            policy=services.policy,
            at=services.clock.now(),
        )
        second = threading.Thread(
            target=lambda: answered.append(world.act(seller, filed["id"], "accept"))
        )
        second.start()
        deadline = time.monotonic() + 10
        with services.database.engine.connect() as watcher:
            while not watcher.execute(WAITING_ON_THE_ROW).scalar_one():
                assert time.monotonic() < deadline, "the second action never waited on the row"
                assert not answered, answered[0].get_json()
                watcher.rollback()
                time.sleep(0.01)
    second.join(timeout=10)
    [response] = answered
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "action_not_allowed"  # not "conflict": it read the rejection
    assert error["details"]["status"] == "seller_rejected"
    assert world.read(seller, filed["id"])["status"] == "seller_rejected"
