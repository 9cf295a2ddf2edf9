"""The buyer's moves and the return over HTTP (DESIGN §1): modify, withdraw, escalate, the return
trip, extensions, and saying evidence is done."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from arbitration.clock import ManualClock
from tests.support.assertions import assert_error, state
from tests.support.world import World


def due(dispute: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(dispute["deadline"]["due_at"])


def rejected(world: World, **overrides: Any) -> tuple[dict[str, Any], str, str]:
    dispute, buyer, seller = world.dispute(**overrides)
    return world.ok(seller, dispute["id"], "reject", reason="as described"), buyer, seller


def awaiting_return(world: World) -> tuple[dict[str, Any], str, str]:
    dispute, buyer, seller = world.dispute(remedy="return_and_refund")
    return world.ok(seller, dispute["id"], "accept"), buyer, seller


def in_transit(world: World) -> tuple[dict[str, Any], str, str]:
    dispute, buyer, seller = awaiting_return(world)
    shipped = world.ok(buyer, dispute["id"], "ship-return", carrier="UPS", tracking_number="1Z9")
    return shipped, buyer, seller


def gathering(world: World) -> tuple[dict[str, Any], str, str]:
    dispute, buyer, seller = rejected(world)
    return world.ok(buyer, dispute["id"], "escalate", reason="look please"), buyer, seller


# modify -------------------------------------------------------------------------------------------


def test_modifying_restarts_the_sellers_clock_from_now(world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = world.dispute()
    clock.advance(timedelta(days=2))
    modified = world.ok(buyer, dispute["id"], "modify", amount=4_000, description="smaller ask")
    assert (modified["status"], modified["awaiting"]) == ("awaiting_seller", "seller")
    assert (modified["amount"], modified["description"]) == (4_000, "smaller ask")
    assert modified["deadline"]["action"] == "accept"
    assert due(modified) == clock.now() + timedelta(days=5)
    assert due(world.read(seller, dispute["id"])) == due(modified)


def test_modifying_the_reason_reclassifies_the_dispute(world: World) -> None:
    dispute, buyer, _seller = world.dispute(reason="wrong_item")
    assert (dispute["category"], dispute["priority"]) == ("service", "normal")
    modified = world.ok(buyer, dispute["id"], "modify", reason="safety_hazard")
    assert (modified["reason"], modified["category"], modified["priority"]) == (
        "safety_hazard",
        "product",
        "urgent",
    )


def test_modifying_after_a_rejection_puts_it_back_to_the_seller(
    world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = rejected(world)
    clock.advance(timedelta(days=1))
    back = world.ok(buyer, dispute["id"], "modify", amount=3_000)
    assert (back["status"], back["awaiting"]) == ("awaiting_seller", "seller")
    assert back["deadline"]["action"] == "accept"
    assert due(back) == clock.now() + timedelta(days=5)
    assert {"accept", "reject"} <= set(world.read(seller, dispute["id"])["allowed_actions"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 10_001}, "amount"),
        ({"amount": 0}, "amount"),
        ({"reason": "boredom"}, "reason"),
        ({}, "amount"),
    ],
    ids=["above-cap", "zero", "unknown-reason", "empty"],
)
def test_a_bad_modification_is_refused_and_changes_nothing(
    world: World, body: dict[str, Any], field: str
) -> None:
    dispute, buyer, _seller = world.dispute(amount=10_000)
    before = state(world, buyer, dispute["id"])
    response = world.act(buyer, dispute["id"], "modify", **body)
    assert field in assert_error(response, 422, "validation_failed")
    assert state(world, buyer, dispute["id"]) == before


def test_a_modification_with_no_body_at_all_is_refused(world: World) -> None:
    dispute, buyer, _seller = world.dispute()
    response = world.call(buyer, "POST", f"/v1/disputes/{dispute['id']}/modify")
    assert_error(response, 422, "validation_failed")
    assert world.read(buyer, dispute["id"])["version"] == 1


def test_modifying_up_to_the_named_lines_value_is_allowed_but_not_beyond(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    items = [
        {"listing_id": "lst-a", "title": "Cup", "quantity": 1, "unit_price": 2_000},
        {"listing_id": "lst-b", "title": "Pot", "quantity": 1, "unit_price": 8_000},
    ]
    order_id = world.order(buyer=buyer, seller=seller, amount=10_000, items=items)
    dispute = world.file(
        buyer, order_id, amount=1_000, items=[{"listing_id": "lst-a", "quantity": 1}]
    )
    assert world.ok(buyer, dispute["id"], "modify", amount=2_000)["amount"] == 2_000
    response = world.act(buyer, dispute["id"], "modify", amount=2_001)
    assert "amount" in assert_error(response, 422, "validation_failed")


# withdraw -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("builder", ["awaiting_seller", "seller_rejected", "awaiting_return"])
def test_the_buyer_may_withdraw_until_the_goods_are_on_their_way(
    world: World, builder: str
) -> None:
    make = {
        "awaiting_seller": world.dispute,
        "seller_rejected": lambda: rejected(world),
        "awaiting_return": lambda: awaiting_return(world),
    }[builder]
    dispute, buyer, _seller = make()
    assert dispute["status"] == builder
    closed = world.ok(buyer, dispute["id"], "withdraw")
    assert (closed["status"], closed["outcome"]) == ("closed", "withdrawn")
    assert closed["deadline"] is None
    assert closed["refund_amount"] is None


# escalate -----------------------------------------------------------------------------------------


def test_escalating_a_rejection_opens_the_evidence_window_for_both(
    world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = rejected(world)
    clock.advance(timedelta(hours=5))
    escalated = world.ok(buyer, dispute["id"], "escalate", reason="the seller is wrong")
    assert (escalated["status"], escalated["awaiting"]) == ("gathering_evidence", "both")
    assert escalated["deadline"]["action"] == "close-evidence"
    assert escalated["deadline"]["party"] == "both"
    assert due(escalated) == clock.now() + timedelta(days=3)
    assert escalated["allowed_actions"] == ["evidence-done", "request-extension", "add-evidence"]
    assert world.read(seller, dispute["id"])["allowed_actions"] == [
        "evidence-done",
        "request-extension",
        "add-evidence",
    ]


# The return trip ----------------------------------------------------------------------------------


def test_shipping_the_return_records_the_shipment(world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = awaiting_return(world)
    clock.advance(timedelta(days=1))
    shipped = world.ok(buyer, dispute["id"], "ship-return", carrier="DHL", tracking_number="JD01")
    assert (shipped["status"], shipped["awaiting"]) == ("return_in_transit", "seller")
    assert shipped["return_shipment"]["carrier"] == "DHL"
    assert shipped["return_shipment"]["tracking_number"] == "JD01"
    assert datetime.fromisoformat(shipped["return_shipment"]["shipped_at"]) == clock.now()
    assert shipped["deadline"]["action"] == "confirm-return"
    assert due(shipped) == clock.now() + timedelta(days=10)
    assert world.read(seller, dispute["id"])["allowed_actions"] == [
        "confirm-return",
        "dispute-return",
        "request-extension",
        "add-evidence",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tracking_number": "JD01"}, "carrier"),
        ({"carrier": "DHL"}, "tracking_number"),
        ({"carrier": "", "tracking_number": "JD01"}, "carrier"),
        ({"carrier": "DHL", "tracking_number": ""}, "tracking_number"),
        ({"carrier": "   ", "tracking_number": "JD01"}, "carrier"),
    ],
)
def test_a_return_needs_a_carrier_and_a_tracking_number(
    world: World, body: dict[str, Any], field: str
) -> None:
    dispute, buyer, _seller = awaiting_return(world)
    before = state(world, buyer, dispute["id"])
    response = world.act(buyer, dispute["id"], "ship-return", **body)
    assert field in assert_error(response, 422, "validation_failed")
    assert state(world, buyer, dispute["id"]) == before


def test_confirming_the_returned_goods_refunds_the_buyer(world: World) -> None:
    dispute, _buyer, seller = in_transit(world)
    closed = world.ok(seller, dispute["id"], "confirm-return")
    assert (closed["status"], closed["outcome"], closed["refund_amount"]) == (
        "closed",
        "refunded",
        5_000,
    )
    order = world.call("platform", "GET", f"/v1/orders/{dispute['order_id']}").json
    assert order["refunded_amount"] == 5_000


def test_disputing_the_returned_goods_asks_the_platform(world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = in_transit(world)
    contested = world.ok(
        seller, dispute["id"], "dispute-return", problem="damaged", reason="box crushed"
    )
    assert (contested["status"], contested["awaiting"]) == ("gathering_evidence", "both")
    assert due(contested) == clock.now() + timedelta(days=3)
    event = world.call(buyer, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"][-1]
    assert event["action"] == "dispute-return"
    assert event["payload"] == {"problem": "damaged", "reason": "box crushed"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "box crushed"}, "problem"),
        ({"problem": "stolen", "reason": "box crushed"}, "problem"),
        ({"problem": "missing"}, "reason"),
        ({"problem": "missing", "reason": ""}, "reason"),
    ],
)
def test_disputing_a_return_needs_a_known_problem_and_a_reason(
    world: World, body: dict[str, Any], field: str
) -> None:
    dispute, _buyer, seller = in_transit(world)
    before = state(world, seller, dispute["id"])
    response = world.act(seller, dispute["id"], "dispute-return", **body)
    assert field in assert_error(response, 422, "validation_failed")
    assert state(world, seller, dispute["id"]) == before


# request-extension --------------------------------------------------------------------------------


def test_the_seller_may_push_her_deadline_back_once(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    extended = world.ok(seller, dispute["id"], "request-extension")
    assert due(extended) == due(dispute) + timedelta(days=3)
    assert extended["extensions_used"] == ["seller"]
    assert extended["status"] == "awaiting_seller"
    assert "request-extension" not in extended["allowed_actions"]

    before = state(world, seller, dispute["id"])
    details = assert_error(
        world.act(seller, dispute["id"], "request-extension"), 409, "action_not_allowed"
    )
    assert details["allowed_actions"] == ["accept", "reject", "offer", "add-evidence"]
    assert state(world, seller, dispute["id"]) == before


def test_an_extension_is_once_per_dispute_not_once_per_stage(world: World) -> None:
    dispute, buyer, seller = world.dispute(remedy="return_and_refund")
    world.ok(seller, dispute["id"], "request-extension")
    world.ok(seller, dispute["id"], "accept")
    world.ok(buyer, dispute["id"], "ship-return", carrier="UPS", tracking_number="1Z")
    response = world.act(seller, dispute["id"], "request-extension")
    assert_error(response, 409, "action_not_allowed")


def test_the_buyer_may_not_extend_the_sellers_deadline(world: World) -> None:
    dispute, buyer, _seller = world.dispute()
    before = state(world, buyer, dispute["id"])
    details = assert_error(
        world.act(buyer, dispute["id"], "request-extension"), 409, "action_not_allowed"
    )
    assert details["status"] == "awaiting_seller"
    assert details["allowed_actions"] == ["modify", "withdraw", "add-evidence"]
    assert state(world, buyer, dispute["id"]) == before


def test_each_party_may_extend_the_evidence_window_once(world: World) -> None:
    dispute, buyer, seller = gathering(world)
    by_buyer = world.ok(buyer, dispute["id"], "request-extension")
    assert due(by_buyer) == due(dispute) + timedelta(days=3)
    by_seller = world.ok(seller, dispute["id"], "request-extension")
    assert due(by_seller) == due(dispute) + timedelta(days=6)
    assert sorted(by_seller["extensions_used"]) == ["buyer", "seller"]
    assert_error(world.act(buyer, dispute["id"], "request-extension"), 409, "action_not_allowed")


# evidence-done ------------------------------------------------------------------------------------


def test_one_party_done_with_evidence_leaves_the_other_to_finish(world: World) -> None:
    dispute, buyer, seller = gathering(world)
    done = world.ok(buyer, dispute["id"], "evidence-done")
    assert (done["status"], done["awaiting"]) == ("gathering_evidence", "seller")
    # Done is done: no more evidence-done, and the running window is no longer his to extend.
    assert done["allowed_actions"] == ["add-evidence"]
    for action in ("evidence-done", "request-extension"):
        assert_error(world.act(buyer, dispute["id"], action), 409, "action_not_allowed")

    both = world.ok(seller, dispute["id"], "evidence-done")
    assert (both["status"], both["awaiting"]) == ("awaiting_decision", "platform")
    assert both["allowed_actions"] == ["add-evidence"]
    assert world.read(buyer, dispute["id"])["allowed_actions"] == ["add-evidence"]


def test_the_seller_may_be_done_first(world: World) -> None:
    dispute, buyer, seller = gathering(world)
    done = world.ok(seller, dispute["id"], "evidence-done")
    assert done["awaiting"] == "buyer"
    assert world.ok(buyer, dispute["id"], "evidence-done")["status"] == "awaiting_decision"


def test_modifying_keeps_the_cap_the_request_was_filed_under(world: World) -> None:
    # The lines are worth 8,000 of a 10,000 order (the rest is, say, shipping). Filed on the whole
    # order, the request may ask up to 10,000; a modification must not apply a tighter cap.
    buyer, seller = world.account("buyer"), world.account("seller")
    items = [{"listing_id": "lst-a", "title": "Cup", "quantity": 1, "unit_price": 8_000}]
    order_id = world.order(buyer=buyer, seller=seller, amount=10_000, items=items)
    dispute = world.file(buyer, order_id, amount=9_000)
    modified = world.act(buyer, dispute["id"], "modify", amount=9_000, description="same ask")
    assert modified.status_code == 200, modified.json
    assert world.ok(buyer, dispute["id"], "modify", amount=10_000)["amount"] == 10_000
