"""The lists a marketplace reads every day are index walks in their own order (newest first) that
stop at the page's end, however long the history: none sorts all its matches or reads a whole
table.

Each list is run as the API runs it, on SQLite as the engine runs it: without statistics (it never
gathers them), so the plan is the one every database gets, and a plan that reads every closed
dispute to show 50 would show here. PostgreSQL plans by its statistics, which its autovacuum keeps:
not checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from arbitration import lifecycle, queue
from arbitration.accounts import BUYER, PLATFORM, SELLER, TRUST_SAFETY, Caller, Identity
from arbitration.db import make_engine
from arbitration.disputes import DisputeFilters, list_disputes
from arbitration.policy import load_policy
from penalties.browse import PenaltyFilters, list_penalties
from penalties.public import public_warnings
from reports.feedback import dissatisfied
from reports.summary import summarize
from reports.transparency import public_decisions
from webhooks import outbox
from webhooks.service import list_deliveries

AT = datetime(2026, 12, 1, tzinfo=UTC)
SELLER_1 = Caller(Identity("seller-1", SELLER, "Seller"))
BUYER_1 = Caller(Identity("buyer-1", BUYER, "Buyer"))
STAFF = Caller(Identity("trust-1", TRUST_SAFETY, "Trust"))
THE_PLATFORM = Caller(Identity("platform-1", PLATFORM, "Platform"))

Plans = Callable[[Callable[[Session], Any]], str]


@pytest.fixture
def plans(database_url: str) -> Iterator[Plans]:
    """``plans(call)``: every SELECT ``call(session)`` runs, one line each: the start of its SQL,
    ``::``, its plan."""
    engine = make_engine(database_url)
    if engine.dialect.name != "sqlite":
        engine.dispose()
        pytest.skip("PostgreSQL plans by its statistics")
    ran: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(
        _connection: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            ran.append((statement, parameters))

    def planned(call: Callable[[Session], Any]) -> str:
        ran.clear()
        with Session(engine) as session:
            call(session)
        with engine.connect() as connection:
            return "\n".join(
                f"{' '.join(sql.split())[:120]} :: "
                + " | ".join(
                    row[-1]
                    for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
                )
                for sql, parameters in list(ran)
            )

    yield planned
    engine.dispose()


def walks(found: str, index: str) -> None:
    """The list reads its rows down ``index``, in the index's order: nothing sorted after."""
    assert index in found, found
    assert "TEMP B-TREE FOR ORDER BY" not in found, found


def disputes(caller: Caller, **filters: str) -> Callable[[Session], Any]:
    return lambda session: list_disputes(session, caller=caller, filters=DisputeFilters(**filters))


def test_a_sellers_inbox_walks_their_own_disputes_in_the_state_asked(plans: Plans) -> None:
    walks(plans(disputes(SELLER_1)), "ix_disputes_seller_created")
    walks(plans(disputes(SELLER_1, status=lifecycle.CLOSED)), "ix_disputes_seller_status")
    on_behalf = Caller(Identity("seller-1", SELLER, "Seller"), via=THE_PLATFORM.account)
    walks(plans(disputes(on_behalf, status="awaiting_seller")), "ix_disputes_seller_status")


def test_a_buyers_list_walks_their_own_few_disputes_whatever_the_filter(plans: Plans) -> None:
    for filters in ({}, {"status": lifecycle.CLOSED}, {"seller_id": "seller-1"}):
        walks(plans(disputes(BUYER_1, **filters)), "ix_disputes_buyer_created")


def test_staff_lists_walk_the_index_of_what_they_filter_by(plans: Plans) -> None:
    walks(plans(disputes(STAFF, status=lifecycle.CLOSED)), "ix_disputes_status_id")
    walks(
        plans(disputes(STAFF, status=lifecycle.CLOSED, seller_id="seller-1")),
        "ix_disputes_seller_status",
    )
    walks(
        plans(disputes(STAFF, status=lifecycle.CLOSED, buyer_id="buyer-1")),
        "ix_disputes_buyer_created",
    )


def test_the_public_decisions_walk_the_closed_disputes_newest_first(plans: Plans) -> None:
    walks(plans(lambda session: public_decisions(session)), "ix_disputes_status_id")
    walks(
        plans(lambda session: public_decisions(session, seller_id="seller-1", reason="damaged")),
        "ix_disputes_seller_status",
    )


def test_the_deliveries_walk_by_status_by_endpoint_or_a_disputes_events(plans: Plans) -> None:
    def deliveries(**filters: str) -> Callable[[Session], Any]:
        return lambda session: list_deliveries(session, caller=THE_PLATFORM, **filters)

    walks(plans(deliveries(endpoint_id="whe_1")), "ix_webhook_deliveries_endpoint_id")
    walks(plans(deliveries(status="dead")), "ix_webhook_deliveries_status_id")
    walks(plans(deliveries(status="dead", endpoint_id="whe_1")), "ix_webhook_deliveries_status_id")
    # A dispute's deliveries are few: found by its events, whatever else is asked.
    found = plans(deliveries(dispute_id="dsp_1", status="pending", endpoint_id="whe_1"))
    assert "ix_webhook_events_dispute_id" in found, found
    assert "ix_webhook_deliveries_status" not in found, found


def test_the_events_waiting_to_fan_out_are_a_walk_of_their_own_few(plans: Plans) -> None:
    """The delivery job's fan-out finds what waits in a partial index of it alone, not among
    every event ever written."""
    waiting = plans(lambda session: session.execute(outbox._WAITING.limit(200)).all())
    walks(waiting, "ix_webhook_events_fanout_pending")


def test_penalties_walk_by_status_and_a_sellers_warnings_by_seller(plans: Plans) -> None:
    listed = plans(
        lambda session: list_penalties(
            session, caller=THE_PLATFORM, filters=PenaltyFilters(status="expired")
        )
    )
    walks(listed, "ix_penalties_status_id")
    walks(plans(lambda session: public_warnings(session)), "ix_penalties_status_id")
    walks(
        plans(lambda session: public_warnings(session, seller_id="seller-1")),
        "ix_penalties_seller_status_id",
    )


def test_dissatisfied_answers_since_a_time_are_a_range_of_the_key(plans: Plans) -> None:
    found = plans(
        lambda session: dissatisfied(session, caller=THE_PLATFORM, policy=load_policy(), since=AT)
    )
    assert "SEARCH feedback USING INDEX sqlite_autoindex_feedback_1 (id>?)" in found, found


def test_a_reports_closed_outcomes_are_read_within_its_period(plans: Plans) -> None:
    found = plans(lambda session: summarize(session, policy=load_policy(), at=AT))
    outcomes = [line for line in found.splitlines() if "disputes.outcome" in line.split("::")[0]]
    assert outcomes, found
    for line in outcomes:
        assert "ix_disputes_created_at" in line, line


def test_precedents_walk_the_decisions_newest_first_not_every_dispute(plans: Plans) -> None:
    found = plans(
        lambda session: session.execute(queue.like_cases("dsp_1", "damaged", "product", 20)).all()
    )
    assert "SCAN decisions USING INDEX ix_decisions_decided_at" in found, found
    assert "SCAN disputes" not in found, found
