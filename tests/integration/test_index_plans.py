"""The indexes revision 0011 made lighter still serve every query that looked them up.

Each statement is planned on the migrated (empty) schema. SQLite plans a statement once for any
values, so its plan is the one every execution gets. On PostgreSQL the statement is prepared and
planned generically (as a statement prepared and run many times is), with sequential scans priced
out: an index shows in the plan only if the query's own text proves a partial index's condition,
not a value bound to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Executable, create_engine, select, update
from sqlalchemy.dialects import postgresql

from arbitration import deadlines, lifecycle, queue, sweep
from arbitration.deadlines import IS_PENDING, PENDING, REFUND_OVERDUE
from arbitration.models import Deadline, Decision, Dispute, Refund

AT = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture
def connection(database_url: str) -> Iterator[Connection]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def plan(connection: Connection, statement: Executable) -> str:
    """The database's plan for ``statement``, as one text."""
    render = {"render_postcompile": True}
    if connection.dialect.name == "sqlite":
        compiled = statement.compile(dialect=connection.dialect, compile_kwargs=render)
        nulls = (None,) * len(compiled.positiontup or ())
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", nulls).all()
        return "\n".join(row[-1] for row in rows)
    dollar = postgresql.dialect(paramstyle="numeric_dollar")
    compiled = statement.compile(dialect=dollar, compile_kwargs=render)
    values = ", ".join(["NULL"] * len(compiled.positiontup or ()))
    connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql("SET enable_seqscan = off")
    connection.exec_driver_sql(f"PREPARE planned AS {compiled}")
    try:
        execute = f"EXECUTE planned({values})" if values else "EXECUTE planned"
        rows = connection.exec_driver_sql(f"EXPLAIN {execute}").all()
    finally:
        connection.exec_driver_sql("DEALLOCATE planned")
    return "\n".join(row[0] for row in rows)


def uses(connection: Connection, statement: Executable, *indexes: str) -> str:
    """Assert the plan reads the table through one of ``indexes``; returns the plan."""
    found = plan(connection, statement)
    assert any(index in found for index in indexes), found
    return found


def test_the_sweep_reads_only_the_pending_deadlines_in_due_order(connection: Connection) -> None:
    due = sweep._due(AT).order_by(Deadline.due_at, Deadline.id).limit(1)
    found = uses(connection, due.with_for_update(skip_locked=True), "ix_deadlines_pending_due")
    assert "TEMP B-TREE" not in found and "Sort" not in found  # the index's order: no sort


def test_a_step_finds_its_disputes_pending_deadlines(connection: Connection) -> None:
    """Every step cancels them (``cancel_pending``); an extension moves them, a confirmed refund
    cancels its watch (``refunds``)."""
    uses(connection, deadlines._CANCEL_PENDING, "ix_deadlines_dispute_pending")
    running = select(Deadline).where(
        Deadline.dispute_id == "dsp_1",
        IS_PENDING,
        Deadline.action.in_(("accept", deadlines.REMIND)),
    )
    uses(connection, running, "ix_deadlines_dispute_pending")
    watch = (
        update(Deadline)
        .where(Deadline.dispute_id == "dsp_1", Deadline.action == REFUND_OVERDUE, IS_PENDING)
        .values(status="cancelled", settled_at=AT)
    )
    uses(connection, watch, "ix_deadlines_dispute_pending")


def test_a_penalty_or_recovery_finds_its_own_deadlines_by_subject(connection: Connection) -> None:
    """How ``penalties.ledger`` and ``recoveries`` cancel a subject's pending deadline."""
    cancel = (
        update(Deadline)
        .where(
            Deadline.subject_id == "pen_1",
            Deadline.action == "penalty-expire",
            Deadline.status == PENDING,
        )
        .values(status="cancelled", settled_at=AT)
    )
    uses(connection, cancel, "ix_deadlines_subject")


def test_the_queue_and_the_filtered_list_find_disputes_by_status(connection: Connection) -> None:
    uses(connection, queue._walk(lifecycle.AWAITING_DECISION, []).limit(50), "ix_disputes_queue")
    listed = select(Dispute).where(Dispute.status == lifecycle.CLOSED).order_by(Dispute.id.desc())
    uses(connection, listed.limit(51), "ix_disputes_status_id", "disputes_pkey", "PRIMARY KEY")


def test_an_arbitrators_own_cases_and_the_unassigned_are_index_walks(
    connection: Connection,
) -> None:
    """``ix_disputes_queue_assigned`` stays whole: SQLite walks it for the unassigned cases too
    (the claim), which a partial index ``IS NOT NULL`` would leave to a filtered walk."""
    mine = queue._walk(lifecycle.AWAITING_DECISION, [Dispute.assigned_arbitrator_id == "acc_1"])
    uses(connection, mine.limit(50), "ix_disputes_queue_assigned")
    free = queue._walk(lifecycle.AWAITING_DECISION, [Dispute.assigned_arbitrator_id.is_(None)])
    found = uses(connection, free.limit(50), "ix_disputes_queue_assigned", "ix_disputes_queue")
    if connection.dialect.name == "sqlite":
        assert "ix_disputes_queue_assigned" in found, found


def test_a_disputes_refunds_are_found_by_the_unique_constraint(connection: Connection) -> None:
    by_dispute = ("uq_refunds_dispute_ordered_by", "sqlite_autoindex_refunds_2")
    uses(connection, select(Refund).where(Refund.dispute_id == "dsp_1"), *by_dispute)
    uses(
        connection, select(Refund.id).where(Refund.dispute_id.in_(["dsp_1", "dsp_2"])), *by_dispute
    )


def test_the_ruling_an_appeal_replaced_is_looked_up_by_index(connection: Connection) -> None:
    replaced = select(Decision.id).where(Decision.replaces_id == "dec_1")
    uses(connection, replaced, "ix_decisions_replaces")
