"""Urgent cases reach the senior arbitrators from the start (DESIGN §5a): in their view from the
moment they are filed, while the parties still talk, not only once a ruling is due."""

from __future__ import annotations

from tests.support.assertions import assert_error
from tests.support.world import World


def senior_view(world: World, who: str) -> list[dict[str, str]]:
    response = world.call(who, "GET", "/v1/queue?view=senior")
    assert response.status_code == 200, response.json
    return [{"id": case["id"], "status": case["status"]} for case in response.json["data"]]


def test_an_urgent_case_is_in_the_seniors_view_as_soon_as_it_is_filed(world: World) -> None:
    senior = world.account("senior_arbitrator")
    urgent, buyer, seller = world.dispute(reason="safety_hazard")
    world.dispute()  # a normal one stays out
    assert senior_view(world, senior) == [{"id": urgent["id"], "status": "awaiting_seller"}]

    world.ok(seller, urgent["id"], "reject", reason="It is safe.")
    world.ok(buyer, urgent["id"], "escalate")
    assert senior_view(world, senior) == [{"id": urgent["id"], "status": "gathering_evidence"}]
    # Seen, not yet claimable: the parties have not finished.
    assert_error(world.call(senior, "POST", "/v1/queue/claim"), 404)
    assert_error(world.act(senior, urgent["id"], "claim"), 409)
    # The arbitrators' own queue still holds only what waits for a ruling.
    arbitrator = world.account("arbitrator")
    assert world.call(arbitrator, "GET", "/v1/queue").json["data"] == []


def test_a_request_raised_to_urgent_joins_the_seniors_view_at_once(world: World) -> None:
    senior = world.account("senior_arbitrator")
    buyer, _, order_id = world.parties(amount=200_000)
    dispute = world.file(buyer, order_id, amount=1_000)
    assert senior_view(world, senior) == []
    world.ok(buyer, dispute["id"], "modify", amount=150_000)  # at or above urgent_amount
    assert senior_view(world, senior) == [{"id": dispute["id"], "status": "awaiting_seller"}]


def test_a_closed_or_decided_urgent_case_leaves_the_seniors_view(world: World) -> None:
    senior = world.account("senior_arbitrator")
    urgent, _, seller = world.dispute(reason="safety_hazard")
    world.ok(seller, urgent["id"], "accept")
    assert senior_view(world, senior) == []
