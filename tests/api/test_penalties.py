"""Seller penalties over HTTP (DESIGN §5): the ladder, trust & safety review, appeals, and how each
penalty explains itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from arbitration.clock import ManualClock
from tests.support.assertions import assert_error
from tests.support.penalties import (
    assert_chains_verify,
    case_against,
    kinds,
    penalties,
    review,
    rule_against,
    run_sweep,
    standing,
)
from tests.support.world import World


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def seller_with(world: World, violation: str, rulings: int) -> tuple[str, list[str]]:
    """A fresh seller ruled against ``rulings`` times for ``violation``: (seller, dispute ids)."""
    seller = world.account("seller")
    return seller, [rule_against(world, seller, violation)[0] for _ in range(rulings)]


# The general ledger -----------------------------------------------------------------------------


def test_four_not_as_described_rulings_bring_a_public_warning_and_a_week_without_new_listings(
    app: Flask, world: World, clock: ManualClock
) -> None:
    seller, _ = seller_with(world, "not_as_described", 3)
    before = standing(world, "platform", seller)
    assert before["points"] == {"general": 9, "severe": 0}
    assert (before["can_list"], before["active_penalties"]) == (True, [])

    fourth, _ = rule_against(world, seller, "not_as_described")
    now = standing(world, "platform", seller)
    assert now["points"] == {"general": 12, "severe": 0}
    assert (now["can_list"], now["can_sell"], now["visible_in_search"]) == (False, True, True)
    assert (now["frozen"], now["banned"]) == (False, False)
    assert kinds(now["active_penalties"]) == ["listing_restriction", "public_warning"]
    restriction = next(p for p in now["active_penalties"] if p["kind"] == "listing_restriction")
    assert at(restriction["ends_at"]) == clock.now() + timedelta(days=7)
    assert restriction["in_force"] is True

    # The whole week passes: the marketplace may let the seller list again, with nobody acting.
    clock.advance(timedelta(days=7))
    later = standing(world, "platform", seller)
    assert later["can_list"] is True
    assert kinds(later["active_penalties"]) == ["public_warning"]
    trust = world.account("trust_safety")
    assert review_status(world, trust, restriction["id"]) == "active"  # the sweep has not run

    report = run_sweep(app)
    assert report.handled >= 1
    assert review_status(world, trust, restriction["id"]) == "expired"
    assert standing(world, seller, seller)["can_list"] is True
    assert fourth in [v["dispute_id"] for v in restriction["explanation"]["violations"]]
    assert_chains_verify(app)


def review_status(world: World, who: str, penalty_id: str) -> str:
    response = world.call(who, "GET", f"/v1/penalties/{penalty_id}")
    assert response.status_code == 200, response.json
    return response.json["status"]


def test_a_penalty_explains_itself_to_the_seller(world: World, clock: ManualClock) -> None:
    seller, disputes = seller_with(world, "not_as_described", 4)
    restriction = next(
        p
        for p in standing(world, seller, seller)["active_penalties"]
        if p["kind"] != "public_warning"
    )
    explanation = restriction["explanation"]
    assert sorted(v["dispute_id"] for v in explanation["violations"]) == sorted(disputes)
    assert {v["kind"] for v in explanation["violations"]} == {"not_as_described"}
    assert explanation["threshold"] == {"ledger": "general", "points": 12, "points_at_crossing": 12}
    assert explanation["restricts"] == "new listings"
    assert at(explanation["until"]) == clock.now() + timedelta(days=7)
    appeal = explanation["appeal"]
    assert appeal["available"] is True and appeal["status"] is None
    assert (appeal["method"], appeal["path"]) == (
        "POST",
        f"/v1/penalties/{restriction['id']}/appeal",
    )
    assert at(appeal["before"]) == clock.now() + timedelta(days=7)
    summary = explanation["summary"]
    for words in ("new listings", "12-point threshold", "not_as_described", appeal["path"]):
        assert words in summary, summary
    assert restriction["rules_version"] == "2026.1"


def test_thirty_general_points_cross_twelve_and_twenty_four_each_once(world: World) -> None:
    seller, _ = seller_with(world, "not_as_described", 10)
    trust = world.account("trust_safety")
    found = penalties(world, trust, seller_id=seller)
    assert sorted((p["threshold"], p["kind"]) for p in found) == [
        (12, "listing_restriction"),
        (12, "public_warning"),
        (24, "listing_restriction"),
    ]
    assert standing(world, trust, seller)["points"]["general"] == 30


# The severe ledger and review -------------------------------------------------------------------


def test_a_counterfeit_ruling_restricts_listing_and_hides_the_seller_from_search(
    world: World,
) -> None:
    seller, _ = seller_with(world, "counterfeit", 1)
    now = standing(world, "platform", seller)
    assert now["points"] == {"general": 0, "severe": 12}
    assert (now["can_list"], now["visible_in_search"], now["can_sell"]) == (False, False, True)
    assert kinds(now["active_penalties"]) == ["listing_restriction", "search_shielding"]
    shielding = next(p for p in now["active_penalties"] if p["kind"] == "search_shielding")
    assert shielding["explanation"]["restricts"] == "appearing in search"


def test_a_freeze_waits_for_trust_and_safety_before_it_applies(
    world: World, clock: ManualClock
) -> None:
    seller, _ = seller_with(world, "counterfeit", 2)
    now = standing(world, "platform", seller)
    assert now["points"]["severe"] == 24
    assert (now["frozen"], now["can_sell"]) == (False, True)
    [freeze] = now["pending_review"]
    assert (freeze["kind"], freeze["status"], freeze["starts_at"]) == (
        "account_freeze",
        "pending_review",
        None,
    )
    assert "awaits review" in freeze["explanation"]["summary"]

    trust = world.account("trust_safety")
    assert [p["id"] for p in penalties(world, trust, status="pending_review")] == [freeze["id"]]
    assert_error(world.call(seller, "POST", f"/v1/penalties/{freeze['id']}/approve"), 403)
    clock.advance(timedelta(hours=1))
    approved = review(world, trust, freeze["id"], "approve")
    assert (approved["status"], approved["reviewed_by"]) == ("active", trust)
    assert at(approved["ends_at"]) == clock.now() + timedelta(days=14)
    frozen = standing(world, "platform", seller)
    assert (frozen["frozen"], frozen["can_sell"], frozen["can_list"]) == (True, False, False)
    assert frozen["visible_in_search"] is False and frozen["pending_review"] == []
    again = world.call(trust, "POST", f"/v1/penalties/{freeze['id']}/approve", json={})
    assert_error(again, 409, "penalty_active")


def test_trust_and_safety_may_shorten_a_freeze_but_never_lengthen_it(
    world: World, clock: ManualClock
) -> None:
    seller, _ = seller_with(world, "counterfeit", 2)
    [freeze] = standing(world, "platform", seller)["pending_review"]
    trust = world.account("trust_safety")
    path = f"/v1/penalties/{freeze['id']}/approve"
    longer = world.call(trust, "POST", path, json={"duration_seconds": 15 * 86_400})
    assert "duration_seconds" in assert_error(longer, 422)
    assert review_status(world, trust, freeze["id"]) == "pending_review"
    shortened = review(world, trust, freeze["id"], "approve", duration_seconds=3 * 86_400)
    assert at(shortened["ends_at"]) == clock.now() + timedelta(days=3)
    assert shortened["duration_seconds"] == 3 * 86_400
    clock.advance(timedelta(days=3))
    assert standing(world, "platform", seller)["frozen"] is False


def test_a_rejected_freeze_never_applies(app: Flask, world: World) -> None:
    seller, _ = seller_with(world, "counterfeit", 2)
    [freeze] = standing(world, "platform", seller)["pending_review"]
    trust = world.account("trust_safety")
    no_note = world.call(trust, "POST", f"/v1/penalties/{freeze['id']}/reject", json={})
    assert "note" in assert_error(no_note, 422)
    rejected = review(world, trust, freeze["id"], "reject", note="The detection was wrong.")
    assert (rejected["status"], rejected["review_note"]) == ("rejected", "The detection was wrong.")
    now = standing(world, "platform", seller)
    assert (now["frozen"], now["pending_review"]) == (False, [])
    approve = world.call(trust, "POST", f"/v1/penalties/{freeze['id']}/approve")
    assert_error(approve, 409, "penalty_rejected")
    assert_chains_verify(app)


def test_a_granted_appeal_of_a_freeze_rejected_meanwhile_leaves_it_rejected(
    app: Flask, world: World
) -> None:
    """The seller appeals a freeze waiting for review, trust & safety rejects the freeze, then
    grants the appeal: the appeal is granted, and the freeze, which never applied, stays rejected
    (there is nothing to revoke). Found by the lifecycle property test."""
    seller, _ = seller_with(world, "counterfeit", 2)
    [freeze] = standing(world, "platform", seller)["pending_review"]
    appealed = world.call(
        seller, "POST", f"/v1/penalties/{freeze['id']}/appeal", json={"reason": "Not mine."}
    )
    assert appealed.status_code == 200, appealed.json
    trust = world.account("trust_safety")
    review(world, trust, freeze["id"], "reject", note="The detection was wrong.")
    granted = review(
        world, trust, freeze["id"], "appeal-decision", result="grant", rationale="Agreed."
    )
    assert (granted["status"], granted["appeal_status"]) == ("rejected", "granted")
    assert standing(world, "platform", seller)["frozen"] is False
    assert_chains_verify(app)


def test_trust_and_safety_revoke_a_penalty_with_a_reason(world: World) -> None:
    seller, _ = seller_with(world, "counterfeit", 1)
    shielding = next(
        p
        for p in standing(world, seller, seller)["active_penalties"]
        if p["kind"] == "search_shielding"
    )
    trust = world.account("trust_safety")
    path = f"/v1/penalties/{shielding['id']}/revoke"
    assert "reason" in assert_error(world.call(trust, "POST", path, json={}), 422)
    assert_error(world.call(seller, "POST", path, json={"reason": "no"}), 403)
    assert_error(world.call("platform", "POST", path, json={"reason": "no"}), 403)
    revoked = review(world, trust, shielding["id"], "revoke", reason="Mistaken identity.")
    assert (revoked["status"], revoked["revoked_reason"]) == ("revoked", "Mistaken identity.")
    assert revoked["in_force"] is False
    assert standing(world, "platform", seller)["visible_in_search"] is True
    assert_error(world.call(trust, "POST", path, json={"reason": "again"}), 409, "penalty_revoked")
    assert_error(
        world.call(trust, "POST", "/v1/penalties/pen_nope/revoke", json={"reason": "x"}), 404
    )


def test_trust_and_safety_confirm_a_severe_detection(world: World) -> None:
    seller = world.account("seller")
    trust = world.account("trust_safety")
    path = f"/v1/sellers/{seller}/violations"
    body = {"kind": "unsafe_product", "note": "The auto-detector flagged a recalled charger."}
    assert_error(world.call("platform", "POST", path, json=body), 403)
    assert_error(world.call(seller, "POST", path, json=body), 403)
    unknown = world.call(trust, "POST", path, json={**body, "kind": "being_rude"})
    assert "kind" in assert_error(unknown, 422)
    other = world.call(trust, "POST", path, json={**body, "dispute_id": "dsp_nope"})
    assert "dispute_id" in assert_error(other, 422)
    assert_error(world.call(trust, "POST", "/v1/sellers/nobody/violations", json=body), 404)
    assert standing(world, trust, seller)["points"] == {"general": 0, "severe": 0}

    confirmed = world.call(trust, "POST", path, json=body)
    assert confirmed.status_code == 201, confirmed.json
    assert (confirmed.json["source"], confirmed.json["recorded_by"]) == ("trust_safety", trust)
    now = standing(world, trust, seller)
    assert now["points"]["severe"] == 12
    assert (now["can_list"], now["visible_in_search"]) == (False, False)


# Overturns, settlements and withdrawals ----------------------------------------------------------


def test_an_overturned_ruling_gives_the_points_back_and_revokes_what_they_caused(
    app: Flask, world: World
) -> None:
    seller, disputes = seller_with(world, "not_as_described", 4)
    caused = standing(world, "platform", seller)["active_penalties"]
    assert len(caused) == 2
    last = disputes[-1]
    world.ok(seller, last, "appeal", reason="The buyer damaged it.")
    senior = world.account("senior_arbitrator")
    world.ok(senior, last, "claim")
    world.ok(
        senior,
        last,
        "appeal-decision",
        result="overturn",
        decision={"outcome": "seller_favored", "responsibility": "buyer", "rationale": "Misuse."},
        rationale="The seller's video shows it working on arrival.",
    )
    now = standing(world, "platform", seller)
    assert now["points"]["general"] == 9
    assert (now["can_list"], now["active_penalties"]) == (True, [])
    trust = world.account("trust_safety")
    for penalty in caused:
        after = world.call(trust, "GET", f"/v1/penalties/{penalty['id']}").json
        assert after["status"] == "revoked", after
    violations = world.call(seller, "GET", f"/v1/sellers/{seller}/violations").json["data"]
    assert [v["status"] for v in violations if v["dispute_id"] == last] == ["revoked"]
    assert_chains_verify(app)


def test_settling_after_a_rejection_earns_a_warning_without_points(world: World) -> None:
    seller = world.account("seller")
    buyer = world.account("buyer")
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller))
    world.ok(seller, dispute["id"], "reject", reason="No.")
    world.ok(buyer, dispute["id"], "modify", amount=4_000)
    world.ok(seller, dispute["id"], "offer", amount=3_000)
    closed = world.ok(buyer, dispute["id"], "accept-offer")
    assert closed["outcome"] == "settled"
    now = standing(world, "platform", seller)
    assert now["points"] == {"general": 0, "severe": 0}
    [warning] = now["active_penalties"]
    assert (warning["kind"], warning["violation_ids"], warning["threshold"]) == (
        "warning",
        [],
        None,
    )
    assert dispute["id"] in warning["reason"]
    assert now["can_list"] and now["can_sell"] and now["visible_in_search"]


def test_settling_without_a_rejection_or_withdrawing_records_nothing(world: World) -> None:
    seller = world.account("seller")
    buyer = world.account("buyer")
    settled = world.file(buyer, world.order(buyer=buyer, seller=seller))
    world.ok(seller, settled["id"], "offer", amount=3_000)
    world.ok(buyer, settled["id"], "accept-offer")
    withdrawn = world.file(buyer, world.order(buyer=buyer, seller=seller))
    world.ok(seller, withdrawn["id"], "reject", reason="No.")
    world.ok(buyer, withdrawn["id"], "withdraw")
    now = standing(world, "platform", seller)
    assert now["points"] == {"general": 0, "severe": 0}
    assert (now["active_penalties"], now["pending_review"]) == ([], [])
    assert world.call(seller, "GET", f"/v1/sellers/{seller}/violations").json["data"] == []


def test_a_ruling_without_a_violation_records_nothing(world: World) -> None:
    seller, _ = seller_with(world, None, 1)  # type: ignore[arg-type]
    assert standing(world, "platform", seller)["points"] == {"general": 0, "severe": 0}


# The seller's appeal of a penalty ---------------------------------------------------------------


def restricted_seller(world: World) -> tuple[str, dict, dict]:
    """A seller with the 12-point penalties: (seller, public warning, listing restriction)."""
    seller, _ = seller_with(world, "not_as_described", 4)
    active = standing(world, seller, seller)["active_penalties"]
    warning = next(p for p in active if p["kind"] == "public_warning")
    restriction = next(p for p in active if p["kind"] == "listing_restriction")
    return seller, warning, restriction


def test_a_granted_appeal_revokes_the_penalty_and_gives_the_points_back(
    app: Flask, world: World
) -> None:
    seller, warning, restriction = restricted_seller(world)
    path = f"/v1/penalties/{restriction['id']}/appeal"
    appealed = world.call(
        "platform",
        "POST",
        path,
        json={"reason": "Two were one buyer."},
        headers={"On-Behalf-Of": seller},
    )
    assert appealed.status_code == 200, appealed.json
    assert (appealed.json["appeal_status"], appealed.json["status"]) == ("pending", "active")
    assert appealed.json["explanation"]["appeal"]["available"] is False
    assert "appeal was used" in appealed.json["explanation"]["summary"]
    again = world.call(seller, "POST", path, json={"reason": "Please."})
    assert_error(again, 409, "penalty_appeal_used")

    trust = world.account("trust_safety")
    decision_path = f"/v1/penalties/{restriction['id']}/appeal-decision"
    assert_error(
        world.call(seller, "POST", decision_path, json={"result": "grant", "rationale": "me"}), 403
    )
    granted = review(
        world, trust, restriction["id"], "appeal-decision", result="grant", rationale="Yes."
    )
    assert (granted["status"], granted["appeal_status"]) == ("revoked", "granted")
    now = standing(world, "platform", seller)
    assert now["points"]["general"] == 9
    assert (now["can_list"], now["active_penalties"]) == (True, [])
    assert world.call(trust, "GET", f"/v1/penalties/{warning['id']}").json["status"] == "revoked"
    repeat = world.call(trust, "POST", decision_path, json={"result": "grant", "rationale": "x"})
    assert_error(repeat, 409, "no_pending_penalty_appeal")
    assert_chains_verify(app)


def test_an_upheld_appeal_leaves_the_penalty_in_force(world: World) -> None:
    seller, _, restriction = restricted_seller(world)
    world.call(seller, "POST", f"/v1/penalties/{restriction['id']}/appeal", json={"reason": "No."})
    trust = world.account("trust_safety")
    upheld = review(
        world, trust, restriction["id"], "appeal-decision", result="uphold", rationale="Fair."
    )
    assert (upheld["status"], upheld["appeal_status"]) == ("active", "upheld")
    assert standing(world, "platform", seller)["can_list"] is False
    again = world.call(
        seller, "POST", f"/v1/penalties/{restriction['id']}/appeal", json={"reason": "x"}
    )
    assert_error(again, 409, "penalty_appeal_used")


def test_a_penalty_is_appealed_within_the_window_by_its_seller_only(
    world: World, clock: ManualClock
) -> None:
    seller, warning, _ = restricted_seller(world)
    path = f"/v1/penalties/{warning['id']}/appeal"
    body = {"reason": "Unfair."}
    assert_error(world.call(world.account("seller"), "POST", path, json=body), 404)
    assert_error(world.call(world.account("buyer"), "POST", path, json=body), 403)
    assert_error(world.call(world.account("trust_safety"), "POST", path, json=body), 403)
    assert "reason" in assert_error(world.call(seller, "POST", path, json={}), 422)
    clock.advance(timedelta(days=7, seconds=1))
    late = world.call(seller, "POST", path, json=body)
    assert "appeal_before" in assert_error(late, 409, "penalty_appeal_window_closed")
    shown = world.call(seller, "GET", f"/v1/penalties/{warning['id']}").json
    assert shown["explanation"]["appeal"]["available"] is False


# Listing and reading penalties ------------------------------------------------------------------


def test_penalties_are_listed_for_staff_filtered_and_paged(world: World) -> None:
    seller, _ = seller_with(world, "not_as_described", 4)
    other, _ = seller_with(world, "counterfeit", 1)
    trust = world.account("trust_safety")
    assert kinds(penalties(world, trust, seller_id=seller)) == [
        "listing_restriction",
        "public_warning",
    ]
    assert [p["seller_id"] for p in penalties(world, trust, kind="search_shielding")] == [other]
    assert len(penalties(world, "platform", status="active")) == 4
    assert len(penalties(world, world.account("admin"))) == 4
    assert_error(world.call(seller, "GET", "/v1/penalties"), 403)
    assert_error(
        world.call("platform", "GET", "/v1/penalties", headers={"On-Behalf-Of": seller}), 403
    )
    assert_error(world.call(trust, "GET", "/v1/penalties?kind=scolding"), 422)

    first = world.call(trust, "GET", "/v1/penalties?limit=3").json
    second = world.call(trust, "GET", f"/v1/penalties?limit=3&cursor={first['next_cursor']}").json
    assert len(first["data"]) == 3 and len(second["data"]) == 1 and second["next_cursor"] is None
    ids = [p["id"] for p in first["data"] + second["data"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert_error(world.call(trust, "GET", "/v1/penalties?cursor=bm9wZQ=="), 422)


def test_a_penalty_is_seen_by_its_seller_and_staff_and_no_one_else(world: World) -> None:
    seller, _ = seller_with(world, "counterfeit", 1)
    trust = world.account("trust_safety")
    penalty_id = penalties(world, trust, seller_id=seller)[0]["id"]
    path = f"/v1/penalties/{penalty_id}"
    for who in (seller, trust, "platform"):
        assert world.call(who, "GET", path).status_code == 200
    for who in (world.account("seller"), world.account("buyer"), world.account("arbitrator")):
        assert_error(world.call(who, "GET", path), 404)


def test_review_actions_need_the_penalty_to_exist(world: World) -> None:
    trust = world.account("trust_safety")
    for action, body in (("approve", {}), ("reject", {"note": "x"}), ("revoke", {"reason": "x"})):
        assert_error(world.call(trust, "POST", f"/v1/penalties/pen_none/{action}", json=body), 404)
    assert_error(world.call(trust, "GET", "/v1/penalties/pen_none"), 404)
    case_against(world, world.account("seller"))  # an unrelated dispute changes nothing
