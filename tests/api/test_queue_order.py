"""The queue's order is the priority's, page after page, on SQLite and PostgreSQL (issue 13).

The queue sorts on ``priority_rank``, stored beside ``priority`` so that an index serves it. These
tests compute the expected order from the ``priority`` string each body shows, never from the
rank, so they fail if the two ever disagree (a priority changed without its rank, say).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from arbitration.classification import PRIORITIES, priority_rank
from arbitration.clock import ManualClock
from arbitration.models import Dispute
from tests.support.world import World


def bodies(world: World, who: str, query: str = "") -> list[dict[str, Any]]:
    response = world.call(who, "GET", f"/v1/queue{query}")
    assert response.status_code == 200, response.json
    assert response.json["next_cursor"] is None
    return list(response.json["data"])


def ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["id"] for case in cases]


def by_priority(cases: list[dict[str, Any]]) -> list[str]:
    """The queue's order from what the bodies say: priority, SLA due (none last), then id."""

    def key(case: dict[str, Any]) -> tuple[int, bool, datetime, str]:
        due = case["sla_due_at"]
        return (
            PRIORITIES.index(case["priority"]),
            due is None,
            datetime.fromisoformat(due) if due else datetime.min,
            case["id"],
        )

    return [case["id"] for case in sorted(cases, key=key)]


def assert_ranks_follow_priorities(world: World) -> None:
    with world.app.extensions["arbitration"].database.unit_of_work() as session:
        for priority, rank in session.execute(select(Dispute.priority, Dispute.priority_rank)):
            assert rank == priority_rank(priority), priority


def to_decision(world: World, dispute_id: str, buyer: str, seller: str) -> dict[str, Any]:
    world.ok(seller, dispute_id, "reject", reason="Works as described.")
    world.ok(buyer, dispute_id, "escalate", reason="It does not.")
    world.ok(buyer, dispute_id, "evidence-done")
    return world.ok(seller, dispute_id, "evidence-done")


def appealed(world: World) -> str:
    return str(world.under_appeal()[0]["id"])


def test_the_queue_follows_a_changed_priority(world: World, clock: ManualClock) -> None:
    normal, *_ = world.awaiting_decision()
    clock.advance(timedelta(minutes=5))
    # Filed normal, made urgent by the buyer's modification before it reached the platform.
    raised, raised_buyer, raised_seller = world.dispute()
    world.ok(raised_buyer, raised["id"], "modify", reason="safety_hazard")
    # Filed high (counterfeit), made normal.
    lowered, lowered_buyer, lowered_seller = world.dispute(reason="counterfeit")
    world.ok(lowered_buyer, lowered["id"], "modify", reason="damaged")
    arbitrator = world.account("arbitrator")
    senior = world.account("senior_arbitrator")
    # An urgent case is in the seniors' view while the parties still talk: without an SLA, last.
    assert ids(bodies(world, senior, "?view=senior")) == [raised["id"]]
    clock.advance(timedelta(minutes=5))
    to_decision(world, lowered["id"], lowered_buyer, lowered_seller)
    clock.advance(timedelta(minutes=5))
    to_decision(world, raised["id"], raised_buyer, raised_seller)
    cases = bodies(world, arbitrator)
    assert [case["priority"] for case in cases] == ["urgent", "normal", "normal"]
    assert ids(cases) == [raised["id"], normal["id"], lowered["id"]] == by_priority(cases)
    assert ids(bodies(world, arbitrator, "?priority=normal")) == [normal["id"], lowered["id"]]
    assert ids(bodies(world, arbitrator, "?priority=high")) == []
    assert_ranks_follow_priorities(world)


def test_pages_are_prefixes_of_the_priority_order_in_every_view(
    world: World, clock: ManualClock
) -> None:
    appeal = appealed(world)
    for reason in ("damaged", "counterfeit", "safety_hazard", "damaged", "counterfeit"):
        clock.advance(timedelta(minutes=7))
        world.awaiting_decision(reason=reason)
    talking_urgent, *_ = world.dispute(reason="safety_hazard")  # senior view, no SLA yet
    world.dispute()  # not the platform's yet: in no view
    senior = world.account("senior_arbitrator")
    arbitrator = world.account("arbitrator")
    urgent_with_sla = bodies(world, arbitrator, "?priority=urgent")
    views = {
        (arbitrator, ""): 5,
        (senior, ""): 6,  # the appeal joins the cases awaiting a ruling
        (senior, "view=senior&"): 3,  # urgent with an SLA, urgent without one, then the appeal
        (senior, "status=under_appeal&"): 1,
        (arbitrator, "category=product&"): None,
        (arbitrator, "assigned=unassigned&reason=counterfeit&"): 2,
    }
    for (who, query), size in views.items():
        full = bodies(world, who, f"?{query}")
        if size is not None:
            assert len(full) == size, (query, ids(full))
        assert ids(full) == by_priority(full), query
        for limit in range(1, len(full) + 1):
            assert ids(bodies(world, who, f"?{query}limit={limit}")) == ids(full)[:limit]
    assert ids(bodies(world, senior, "?view=senior")) == [
        *ids(urgent_with_sla),
        talking_urgent["id"],
        appeal,
    ]
    assert_ranks_follow_priorities(world)


def test_a_senior_claims_in_the_queue_order_across_appeals_and_cases(
    world: World, clock: ManualClock
) -> None:
    appealed(world)
    for reason in ("damaged", "safety_hazard", "counterfeit"):
        clock.advance(timedelta(minutes=3))
        world.awaiting_decision(reason=reason)
    senior = world.account("senior_arbitrator")
    expected = ids(bodies(world, senior, "?assigned=unassigned"))
    assert len(expected) == 4
    claimed = []
    for _ in expected:
        response = world.call(senior, "POST", "/v1/queue/claim")
        assert response.status_code == 200, response.json
        claimed.append(response.json["id"])
    assert claimed == expected
    assert world.call(senior, "POST", "/v1/queue/claim").status_code == 404


def statements_of(world: World, who: str, path: str) -> int:
    """How many SQL statements the engine runs to answer ``path``."""
    engine = world.app.extensions["arbitration"].database.engine
    count = 0

    def counted(*_args: object) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counted)
    try:
        response = world.call(who, "GET", path)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert response.status_code == 200, response.json
    return count


def test_a_page_costs_the_same_statements_whatever_it_holds(world: World) -> None:
    senior = world.account("senior_arbitrator")
    appealed(world)
    world.awaiting_decision()
    few = statements_of(world, senior, "/v1/queue")
    for _ in range(3):
        appealed(world)
        world.awaiting_decision(reason="safety_hazard")
    assert len(bodies(world, senior)) == 8
    assert statements_of(world, senior, "/v1/queue") == few
