"""Reading, listing and the timeline of disputes over HTTP (DESIGN §6, §9): who sees what."""

from __future__ import annotations

import base64
import itertools
from datetime import timedelta
from typing import Any

import pytest

from arbitration.clock import ManualClock
from tests.support.assertions import assert_error
from tests.support.world import World

GENESIS = "0" * 64


def listing(world: World, who: str, query: str = "") -> dict[str, Any]:
    response = world.call(who, "GET", f"/v1/disputes{query}")
    assert response.status_code == 200, response.json
    return response.json


def ids(page: dict[str, Any]) -> list[str]:
    return [dispute["id"] for dispute in page["data"]]


def events(world: World, who: str, dispute_id: str) -> list[dict[str, Any]]:
    response = world.call(who, "GET", f"/v1/disputes/{dispute_id}/events")
    assert response.status_code == 200, response.json
    return response.json["data"]


# Reading one dispute ------------------------------------------------------------------------------


def test_each_party_reads_its_dispute_with_its_own_actions(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    as_buyer = world.read(buyer, dispute["id"])
    as_seller = world.read(seller, dispute["id"])
    assert as_buyer["allowed_actions"] == ["modify", "withdraw", "add-evidence"]
    assert as_seller["allowed_actions"] == [
        "accept",
        "reject",
        "offer",
        "request-extension",
        "add-evidence",
    ]
    strip = {"allowed_actions"}
    assert {k: v for k, v in as_buyer.items() if k not in strip} == {
        k: v for k, v in as_seller.items() if k not in strip
    }


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_another_party_is_told_the_dispute_does_not_exist(world: World, role: str) -> None:
    dispute, _buyer, _seller = world.dispute()
    stranger = world.account(role)
    response = world.call(stranger, "GET", f"/v1/disputes/{dispute['id']}")
    assert_error(response, 404, "not_found")
    unknown = world.call(stranger, "GET", "/v1/disputes/dsp_nothing")
    assert unknown.json["error"]["code"] == response.json["error"]["code"]


def test_reading_an_unknown_dispute_is_not_found(world: World) -> None:
    assert_error(world.call("platform", "GET", "/v1/disputes/dsp_nothing"), 404, "not_found")


def test_reading_without_a_token_is_unauthorized(world: World) -> None:
    dispute, _buyer, _seller = world.dispute()
    assert_error(world.client.get(f"/v1/disputes/{dispute['id']}"), 401, "unauthorized")


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        ("arbitrator", ["add-evidence"]),
        ("senior_arbitrator", ["add-evidence"]),
        ("trust_safety", []),
        ("platform", []),
    ],
)
def test_staff_and_the_platform_read_any_dispute_without_party_actions(
    world: World, role: str, actions: list[str]
) -> None:
    """Arbitrators may add a note as evidence at any stage before the ruling; nothing else."""
    dispute, buyer, _seller = world.dispute()
    reader = "platform" if role == "platform" else world.account(role)
    seen = world.read(reader, dispute["id"])
    assert seen["id"] == dispute["id"]
    assert seen["status"] == "awaiting_seller"
    assert seen["allowed_actions"] == actions
    assert seen["buyer_id"] == buyer


# Listing ------------------------------------------------------------------------------------------


def test_parties_list_only_their_own_disputes_and_staff_list_all(world: World) -> None:
    first, buyer_one, seller_one = world.dispute()
    second, buyer_two, seller_two = world.dispute()
    arbitrator = world.account("arbitrator")

    assert ids(listing(world, buyer_one)) == [first["id"]]
    assert ids(listing(world, buyer_two)) == [second["id"]]
    assert ids(listing(world, seller_one)) == [first["id"]]
    assert ids(listing(world, seller_two)) == [second["id"]]
    assert set(ids(listing(world, arbitrator))) == {first["id"], second["id"]}
    assert set(ids(listing(world, "platform"))) == {first["id"], second["id"]}


def test_a_party_filtering_on_someone_else_sees_nothing(world: World) -> None:
    _first, buyer_one, _seller_one = world.dispute()
    _second, buyer_two, seller_two = world.dispute()
    assert ids(listing(world, buyer_one, f"?buyer_id={buyer_two}")) == []
    assert ids(listing(world, buyer_one, f"?seller_id={seller_two}")) == []


def test_listed_disputes_carry_the_callers_actions(world: World) -> None:
    _dispute, buyer, seller = world.dispute()
    assert listing(world, buyer)["data"][0]["allowed_actions"] == [
        "modify",
        "withdraw",
        "add-evidence",
    ]
    assert "accept" in listing(world, seller)["data"][0]["allowed_actions"]


def test_the_list_filters_by_status_seller_buyer_and_reason(world: World) -> None:
    arbitrator = world.account("arbitrator")
    open_one, buyer, seller = world.dispute(reason="damaged")
    rejected, _, _ = world.dispute(reason="counterfeit")
    world.ok(rejected["seller_id"], rejected["id"], "reject", reason="as described")

    assert ids(listing(world, arbitrator, "?status=seller_rejected")) == [rejected["id"]]
    assert ids(listing(world, arbitrator, "?status=awaiting_seller")) == [open_one["id"]]
    assert ids(listing(world, arbitrator, f"?seller_id={seller}")) == [open_one["id"]]
    assert ids(listing(world, arbitrator, f"?buyer_id={buyer}")) == [open_one["id"]]
    assert ids(listing(world, arbitrator, "?reason=counterfeit")) == [rejected["id"]]
    assert ids(listing(world, arbitrator, "?reason=counterfeit&status=awaiting_seller")) == []
    assert ids(listing(world, arbitrator, "?status=closed")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("?status=sleeping", "status"), ("?reason=boredom", "reason"), ("?limit=ten", "limit")],
)
def test_unknown_filter_values_are_refused(world: World, query: str, field: str) -> None:
    response = world.call("platform", "GET", f"/v1/disputes{query}")
    assert field in assert_error(response, 422, "validation_failed")


def test_pages_walk_every_dispute_once_newest_first(world: World, clock: ManualClock) -> None:
    filed = []
    for _ in range(7):
        filed.append(world.dispute()[0]["id"])
        clock.advance(timedelta(seconds=1))

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = listing(world, "platform", query)
        pages += 1
        assert len(page["data"]) <= 3
        seen.extend(ids(page))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(filed))
    assert pages == 3


def test_a_page_that_holds_the_rest_exactly_has_no_next_cursor(
    world: World, clock: ManualClock
) -> None:
    for _ in range(3):
        world.dispute()
        clock.advance(timedelta(seconds=1))
    page = listing(world, "platform", "?limit=3")
    assert len(page["data"]) == 3
    assert page["next_cursor"] is None


def test_pagination_keeps_the_filters(world: World, clock: ManualClock) -> None:
    buyer = world.account("buyer")
    seller = world.account("seller")
    mine = []
    for _ in range(4):
        mine.append(world.file(buyer, world.order(buyer=buyer, seller=seller))["id"])
        world.dispute()
        clock.advance(timedelta(seconds=1))
    first = listing(world, "platform", f"?buyer_id={buyer}&limit=2")
    second = listing(world, "platform", f"?buyer_id={buyer}&limit=2&cursor={first['next_cursor']}")
    assert ids(first) + ids(second) == list(reversed(mine))
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        "abc",
        base64.urlsafe_b64encode(b"hello").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
    ids=["spaces", "percent", "bad-padding", "not-an-id", "not-utf8"],
)
def test_a_cursor_we_did_not_issue_is_refused(world: World, cursor: str) -> None:
    world.dispute()
    response = world.call("platform", "GET", "/v1/disputes", query_string={"cursor": cursor})
    assert "cursor" in assert_error(response, 422, "validation_failed")


@pytest.mark.parametrize("limit", [0, -1, 201, 500])
def test_a_limit_outside_1_to_200_is_refused(world: World, limit: int) -> None:
    response = world.call("platform", "GET", f"/v1/disputes?limit={limit}")
    assert "limit" in assert_error(response, 422, "validation_failed")


def test_listing_without_a_token_is_unauthorized(world: World) -> None:
    assert_error(world.client.get("/v1/disputes"), 401, "unauthorized")


# The timeline -------------------------------------------------------------------------------------


def test_each_action_appends_one_event_with_its_actor_states_and_payload(world: World) -> None:
    dispute, buyer, seller = world.dispute(amount=8_000)
    dispute_id = dispute["id"]
    world.ok(buyer, dispute_id, "modify", amount=6_000)
    world.ok(seller, dispute_id, "offer", amount=4_000, note="half")
    world.ok(buyer, dispute_id, "accept-offer")

    timeline = events(world, buyer, dispute_id)
    assert [
        (e["seq"], e["actor"], e["action"], e["from_status"], e["to_status"]) for e in timeline
    ] == [
        (1, buyer, "file", None, "awaiting_seller"),
        (2, buyer, "modify", "awaiting_seller", "awaiting_seller"),
        (3, seller, "offer", "awaiting_seller", "awaiting_seller"),
        (4, buyer, "accept-offer", "awaiting_seller", "closed"),
    ]
    assert timeline[0]["payload"]["amount"] == 5_000
    assert timeline[0]["payload"]["order_id"] == dispute["order_id"]
    assert timeline[1]["payload"] == {"amount": 6_000}
    assert timeline[2]["payload"]["amount"] == 4_000
    assert timeline[2]["payload"]["note"] == "half"
    assert timeline[3]["payload"]["offer_id"] == timeline[2]["payload"]["offer_id"]


def test_the_timeline_is_a_hash_chain_from_64_zeros(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "reject", reason="no")
    world.ok(buyer, dispute["id"], "escalate", reason="please look")
    world.ok(seller, dispute["id"], "evidence-done")

    timeline = events(world, seller, dispute["id"])
    assert len(timeline) == 4
    assert timeline[0]["prev_hash"] == GENESIS
    for previous, event in itertools.pairwise(timeline):
        assert event["prev_hash"] == previous["hash"]
    hashes = [event["hash"] for event in timeline]
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)


def test_reasons_given_with_actions_are_in_the_timeline(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "reject", reason="the photos show no damage")
    world.ok(buyer, dispute["id"], "withdraw", reason="found it")
    timeline = events(world, buyer, dispute["id"])
    assert timeline[1]["payload"] == {"reason": "the photos show no damage"}
    assert (timeline[2]["action"], timeline[2]["payload"]) == ("withdraw", {"reason": "found it"})
    assert timeline[2]["to_status"] == "closed"


def test_an_action_taken_for_a_party_by_the_platform_records_both(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    response = world.call(
        "platform",
        "POST",
        f"/v1/disputes/{dispute['id']}/reject",
        json={"reason": "no"},
        headers={"On-Behalf-Of": seller},
    )
    assert response.status_code == 200, response.json
    last = events(world, seller, dispute["id"])[-1]
    assert last["actor"] == seller
    assert last["payload"]["via"] == "platform"


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_another_party_cannot_read_the_timeline(world: World, role: str) -> None:
    dispute, _buyer, _seller = world.dispute()
    stranger = world.account(role)
    response = world.call(stranger, "GET", f"/v1/disputes/{dispute['id']}/events")
    assert_error(response, 404, "not_found")


def test_the_timeline_of_an_unknown_dispute_is_not_found(world: World) -> None:
    response = world.call("platform", "GET", "/v1/disputes/dsp_nothing/events")
    assert_error(response, 404, "not_found")


def test_staff_read_the_timeline(world: World) -> None:
    dispute, _buyer, _seller = world.dispute()
    arbitrator = world.account("arbitrator")
    assert [e["action"] for e in events(world, arbitrator, dispute["id"])] == ["file"]
