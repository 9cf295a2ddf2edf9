"""A seller's standing and violations over HTTP (DESIGN §5): who may read them, what each penalty
switches off, and the history a page at a time."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from arbitration.clock import ManualClock
from tests.support.assertions import assert_error
from tests.support.penalties import (
    assert_chains_verify,
    penalties,
    review,
    rule_against,
    run_sweep,
    standing,
)
from tests.support.world import World


def test_a_seller_nobody_penalised_may_do_everything(world: World) -> None:
    seller = world.account("seller")
    assert standing(world, "platform", seller) == {
        "seller_id": seller,
        "can_list": True,
        "can_sell": True,
        "visible_in_search": True,
        "frozen": False,
        "banned": False,
        "points": {"general": 0, "severe": 0},
        "active_penalties": [],
        "pending_review": [],
        "open_recoveries": [],
    }


def test_standing_is_seen_by_the_seller_the_platform_and_staff_and_no_one_else(
    world: World,
) -> None:
    seller = world.account("seller")
    rule_against(world, seller, "not_as_described")
    path = f"/v1/sellers/{seller}/standing"
    on_behalf = {"On-Behalf-Of": seller}
    for who, headers in (
        (seller, {}),
        ("platform", {}),
        ("platform", on_behalf),
        (world.account("trust_safety"), {}),
        (world.account("admin"), {}),
    ):
        response = world.call(who, "GET", path, headers=headers)
        assert response.status_code == 200, (who, response.json)
        assert response.json["points"]["general"] == 3
    other_seller = world.account("seller")
    for who, headers in (
        (other_seller, {}),
        (world.account("buyer"), {}),
        (world.account("arbitrator"), {}),
        ("platform", {"On-Behalf-Of": other_seller}),
    ):
        assert_error(world.call(who, "GET", path, headers=headers), 404, "not_found")
        violations = world.call(who, "GET", f"/v1/sellers/{seller}/violations", headers=headers)
        assert_error(violations, 404)


def test_a_restriction_lifts_when_it_ends_with_nobody_acting(
    app: Flask, world: World, clock: ManualClock
) -> None:
    seller = world.account("seller")
    rule_against(world, seller, "counterfeit")
    restricted = standing(world, seller, seller)
    assert (restricted["can_list"], restricted["visible_in_search"]) == (False, False)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert standing(world, seller, seller)["can_list"] is False
    clock.advance(timedelta(seconds=1))
    lifted = standing(world, seller, seller)
    assert (lifted["can_list"], lifted["visible_in_search"]) == (True, True)
    assert lifted["active_penalties"] == []
    assert lifted["points"]["severe"] == 12  # the points stay for the year
    run_sweep(app)
    trust = world.account("trust_safety")
    assert {p["status"] for p in penalties(world, trust, seller_id=seller)} == {"expired"}
    assert standing(world, seller, seller)["can_list"] is True
    assert_chains_verify(app)


def test_an_approved_ban_switches_everything_off(world: World) -> None:
    seller = world.account("seller")
    trust = world.account("trust_safety")
    for _ in range(4):  # 12, 24, 36, 48 severe points
        rule_against(world, seller, "counterfeit")
    pending = standing(world, "platform", seller)["pending_review"]
    assert sorted(p["kind"] for p in pending) == [
        "account_freeze",
        "account_freeze",
        "permanent_ban",
    ]
    ban = next(p for p in pending if p["kind"] == "permanent_ban")
    shorten = world.call(
        trust, "POST", f"/v1/penalties/{ban['id']}/approve", json={"duration_seconds": 60}
    )
    assert "duration_seconds" in assert_error(shorten, 422)
    approved = review(world, trust, ban["id"], "approve")
    assert (approved["ends_at"], approved["explanation"]["restricts"]) == (None, "the account")
    now = standing(world, "platform", seller)
    assert now["banned"] and now["frozen"]
    assert not (now["can_list"] or now["can_sell"] or now["visible_in_search"])


def test_violations_are_paged_newest_first(world: World, clock: ManualClock) -> None:
    seller = world.account("seller")
    disputes = []
    for _ in range(5):
        disputes.append(rule_against(world, seller, "unjustified_rejection")[0])
        clock.advance(timedelta(minutes=1))
    path = f"/v1/sellers/{seller}/violations"
    first = world.call(seller, "GET", f"{path}?limit=2").json
    seen = [v["dispute_id"] for v in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        page = world.call("platform", "GET", f"{path}?limit=2&cursor={cursor}").json
        seen += [v["dispute_id"] for v in page["data"]]
        cursor = page["next_cursor"]
    assert seen == disputes[::-1]
    violation = first["data"][0]
    assert (violation["kind"], violation["ledger"], violation["points"]) == (
        "unjustified_rejection",
        "general",
        2,
    )
    assert (violation["source"], violation["status"], violation["rules_version"]) == (
        "ruling",
        "active",
        "2026.1",
    )
    assert_error(world.call(seller, "GET", f"{path}?cursor=bm9wZQ=="), 422)
    assert_error(world.call(seller, "GET", f"{path}?limit=0"), 422)
