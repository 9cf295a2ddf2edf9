"""Where what a write reads is current (SQLite's one writer, ``db.reads_are_current``; on PostgreSQL
the dispute's row read under its lock, as ``flows.act`` reads it), ``flows.act`` runs no
compare-and-set: the move's status, version and time go out with the action's fields in one UPDATE
of the dispute. Elsewhere (a session that outlives its transaction, a deadline's system action)
the claim runs as before. Either way the row and the audit chain must come out the same."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from api.wiring import Services
from arbitration import flows
from arbitration.accounts import Caller
from arbitration.audit import note, verify_chains
from arbitration.db import WriteSession, reads_are_current
from arbitration.disputes import get_dispute, read_locked
from arbitration.errors import Conflict
from arbitration.models import Account, Dispute, Event
from bench.traced import counted_statements
from tests.support.world import World

RULING = {
    "outcome": "buyer_full_refund",
    "responsibility": "seller",
    "rationale": "The photos show the crack.",
}


def _sqlite(services: Services) -> bool:
    return services.database.engine.dialect.name == "sqlite"


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL run inside the block as the database hears it: SQLite's own trace (which does not
    change the path a statement takes), or the cursor's on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        with counted_statements(engine) as seen:
            yield seen
        return

    seen: list[str] = []

    def heard(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", heard)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", heard)


def _updates_of_disputes(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.lstrip().upper().startswith("UPDATE DISPUTES")]


def _row(services: Services, dispute_id: str) -> Dispute:
    with services.database.unit_of_work(read_only=True) as session:
        dispute = session.get(Dispute, dispute_id)
        assert dispute is not None
        session.expunge(dispute)
        return dispute


def test_a_ruling_updates_its_dispute_once_where_reads_are_current(
    world: World, services: Services
) -> None:
    filed, _, _ = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, filed["id"], "claim")
    before = _row(services, filed["id"])

    with _statements(services.database.engine) as seen:
        world.ok(arbitrator, filed["id"], "decide", **RULING)

    updates = _updates_of_disputes(seen)
    assert len(updates) == 1, updates  # the action's UPDATE carries the move
    assert "version" in updates[0]
    loads = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT DISPUTES.ID")]
    assert loads and ("FOR UPDATE OF disputes" in loads[0]) is not _sqlite(services), loads
    after = _row(services, filed["id"])
    assert (after.status, after.version) == ("decided", before.version + 1)
    assert after.updated_at == services.clock.now()
    assert after.event_count == before.event_count + 1


def test_actions_in_a_row_keep_the_version_the_time_and_the_chain(
    world: World, services: Services
) -> None:
    filed, buyer, seller = world.dispute()
    arbitrator = world.account("arbitrator")
    steps = [
        (seller, "reject", {"reason": "Works as described."}),
        (buyer, "escalate", {"reason": "It does not."}),
        (buyer, "evidence-done", {}),
        (seller, "evidence-done", {}),
        (arbitrator, "claim", {}),
        (arbitrator, "decide", RULING),
    ]
    version = _row(services, filed["id"]).version
    for who, action, body in steps:
        services.clock.advance(timedelta(minutes=5))
        answered = world.ok(who, filed["id"], action, **body)
        version += 1
        row = _row(services, filed["id"])
        assert row.version == version, action
        assert row.status == answered["status"], action
        assert row.updated_at == services.clock.now(), action

    with services.database.unit_of_work(read_only=True) as session:
        report = verify_chains(session)
        seqs = session.scalars(
            select(Event.seq).where(Event.dispute_id == filed["id"]).order_by(Event.seq)
        ).all()
    assert report.ok, report.broken
    assert list(seqs) == list(range(1, len(steps) + 2))  # the filing, then each action
    assert _row(services, filed["id"]).event_count == len(steps) + 1


def test_a_note_then_an_action_in_one_unit_of_work_chain_on(
    world: World, services: Services
) -> None:
    """A link noted in SQL leaves the session's copy of the dispute current: the action that
    follows counts on from it, whether or not it runs the claim."""
    filed, _, seller = world.dispute()
    with services.database.unit_of_work() as session:
        dispute = session.get(Dispute, filed["id"])
        assert dispute is not None
        note(
            session,
            dispute_id=dispute.id,
            status=dispute.status,
            actor_id=seller,
            action="deadline-approaching",
            payload={},
            at=services.clock.now(),
        )
        account = session.get(Account, seller)
        assert account is not None
        flows.act(
            session,
            dispute_id=dispute.id,
            action="reject",
            caller=Caller(account),
            params={"reason": "Works as described."},
            policy=services.policy,
            at=services.clock.now(),
        )
    with services.database.unit_of_work(read_only=True) as session:
        report = verify_chains(session)
    assert report.ok, report.broken
    assert _row(services, filed["id"]).event_count == 3


def test_a_relationship_changed_by_the_action_still_writes_the_move(
    world: World, services: Services
) -> None:
    """When the unit of work writes the dispute (a relationship changed), the move goes with it."""
    filed, _, _ = world.dispute()
    before = _row(services, filed["id"])
    with services.database.unit_of_work() as session:
        dispute = session.get(Dispute, filed["id"])
        assert dispute is not None
        written = flows._claim(session, dispute, to="rejected", at=services.clock.now())
        dispute.items = list(dispute.items)  # a relationship set: not a plain column
        flows._write_changes(session, dispute, written)
        session.flush()
    after = _row(services, filed["id"])
    assert (after.status, after.version) == ("rejected", before.version + 1)
    assert after.updated_at == services.clock.now()


@pytest.mark.parametrize("under_lock", [False, True], ids=["read", "read under the row lock"])
def test_a_session_that_outlives_its_transaction_still_gets_the_conflict(
    world: World, services: Services, under_lock: bool
) -> None:
    """Reads are current only in a write unit of work's one transaction, and a row lock holds only
    in the transaction that took it: a session that kept a dispute from an earlier one is checked
    by the claim, on both databases."""
    filed, _, seller = world.dispute()
    session = Session(bind=services.database.engine, expire_on_commit=False)
    try:
        account = session.get(Account, seller)
        assert account is not None
        if under_lock:
            get_dispute(session, caller=Caller(account), dispute_id=filed["id"], lock=True)
            assert read_locked(session, filed["id"])
        else:
            assert session.get(Dispute, filed["id"]) is not None
        session.commit()
        assert not read_locked(session, filed["id"])
        world.ok(seller, filed["id"], "reject", reason="Works as described.")
        assert not reads_are_current(session)
        with pytest.raises(Conflict):
            flows.act(
                session,
                dispute_id=filed["id"],
                action="reject",
                caller=Caller(account),
                params={"reason": "Again."},
                policy=services.policy,
                at=services.clock.now(),
            )
        session.rollback()
    finally:
        session.close()


def test_reads_are_current_in_a_sqlite_write_only(services: Services) -> None:
    sqlite = _sqlite(services)
    with services.database.unit_of_work() as session:
        assert reads_are_current(session) is sqlite
    with services.database.unit_of_work(read_only=True) as session:
        assert not reads_are_current(session)
    with WriteSession(bind=services.database.engine) as session, session.begin():
        session.connection(execution_options={"read_only": True})  # begins deferred on SQLite
        assert not reads_are_current(session)
