"""The buyer ledger over HTTP (DESIGN §5a): rulings that find the buyer at fault add points; at
the threshold the buyer is under review, and a silent seller's timer sends their next case to the
platform instead of refunding, until trust & safety lifts the flag. Sellers never see it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from arbitration.clock import ManualClock
from tests.support.assertions import assert_error
from tests.support.fairness import (
    AGAINST_THE_BUYER,
    buyer_standing,
    case_between,
    lose_claims,
    rule,
)
from tests.support.penalties import run_sweep
from tests.support.world import World

SELLER_SILENCE = timedelta(days=5, seconds=1)  # the order is delivered: the shipped window


def test_three_unjustified_claims_put_the_buyer_under_review(
    world: World, clock: ManualClock
) -> None:
    buyer = world.account("buyer")
    lose_claims(world, buyer, 2)
    two = buyer_standing(world, "platform", buyer)
    assert (two["points"], two["flags"], two["under_review"], two["since"]) == (4, [], False, None)

    clock.advance(timedelta(hours=1))
    lose_claims(world, buyer, 1)
    three = buyer_standing(world, "platform", buyer)
    assert (three["points"], three["flags"], three["review_status"]) == (
        6,
        ["under_review"],
        "under_review",
    )
    assert datetime.fromisoformat(three["since"]) == clock.now()
    assert [v["kind"] for v in three["violations"]] == ["unjustified_claim"] * 3


def test_an_under_review_buyers_case_goes_to_the_platform_when_the_seller_is_silent(
    app: Flask, world: World, clock: ManualClock
) -> None:
    buyer = world.account("buyer")
    lose_claims(world, buyer, 3)
    seller = world.account("seller")
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller))

    clock.advance(SELLER_SILENCE)
    run_sweep(app)
    after = world.read(seller, dispute["id"])
    assert (after["status"], after["awaiting"], after["outcome"]) == (
        "awaiting_decision",
        "platform",
        None,
    )
    assert after["refunds"] == [] and after["refund"] is None
    assert dispute["id"] in [
        d["id"] for d in world.call(world.account("arbitrator"), "GET", "/v1/queue").json["data"]
    ]

    # The seller reads only that the platform is reviewing the request.
    events = world.call(seller, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"]
    referred = events[-1]
    assert (referred["action"], referred["actor"], referred["payload"]) == (
        "refer-to-platform",
        "system",
        {"message": "the platform is reviewing this request"},
    )
    body = world.call(seller, "GET", f"/v1/disputes/{dispute['id']}").get_data(as_text=True)
    assert "under_review" not in body and "unjustified" not in body
    assert_error(world.call(seller, "GET", f"/v1/buyers/{buyer}/standing"), 404)


def test_lifting_the_flag_restores_the_automatic_refund(
    app: Flask, world: World, clock: ManualClock
) -> None:
    buyer = world.account("buyer")
    lose_claims(world, buyer, 3)
    trust = world.account("trust_safety")
    path = f"/v1/buyers/{buyer}/review/lift"
    assert "note" in assert_error(world.call(trust, "POST", path, json={}), 422)
    assert_error(world.call("platform", "POST", path, json={"note": "x"}), 403)
    assert_error(world.call(buyer, "POST", path, json={"note": "x"}), 403)
    assert_error(world.call(world.account("seller"), "POST", path, json={"note": "x"}), 404)

    lifted = world.call(trust, "POST", path, json={"note": "Three sellers, three honest mistakes."})
    assert lifted.status_code == 200, lifted.json
    assert (lifted.json["flags"], lifted.json["points"], lifted.json["reviewed_by"]) == (
        [],
        0,
        trust,
    )
    assert_error(world.call(trust, "POST", path, json={"note": "again"}), 409, "buyer_clear")

    seller = world.account("seller")
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller))
    clock.advance(SELLER_SILENCE)
    run_sweep(app)
    after = world.read(buyer, dispute["id"])
    assert (after["status"], after["outcome"], after["refund_amount"]) == (
        "closed",
        "refunded",
        5_000,
    )


def test_a_lifted_buyer_starts_counting_afresh(world: World, clock: ManualClock) -> None:
    buyer = world.account("buyer")
    lose_claims(world, buyer, 3)
    trust = world.account("trust_safety")
    world.call(trust, "POST", f"/v1/buyers/{buyer}/review/lift", json={"note": "Fine."})
    clock.advance(timedelta(minutes=1))
    lose_claims(world, buyer, 2)
    assert buyer_standing(world, trust, buyer)["under_review"] is False
    lose_claims(world, buyer, 1)
    assert buyer_standing(world, trust, buyer)["under_review"] is True


def test_trust_and_safety_confirm_the_flag_and_it_stays(
    app: Flask, world: World, clock: ManualClock
) -> None:
    buyer = world.account("buyer")
    trust = world.account("trust_safety")
    path = f"/v1/buyers/{buyer}/review/confirm"
    assert_error(world.call(trust, "POST", path, json={"note": "x"}), 409, "buyer_clear")
    lose_claims(world, buyer, 3)
    confirmed = world.call(trust, "POST", path, json={"note": "A pattern across sellers."})
    assert confirmed.status_code == 200, confirmed.json
    assert (confirmed.json["review_status"], confirmed.json["flags"]) == (
        "confirmed",
        ["under_review"],
    )
    assert_error(world.call(trust, "POST", path, json={"note": "x"}), 409, "buyer_confirmed")

    seller = world.account("seller")
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller, status="paid"))
    clock.advance(timedelta(hours=24, seconds=1))
    run_sweep(app)
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_decision"


def test_a_silent_seller_on_a_returned_item_does_not_refund_a_buyer_under_review(
    app: Flask, world: World, clock: ManualClock
) -> None:
    buyer = world.account("buyer")
    lose_claims(world, buyer, 3)
    seller = world.account("seller")
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller), remedy="return_and_refund")
    world.ok(seller, dispute["id"], "accept")
    world.ok(buyer, dispute["id"], "ship-return", carrier="SF Express", tracking_number="SF1")
    clock.advance(timedelta(days=10, seconds=1))
    run_sweep(app)
    after = world.read(seller, dispute["id"])
    assert (after["status"], after["refunds"]) == ("awaiting_decision", [])


def test_a_seller_may_still_accept_a_buyer_under_review(world: World) -> None:
    buyer = world.account("buyer")
    lose_claims(world, buyer, 3)
    seller = world.account("seller")
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller))
    accepted = world.ok(seller, dispute["id"], "accept")
    assert (accepted["status"], accepted["outcome"]) == ("closed", "refunded")


def test_a_buyer_violation_needs_the_buyer_at_fault_and_a_known_kind(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    dispute_id = case_between(world, buyer, seller)
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute_id, "claim")
    at_fault = world.act(
        arbitrator, dispute_id, "decide", **{**AGAINST_THE_BUYER, "responsibility": "seller"}
    )
    assert "buyer_violation" in assert_error(at_fault, 422)
    unknown = world.act(
        arbitrator, dispute_id, "decide", **{**AGAINST_THE_BUYER, "buyer_violation": "rudeness"}
    )
    assert "buyer_violation" in assert_error(unknown, 422)
    assert buyer_standing(world, "platform", buyer)["points"] == 0


def test_the_seller_never_reads_the_buyer_violation_of_a_ruling(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    dispute_id = case_between(world, buyer, seller)
    decided = rule(world, dispute_id, AGAINST_THE_BUYER)
    assert decided["decision"]["buyer_violation"] == "unjustified_claim"  # the arbitrator
    assert world.read(buyer, dispute_id)["decision"]["buyer_violation"] == "unjustified_claim"
    assert world.read(seller, dispute_id)["decision"]["buyer_violation"] is None
    events = world.call(seller, "GET", f"/v1/disputes/{dispute_id}/events").json["data"]
    assert "unjustified_claim" not in str(events)


def test_an_overturned_ruling_takes_the_buyer_violation_back(world: World) -> None:
    buyer = world.account("buyer")
    lose_claims(world, buyer, 2)
    seller = world.account("seller")
    dispute_id = case_between(world, buyer, seller)
    rule(world, dispute_id, AGAINST_THE_BUYER)
    assert buyer_standing(world, "platform", buyer)["under_review"] is True
    world.ok(buyer, dispute_id, "appeal", reason="The item was broken.")
    senior = world.account("senior_arbitrator")
    world.ok(senior, dispute_id, "claim")
    world.ok(
        senior,
        dispute_id,
        "appeal-decision",
        result="overturn",
        rationale="The photos show the crack.",
        decision={
            "outcome": "buyer_full_refund",
            "responsibility": "seller",
            "rationale": "Broken on arrival.",
        },
    )
    after = buyer_standing(world, "platform", buyer)
    assert (after["points"], after["under_review"]) == (4, False)
    assert sorted(v["status"] for v in after["violations"]) == ["active", "active", "revoked"]


def test_a_buyer_standing_is_for_staff_the_platform_and_the_buyer(world: World) -> None:
    buyer = world.account("buyer")
    for who in ("platform", "trust_safety", "arbitrator", "senior_arbitrator", "admin"):
        assert (
            buyer_standing(world, world.account(who) if who != "platform" else "platform", buyer)[
                "buyer_id"
            ]
            == buyer
        )
    assert buyer_standing(world, buyer, buyer)["points"] == 0
    assert_error(world.call(world.account("buyer"), "GET", f"/v1/buyers/{buyer}/standing"), 404)
    assert_error(world.call("platform", "GET", "/v1/buyers/nobody/standing"), 404)
    seller = world.account("seller")
    assert_error(world.call("platform", "GET", f"/v1/buyers/{seller}/standing"), 404)


def test_a_seller_who_lets_a_reship_lapse_for_a_buyer_under_review_goes_to_the_platform(
    app: Flask, world: World, clock: ManualClock
) -> None:
    buyer = world.account("buyer")
    lose_claims(world, buyer, 3)
    seller = world.account("seller")
    order = world.order(buyer=buyer, seller=seller)
    dispute = world.file(buyer, order, remedy="reship", reason="not_received")
    accepted = world.ok(seller, dispute["id"], "accept")
    due = datetime.fromisoformat(accepted["deadline"]["due_at"])
    clock.advance(due - clock.now() + timedelta(seconds=1))
    run_sweep(app)
    after = world.read(seller, dispute["id"])
    assert (after["status"], after["refunds"]) == ("awaiting_decision", [])
    last = world.call(seller, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"][-1]
    assert (last["action"], last["actor"]) == ("refer-to-platform", "system")
