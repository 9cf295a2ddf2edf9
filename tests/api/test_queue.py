"""The arbitrators' queue (DESIGN §4): most pressing first, each case to one arbitrator."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from arbitration import sweep
from arbitration.clock import ManualClock
from tests.support.assertions import assert_error
from tests.support.world import World


def queue(world: World, who: str, query: str = "") -> list[str]:
    response = world.call(who, "GET", f"/v1/queue{query}")
    assert response.status_code == 200, response.json
    return [case["id"] for case in response.json["data"]]


def test_the_queue_orders_by_priority_then_by_when_the_ruling_is_due(
    world: World, clock: ManualClock
) -> None:
    first_normal, *_ = world.awaiting_decision()
    clock.advance(timedelta(hours=1))
    second_normal, *_ = world.awaiting_decision()
    clock.advance(timedelta(hours=1))
    high, *_ = world.awaiting_decision(reason="counterfeit")
    clock.advance(timedelta(hours=1))
    urgent, *_ = world.awaiting_decision(reason="safety_hazard")
    world.dispute()  # not yet the platform's: never in the queue
    arbitrator = world.account("arbitrator")
    assert queue(world, arbitrator) == [
        urgent["id"],
        high["id"],
        first_normal["id"],
        second_normal["id"],
    ]
    assert queue(world, arbitrator, "?priority=normal") == [first_normal["id"], second_normal["id"]]
    assert queue(world, arbitrator, "?category=product&priority=high") == [high["id"]]


def test_claiming_the_next_case_takes_the_most_pressing_one_then_the_queue_empties(
    world: World,
) -> None:
    normal, *_ = world.awaiting_decision()
    urgent, *_ = world.awaiting_decision(reason="safety_hazard")
    first, second, third = (world.account("arbitrator") for _ in range(3))
    taken = world.call(first, "POST", "/v1/queue/claim")
    assert taken.status_code == 200, taken.json
    assert (taken.json["id"], taken.json["assigned_arbitrator_id"]) == (urgent["id"], first)
    assert taken.json == world.read(first, urgent["id"])  # the case as a fresh read shows it
    assert world.call(second, "POST", "/v1/queue/claim").json["id"] == normal["id"]
    assert_error(world.call(third, "POST", "/v1/queue/claim"), 404, "not_found")
    assert queue(world, third, "?assigned=unassigned") == []
    assert queue(world, first, "?assigned=mine") == [urgent["id"]]


def test_only_arbitrators_use_the_queue(world: World) -> None:
    world.awaiting_decision()
    for role in ("buyer", "seller", "trust_safety", "admin"):
        who = world.account(role)
        assert_error(world.call(who, "GET", "/v1/queue"), 403, "forbidden")
        assert_error(world.call(who, "POST", "/v1/queue/claim"), 403, "forbidden")
    assert_error(world.call("platform", "GET", "/v1/queue"), 403, "forbidden")


def test_appeals_are_in_the_seniors_view_not_the_arbitrators_queue(world: World) -> None:
    dispute, _, _ = world.under_appeal()
    arbitrator = world.account("arbitrator")
    senior = world.account("senior_arbitrator")
    assert queue(world, arbitrator) == []
    assert queue(world, senior, "?view=senior") == [dispute["id"]]
    assert_error(world.call(arbitrator, "GET", "/v1/queue?view=senior"), 403)
    assert world.call(senior, "POST", "/v1/queue/claim").json["id"] == dispute["id"]


def test_a_case_past_twice_its_sla_rises_to_the_seniors_view(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, *_ = world.awaiting_decision()
    senior = world.account("senior_arbitrator")
    assert queue(world, senior, "?view=senior") == []
    clock.advance(timedelta(hours=96))  # a normal case's SLA is 48 h
    services = app.extensions["arbitration"]
    sweep.sweep_due_deadlines(services.database, policy=services.policy, clock=clock)
    assert queue(world, senior, "?view=senior") == [dispute["id"]]


def test_urgent_cases_are_in_the_seniors_view_at_once(world: World) -> None:
    urgent, *_ = world.awaiting_decision(reason="safety_hazard")
    world.awaiting_decision()
    assert queue(world, world.account("senior_arbitrator"), "?view=senior") == [urgent["id"]]
