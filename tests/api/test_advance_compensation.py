"""Advance compensation over HTTP (DESIGN §5a, 先行赔付): the platform pays first when the seller
cannot, recovers the money afterwards, and a recovery left overdue stops the seller selling."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from api.wiring import Services
from arbitration.clock import ManualClock
from arbitration.policy import Policy, load_policy
from tests.support.assertions import assert_error
from tests.support.fairness import (
    AGAINST_THE_SELLER,
    case_between,
    freeze,
    recovery,
    rule,
    ruled_against_seller,
)
from tests.support.penalties import case_against, run_sweep, standing
from tests.support.world import World
from webhooks.models import OutboxEvent

GRACE = timedelta(days=15)


def test_a_ruling_against_a_frozen_seller_is_paid_by_the_platform_and_recovered_later(
    world: World, clock: ManualClock
) -> None:
    seller = world.account("seller")
    freeze(world, seller)
    decided = ruled_against_seller(world, seller)

    [refund] = decided["refunds"]
    assert (refund["amount"], refund["funded_by"]) == (5_000, "platform")
    [owed] = standing(world, "platform", seller)["open_recoveries"]
    assert (owed["dispute_id"], owed["refund_id"], owed["amount"]) == (
        decided["id"],
        refund["id"],
        5_000,
    )
    assert (owed["status"], owed["overdue"], owed["currency"]) == ("open", False, "USD")
    assert recovery(world, seller, owed["id"]) == owed  # the seller sees what they owe

    clock.advance(timedelta(days=2))
    recovered = world.call("platform", "POST", f"/v1/recoveries/{owed['id']}/recovered", json={})
    assert recovered.status_code == 200, recovered.json
    assert (recovered.json["status"], recovered.json["closed_by"]) == ("recovered", world.platform)
    assert standing(world, "platform", seller)["open_recoveries"] == []
    again = world.call("platform", "POST", f"/v1/recoveries/{owed['id']}/recovered")
    assert_error(again, 409, "recovery_recovered")
    timeline = world.call(seller, "GET", f"/v1/disputes/{decided['id']}/events").json["data"]
    assert "recovery-recovered" in [event["action"] for event in timeline]


def test_an_overdue_recovery_stops_sales_until_it_is_recovered_with_nobody_else_acting(
    app: Flask, world: World, clock: ManualClock
) -> None:
    seller = world.account("seller")
    freeze(world, seller, seconds=3600)  # an hour: the recovery outlives the freeze
    ruled_against_seller(world, seller)
    [owed] = standing(world, "platform", seller)["open_recoveries"]

    clock.advance(timedelta(hours=2))
    run_sweep(app)
    assert (standing(world, "platform", seller)["can_sell"], owed["overdue"]) == (True, False)

    clock.advance(GRACE)
    now = standing(world, "platform", seller)
    # Exact from its due time on, before the sweep has run...
    assert (now["can_sell"], now["frozen"], now["open_recoveries"][0]["overdue"]) == (
        False,
        False,
        True,
    )
    # ...and the sweep marks it once.
    assert run_sweep(app).fired >= 1
    marked = recovery(world, "platform", owed["id"])
    assert marked["overdue_since"] is not None
    assert run_sweep(app).fired == 0
    events = world.call(seller, "GET", f"/v1/disputes/{owed['dispute_id']}/events").json["data"]
    assert [e["action"] for e in events].count("recovery-overdue") == 1

    recovered = world.call("platform", "POST", f"/v1/recoveries/{owed['id']}/recovered")
    assert recovered.status_code == 200, recovered.json
    after = standing(world, "platform", seller)
    assert (after["can_sell"], after["open_recoveries"]) == (True, [])


def test_a_recovery_recovered_in_time_never_stops_sales(
    app: Flask, world: World, clock: ManualClock
) -> None:
    seller = world.account("seller")
    freeze(world, seller, seconds=60)
    ruled_against_seller(world, seller)
    [owed] = standing(world, "platform", seller)["open_recoveries"]
    world.call("platform", "POST", f"/v1/recoveries/{owed['id']}/recovered")
    clock.advance(GRACE * 2)
    assert run_sweep(app).failed == []
    assert standing(world, "platform", seller)["can_sell"] is True
    assert recovery(world, "platform", owed["id"])["overdue_since"] is None


def test_a_seller_in_good_standing_pays_their_own_refunds(world: World) -> None:
    seller = world.account("seller")
    decided = ruled_against_seller(world, seller)
    assert [r["funded_by"] for r in decided["refunds"]] == ["seller"]
    assert standing(world, "platform", seller)["open_recoveries"] == []


def test_refunds_the_parties_agreed_are_the_sellers_even_when_frozen(world: World) -> None:
    buyer, seller, order_id = world.parties()
    freeze(world, seller)
    dispute = world.file(buyer, order_id)
    accepted = world.ok(seller, dispute["id"], "accept")
    assert [r["funded_by"] for r in accepted["refunds"]] == ["seller"]


def test_a_ruling_that_clears_the_seller_is_never_paid_by_the_platform(world: World) -> None:
    seller = world.account("seller")
    freeze(world, seller)
    dispute_id, _ = case_against(world, seller)
    decided = rule(
        world,
        dispute_id,
        {
            "outcome": "buyer_partial_refund",
            "refund_amount": 1_000,
            "responsibility": "logistics",
            "rationale": "The courier crushed it.",
        },
    )
    assert [r["funded_by"] for r in decided["refunds"]] == ["seller"]
    assert standing(world, "platform", seller)["open_recoveries"] == []


def test_trust_and_safety_write_a_recovery_off_saying_why(world: World, clock: ManualClock) -> None:
    seller = world.account("seller")
    freeze(world, seller, seconds=60)
    ruled_against_seller(world, seller)
    [owed] = standing(world, "platform", seller)["open_recoveries"]
    trust = world.account("trust_safety")
    path = f"/v1/recoveries/{owed['id']}/write-off"

    assert "reason" in assert_error(world.call(trust, "POST", path, json={}), 422)
    assert_error(world.call("platform", "POST", path, json={"reason": "x"}), 403)
    assert_error(world.call(seller, "POST", path, json={"reason": "x"}), 403)
    assert_error(world.call(world.account("seller"), "POST", path, json={"reason": "x"}), 404)
    assert_error(
        world.call(trust, "POST", "/v1/recoveries/rcv_nope/write-off", json={"reason": "x"}), 404
    )
    assert recovery(world, trust, owed["id"])["status"] == "open"

    clock.advance(GRACE * 2)  # even overdue: written off, the seller sells again
    assert standing(world, "platform", seller)["can_sell"] is False
    written = world.call(trust, "POST", path, json={"reason": "The seller went bankrupt."})
    assert written.status_code == 200, written.json
    assert (written.json["status"], written.json["close_reason"]) == (
        "written_off",
        "The seller went bankrupt.",
    )
    assert standing(world, "platform", seller)["can_sell"] is True
    recovered = world.call("platform", "POST", f"/v1/recoveries/{owed['id']}/recovered")
    assert_error(recovered, 409, "recovery_written_off")


def test_only_the_platform_records_a_recovery_and_strangers_do_not_see_it(world: World) -> None:
    seller = world.account("seller")
    freeze(world, seller)
    decided = ruled_against_seller(world, seller)
    [owed] = standing(world, "platform", seller)["open_recoveries"]
    path = f"/v1/recoveries/{owed['id']}/recovered"
    assert_error(world.call(seller, "POST", path), 403)
    assert_error(world.call(world.account("trust_safety"), "POST", path), 403)
    assert_error(world.call(decided["buyer_id"], "POST", path), 404)
    assert_error(world.call(decided["buyer_id"], "GET", f"/v1/recoveries/{owed['id']}"), 404)
    assert_error(world.call(world.account("seller"), "GET", f"/v1/recoveries/{owed['id']}"), 404)
    assert recovery(world, "platform", owed["id"])["status"] == "open"


class TestSmallClaimsArePaidFirst:
    """With ``advance_compensation.max_amount`` set, small rulings against any seller are."""

    @pytest.fixture
    def policy(self) -> Policy:
        defaults = load_policy()
        return replace(
            defaults,
            advance_compensation=replace(defaults.advance_compensation, max_amount=5_000),
        )

    def test_a_ruling_up_to_the_threshold_is_paid_by_the_platform(self, world: World) -> None:
        seller = world.account("seller")
        small = ruled_against_seller(world, seller)
        assert [r["funded_by"] for r in small["refunds"]] == ["platform"]
        above = case_between(world, world.account("buyer"), seller, amount=8_000)
        large = rule(world, above, AGAINST_THE_SELLER)
        assert [r["funded_by"] for r in large["refunds"]] == ["seller"]
        assert len(standing(world, "platform", seller)["open_recoveries"]) == 1


def test_an_appeal_that_clears_the_seller_writes_the_recovery_off(world: World) -> None:
    seller = world.account("seller")
    freeze(world, seller)
    decided = ruled_against_seller(world, seller)
    [owed] = standing(world, "platform", seller)["open_recoveries"]
    world.ok(seller, decided["id"], "appeal", reason="The buyer broke it.")
    senior = world.account("senior_arbitrator")
    world.ok(senior, decided["id"], "claim")
    world.ok(
        senior,
        decided["id"],
        "appeal-decision",
        result="overturn",
        rationale="The video shows the buyer dropping it.",
        decision={
            "outcome": "seller_favored",
            "responsibility": "buyer",
            "rationale": "Damaged by the buyer.",
        },
    )
    closed = recovery(world, "platform", owed["id"])
    assert (closed["status"], closed["closed_by"]) == ("written_off", "system")
    assert standing(world, "platform", seller)["open_recoveries"] == []


def test_a_compensation_ruled_against_a_frozen_seller_is_paid_first_and_recovered(
    world: World,
) -> None:
    seller = world.account("seller")
    freeze(world, seller)
    dispute_id, _ = case_against(world, seller)
    ruling = {**AGAINST_THE_SELLER, "compensation": {"kind": "coupon", "amount": 800}}
    decided = rule(world, dispute_id, ruling)

    [compensation] = decided["compensations"]
    assert (compensation["amount"], compensation["funded_by"]) == (800, "platform")
    owed = {
        (r["refund_id"], r["compensation_id"], r["amount"])
        for r in standing(world, "platform", seller)["open_recoveries"]
    }
    assert owed == {
        (decided["refunds"][0]["id"], None, 5_000),
        (None, compensation["id"], 800),
    }


def test_a_compensation_the_parties_agreed_is_the_sellers_to_fund(world: World) -> None:
    seller = world.account("seller")
    freeze(world, seller)
    buyer = world.account("buyer")
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller))
    world.ok(seller, dispute["id"], "offer", compensation={"kind": "store_credit", "amount": 900})
    settled = world.ok(buyer, dispute["id"], "accept-offer")
    assert [c["funded_by"] for c in settled["compensations"]] == ["seller"]
    assert standing(world, "platform", seller)["open_recoveries"] == []


def test_what_the_platform_paid_first_and_recovered_reaches_the_outbox(
    world: World, services: Services
) -> None:
    seller = world.account("seller")
    freeze(world, seller)
    dispute_id, _ = case_against(world, seller)
    ruling = {**AGAINST_THE_SELLER, "compensation": {"kind": "coupon", "amount": 800}}
    rule(world, dispute_id, ruling)
    [owed, _] = standing(world, "platform", seller)["open_recoveries"]
    world.call("platform", "POST", f"/v1/recoveries/{owed['id']}/recovered", json={})

    with services.database.unit_of_work(read_only=True) as session:
        sent = [(e.type, e.data) for e in session.scalars(select(OutboxEvent))]
    types = [event_type for event_type, _ in sent]
    assert types.count("recovery.opened") == 2 and types.count("recovery.closed") == 1
    [compensation] = [data for event_type, data in sent if event_type == "compensation.instructed"]
    assert (compensation["funded_by"], compensation["amount"]) == ("platform", 800)
    [refund] = [data for event_type, data in sent if event_type == "refund.instructed"]
    assert refund["funded_by"] == "platform"
