"""The seller's answer to a request over HTTP (DESIGN §1): accept, reject, offer, accept-offer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arbitration.clock import ManualClock
from tests.support.assertions import assert_error, state
from tests.support.world import World


def due(dispute: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(dispute["deadline"]["due_at"])


def refunded(world: World, order_id: str) -> int:
    return world.call("platform", "GET", f"/v1/orders/{order_id}").json["refunded_amount"]


# accept -------------------------------------------------------------------------------------------


def test_accepting_a_refund_only_request_closes_it_refunded(world: World) -> None:
    dispute, _buyer, seller = world.dispute(amount=8_000)
    closed = world.ok(seller, dispute["id"], "accept")
    assert (closed["status"], closed["outcome"]) == ("closed", "refunded")
    assert closed["refund_amount"] == 5_000
    assert closed["awaiting"] is None
    assert closed["deadline"] is None
    assert closed["allowed_actions"] == []
    assert closed["closed_at"] is not None
    assert closed["version"] == 2
    assert refunded(world, dispute["order_id"]) == 5_000


def test_accepting_a_return_request_waits_for_the_goods(world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = world.dispute(remedy="return_and_refund")
    accepted = world.ok(seller, dispute["id"], "accept")
    assert accepted["status"] == "awaiting_return"
    assert accepted["awaiting"] == "buyer"
    assert accepted["outcome"] is None
    assert accepted["refund_amount"] is None
    assert accepted["deadline"]["action"] == "expire-return"
    assert due(accepted) == clock.now() + timedelta(days=7)
    assert sorted(world.read(buyer, dispute["id"])["allowed_actions"]) == [
        "add-evidence",
        "request-extension",
        "ship-return",
        "withdraw",
    ]
    assert refunded(world, dispute["order_id"]) == 0


# reject -------------------------------------------------------------------------------------------


def test_seller_silence_is_not_needed_to_reject(world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = world.dispute()
    clock.advance(timedelta(hours=1))
    rejected = world.ok(seller, dispute["id"], "reject", reason="the item is as described")
    assert rejected["status"] == "seller_rejected"
    assert rejected["awaiting"] == "buyer"
    assert rejected["deadline"]["action"] == "abandon"
    assert rejected["deadline"]["party"] == "buyer"
    assert due(rejected) == clock.now() + timedelta(days=5)
    assert rejected["allowed_actions"] == ["add-evidence"]
    assert sorted(world.read(buyer, dispute["id"])["allowed_actions"]) == [
        "add-evidence",
        "escalate",
        "modify",
        "request-extension",
        "withdraw",
    ]


def test_a_rejection_needs_a_reason(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    before = state(world, seller, dispute["id"])
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = world.act(seller, dispute["id"], "reject", **body)
        assert "reason" in assert_error(response, 422, "validation_failed")
    no_body = world.call(seller, "POST", f"/v1/disputes/{dispute['id']}/reject")
    assert "reason" in assert_error(no_body, 422, "validation_failed")
    assert state(world, seller, dispute["id"]) == before


def test_a_rejection_lapses_the_pending_offer(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "offer", amount=2_000)
    rejected = world.ok(seller, dispute["id"], "reject", reason="no after all")
    assert rejected["pending_offer"] is None
    back = world.ok(buyer, dispute["id"], "modify", amount=4_000)
    assert back["status"] == "awaiting_seller"
    assert back["pending_offer"] is None
    assert_error(world.act(buyer, dispute["id"], "accept-offer"), 409, "action_not_allowed")


# offer and accept-offer ---------------------------------------------------------------------------


def test_an_offer_is_shown_to_both_and_keeps_the_seller_deciding(
    world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute()
    clock.advance(timedelta(hours=2))
    offered = world.ok(seller, dispute["id"], "offer", amount=3_000, note="keep it, 60%")
    assert offered["status"] == "awaiting_seller"
    assert offered["pending_offer"]["amount"] == 3_000
    assert offered["pending_offer"]["note"] == "keep it, 60%"
    assert datetime.fromisoformat(offered["pending_offer"]["created_at"]) == clock.now()
    # A pending offer does not stop the seller's clock (DESIGN §1).
    assert offered["deadline"] == dispute["deadline"]
    assert offered["allowed_actions"] == [
        "accept",
        "reject",
        "offer",
        "request-extension",
        "add-evidence",
    ]
    as_buyer = world.read(buyer, dispute["id"])
    assert as_buyer["pending_offer"] == offered["pending_offer"]
    assert as_buyer["allowed_actions"] == ["accept-offer", "modify", "withdraw", "add-evidence"]


def test_an_offer_must_be_less_than_the_request(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    before = state(world, seller, dispute["id"])
    for amount in (5_000, 5_001, 0, -5):
        response = world.act(seller, dispute["id"], "offer", amount=amount)
        assert "amount" in assert_error(response, 422, "validation_failed")
    missing = world.act(seller, dispute["id"], "offer")
    assert "amount" in assert_error(missing, 422, "validation_failed")
    assert state(world, seller, dispute["id"]) == before


def test_a_newer_offer_replaces_the_pending_one(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    first = world.ok(seller, dispute["id"], "offer", amount=2_000)["pending_offer"]
    second = world.ok(seller, dispute["id"], "offer", amount=3_500)["pending_offer"]
    assert second["id"] != first["id"]
    assert world.read(buyer, dispute["id"])["pending_offer"]["amount"] == 3_500

    settled = world.ok(buyer, dispute["id"], "accept-offer")
    assert (settled["status"], settled["outcome"]) == ("closed", "settled")
    assert settled["refund_amount"] == 3_500
    assert settled["pending_offer"] is None
    assert refunded(world, dispute["order_id"]) == 3_500


def test_accepting_an_offer_settles_for_the_offered_amount(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "offer", amount=4_000)
    settled = world.ok(buyer, dispute["id"], "accept-offer")
    assert (settled["status"], settled["outcome"], settled["refund_amount"]) == (
        "closed",
        "settled",
        4_000,
    )
    assert settled["deadline"] is None
    assert world.read(seller, dispute["id"])["allowed_actions"] == []


def test_accepting_an_offer_that_was_never_made_is_refused(world: World) -> None:
    dispute, buyer, _seller = world.dispute()
    before = state(world, buyer, dispute["id"])
    details = assert_error(
        world.act(buyer, dispute["id"], "accept-offer"), 409, "action_not_allowed"
    )
    assert details["status"] == "awaiting_seller"
    assert details["allowed_actions"] == ["modify", "withdraw", "add-evidence"]
    assert state(world, buyer, dispute["id"]) == before


def test_the_seller_accepting_while_an_offer_is_pending_refunds_in_full(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "offer", amount=1_000)
    closed = world.ok(seller, dispute["id"], "accept")
    assert (closed["outcome"], closed["refund_amount"]) == ("refunded", 5_000)
    assert_error(world.act(buyer, dispute["id"], "accept-offer"), 409, "action_not_allowed")
    assert refunded(world, dispute["order_id"]) == 5_000


def test_a_modified_request_lapses_the_pending_offer(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "offer", amount=1_000)
    modified = world.ok(buyer, dispute["id"], "modify", amount=4_500)
    assert modified["pending_offer"] is None
    assert modified["allowed_actions"] == ["modify", "withdraw", "add-evidence"]


# Refunds never exceed the order -------------------------------------------------------------------


def test_refunds_across_several_disputes_never_exceed_the_order(world: World) -> None:
    buyer, seller, order_id = world.parties(amount=10_000)
    first = world.file(buyer, order_id, amount=4_000)
    world.ok(seller, first["id"], "accept")
    second = world.file(buyer, order_id, amount=6_000)
    world.ok(seller, second["id"], "offer", amount=5_000)
    world.ok(buyer, second["id"], "accept-offer")
    assert refunded(world, order_id) == 9_000

    third = world.file(buyer, order_id, amount=1_000)
    world.ok(seller, third["id"], "accept")
    assert refunded(world, order_id) == 10_000

    response = world.call(
        buyer,
        "POST",
        "/v1/disputes",
        json={"order_id": order_id, "reason": "damaged", "remedy": "refund_only", "amount": 1},
    )
    assert "amount" in assert_error(response, 422, "validation_failed")
    assert refunded(world, order_id) == 10_000


def test_a_withdrawn_request_refunds_nothing(world: World) -> None:
    dispute, buyer, _seller = world.dispute()
    closed = world.ok(buyer, dispute["id"], "withdraw")
    assert closed["refund_amount"] is None
    assert refunded(world, dispute["order_id"]) == 0
