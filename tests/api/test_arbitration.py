"""The platform steps in (DESIGN §4): taking a case, ruling, appealing, and the ruling's money."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from arbitration import sweep
from arbitration.clock import ManualClock
from tests.support.assertions import assert_error, state
from tests.support.world import World

RULING = {"responsibility": "seller", "rationale": "The photos show the crack."}


def claimed(world: World, **overrides: Any) -> tuple[dict[str, Any], str, str, str]:
    """A case waiting for a ruling, claimed by a fresh arbitrator: (dispute, buyer, seller, arb)."""
    dispute, buyer, seller = world.awaiting_decision(**overrides)
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    return dispute, buyer, seller, arbitrator


def decided(
    world: World, outcome: str, reason: str = "not_as_described", **terms: Any
) -> tuple[dict[str, Any], str, str, str]:
    dispute, buyer, seller, arbitrator = claimed(world, reason=reason)
    ruled = world.ok(arbitrator, dispute["id"], "decide", outcome=outcome, **{**RULING, **terms})
    return ruled, buyer, seller, arbitrator


def refunds(world: World, dispute_id: str) -> list[int]:
    timeline = world.call("platform", "GET", f"/v1/disputes/{dispute_id}/events").json["data"]
    return [
        event["payload"]["refund_amount"]
        for event in timeline
        if "refund_amount" in event["payload"]
    ]


def run_sweep(app: Flask) -> sweep.SweepReport:
    services = app.extensions["arbitration"]
    return sweep.sweep_due_deadlines(
        services.database, policy=services.policy, clock=services.clock
    )


# Ruling -------------------------------------------------------------------------------------------


def test_a_full_refund_ruling_pays_the_buyer_at_once_and_opens_the_appeal_window(
    world: World, clock: ManualClock
) -> None:
    ruled, buyer, seller, arbitrator = decided(
        world, "buyer_full_refund", violation="not_as_described"
    )
    assert ruled["status"] == "decided"
    assert ruled["refund_amount"] == ruled["amount"] == 5_000
    assert ruled["refund"]["amount"] == 5_000
    assert ruled["decision"]["outcome"] == "buyer_full_refund"
    assert ruled["decision"]["violation"] == "not_as_described"
    assert ruled["decision"]["arbitrator_id"] == arbitrator
    assert ruled["deadline"]["action"] == "finalize"
    assert ruled["deadline"]["due_at"].startswith(
        (clock.now() + timedelta(days=7)).date().isoformat()
    )
    # The ruling fully favoured the buyer: only the seller may appeal it.
    assert "appeal" not in world.read(buyer, ruled["id"])["allowed_actions"]
    assert "appeal" in world.read(seller, ruled["id"])["allowed_actions"]


def test_a_partial_refund_names_its_amount_and_either_party_may_appeal(world: World) -> None:
    ruled, buyer, seller, _ = decided(world, "buyer_partial_refund", refund_amount=2_000)
    assert (ruled["refund_amount"], ruled["decision"]["refund_amount"]) == (2_000, 2_000)
    assert "appeal" in world.read(buyer, ruled["id"])["allowed_actions"]
    assert "appeal" in world.read(seller, ruled["id"])["allowed_actions"]


def test_a_ruling_for_the_seller_refunds_nothing(world: World) -> None:
    ruled, buyer, _, _ = decided(world, "seller_favored", responsibility="buyer")
    assert ruled["refund_amount"] is None and ruled["refund"] is None
    assert "appeal" in world.read(buyer, ruled["id"])["allowed_actions"]


INCONSISTENT = [
    ({"outcome": "buyer_partial_refund"}, "refund_amount"),
    ({"outcome": "buyer_partial_refund", "refund_amount": 5_000}, "refund_amount"),
    ({"outcome": "buyer_full_refund", "refund_amount": 4_000}, "refund_amount"),
    ({"outcome": "seller_favored", "refund_amount": 1}, "refund_amount"),
    (
        {"outcome": "buyer_full_refund", "return_shipping_paid_by": "seller"},
        "return_shipping_paid_by",
    ),
    ({"outcome": "buyer_full_refund", "return_required": True}, "return_shipping_paid_by"),
    ({"outcome": "buyer_full_refund", "violation": "stealing_the_moon"}, "violation"),
    (
        {"outcome": "seller_favored", "responsibility": "buyer", "violation": "counterfeit"},
        "violation",
    ),
    ({"outcome": "buyer_full_refund", "rationale": "   "}, "rationale"),
]


def test_an_inconsistent_ruling_is_refused_naming_the_field_and_changes_nothing(
    world: World,
) -> None:
    dispute, buyer, _, arbitrator = claimed(world)
    before = state(world, buyer, dispute["id"])
    for terms, field in INCONSISTENT:
        response = world.act(arbitrator, dispute["id"], "decide", **{**RULING, **terms})
        details = assert_error(response, 422)
        assert field in details, (terms, details)
    assert state(world, buyer, dispute["id"]) == before


def test_only_the_assigned_arbitrator_rules(world: World) -> None:
    dispute, buyer, _, _ = claimed(world)
    other = world.account("arbitrator")
    before = state(world, buyer, dispute["id"])
    response = world.act(other, dispute["id"], "decide", outcome="buyer_full_refund", **RULING)
    assert_error(response, 403, "forbidden")
    assert state(world, buyer, dispute["id"]) == before


def test_a_ruling_needs_the_case_claimed_and_parties_cannot_rule(world: World) -> None:
    dispute, buyer, _seller = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    assert_error(
        world.act(arbitrator, dispute["id"], "decide", outcome="buyer_full_refund", **RULING), 409
    )
    assert_error(
        world.act(buyer, dispute["id"], "decide", outcome="buyer_full_refund", **RULING), 409
    )


def test_a_second_ruling_is_refused(world: World) -> None:
    ruled, _, _, arbitrator = decided(world, "buyer_full_refund")
    again = world.act(arbitrator, ruled["id"], "decide", outcome="seller_favored", **RULING)
    details = assert_error(again, 409, "action_not_allowed")
    assert details["status"] == "decided"
    assert refunds(world, ruled["id"]) == [5_000]


def test_a_staff_member_related_to_a_party_may_not_take_or_rule_the_case(world: World) -> None:
    dispute, _buyer, seller = world.awaiting_decision()
    admin = world.account("admin")
    cousin = world.account("arbitrator")
    linked = world.call(admin, "PUT", f"/v1/accounts/{cousin}/related/{seller}")
    assert linked.status_code == 201, linked.json
    assert "claim" not in world.read(cousin, dispute["id"])["allowed_actions"]
    assert_error(world.act(cousin, dispute["id"], "claim"), 403, "forbidden")
    assert_error(world.call(cousin, "POST", "/v1/queue/claim"), 404, "not_found")
    # A senior cannot hand it to them either.
    senior = world.account("senior_arbitrator")
    refused = world.act(senior, dispute["id"], "reassign", arbitrator_id=cousin)
    assert "arbitrator_id" in assert_error(refused, 422)


def test_only_an_admin_records_relations(world: World) -> None:
    arbitrator = world.account("arbitrator")
    assert_error(world.call("platform", "PUT", f"/v1/accounts/{arbitrator}/related/x"), 403)


# Appeals -------------------------------------------------------------------------------------------


def appealed(world: World, outcome: str, **terms: Any) -> tuple[dict[str, Any], str, str, str]:
    ruled, buyer, seller, arbitrator = decided(world, outcome, **terms)
    appellant = seller if outcome == "buyer_full_refund" else buyer
    world.ok(appellant, ruled["id"], "appeal", reason="The arbitrator missed my evidence.")
    return world.read(buyer, ruled["id"]), buyer, seller, arbitrator


def test_an_appeal_goes_to_a_senior_who_did_not_make_the_first_ruling(world: World) -> None:
    dispute, _buyer, seller, arbitrator = appealed(
        world, "buyer_partial_refund", refund_amount=1_000
    )
    assert (dispute["status"], dispute["appealed_by"]) == ("under_appeal", "buyer")
    assert dispute["assigned_arbitrator_id"] is None
    # The seller may not appeal as well: an appeal is open once.
    assert "appeal" not in world.read(seller, dispute["id"])["allowed_actions"]
    assert_error(world.act(arbitrator, dispute["id"], "claim"), 409)
    senior = world.account("senior_arbitrator")
    world.ok(senior, dispute["id"], "claim")
    assert world.read(senior, dispute["id"])["assigned_arbitrator_id"] == senior


def test_a_senior_who_ruled_first_may_not_hear_the_appeal(world: World) -> None:
    dispute, buyer, _seller = world.awaiting_decision()
    senior = world.account("senior_arbitrator")
    world.ok(senior, dispute["id"], "claim")
    world.ok(
        senior,
        dispute["id"],
        "decide",
        outcome="seller_favored",
        **{**RULING, "responsibility": "buyer"},
    )
    world.ok(buyer, dispute["id"], "appeal", reason="Unfair.")
    refused = world.act(senior, dispute["id"], "claim")
    assert assert_error(refused, 409)["status"] == "under_appeal"
    assert_error(world.call(senior, "POST", "/v1/queue/claim"), 404)


def test_overturning_for_more_refunds_the_difference_and_closes(
    world: World, clock: ManualClock
) -> None:
    dispute, buyer, _, _ = appealed(world, "buyer_partial_refund", refund_amount=1_000)
    clock.advance(timedelta(days=1))
    senior = world.account("senior_arbitrator")
    world.ok(senior, dispute["id"], "claim")
    closed = world.ok(
        senior,
        dispute["id"],
        "appeal-decision",
        result="overturn",
        decision={"outcome": "buyer_full_refund", **RULING},
        rationale="The listing promised a working lamp.",
    )
    assert (closed["status"], closed["outcome"]) == ("closed", "refunded")
    assert closed["decision"]["result"] == "overturn"
    assert closed["decision"]["outcome"] == "buyer_full_refund"
    assert closed["refund_amount"] == 5_000  # 1,000 at the ruling, 4,000 now
    assert [refund["amount"] for refund in closed["refunds"]] == [1_000, 4_000]
    assert closed["refund"] == closed["refunds"][-1]
    order = world.call("platform", "GET", f"/v1/orders/{closed['order_id']}").json
    assert order["refunded_amount"] == 5_000
    last = world.call(buyer, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"][-1]
    assert (last["action"], last["payload"]["difference"]) == ("appeal-decision", 4_000)


def test_overturning_for_the_seller_refunds_nothing_more_and_announces_the_difference(
    world: World,
) -> None:
    dispute, buyer, _, _ = appealed(world, "buyer_full_refund", violation="not_as_described")
    senior = world.account("senior_arbitrator")
    world.ok(senior, dispute["id"], "claim")
    closed = world.ok(
        senior,
        dispute["id"],
        "appeal-decision",
        result="overturn",
        decision={"outcome": "seller_favored", "responsibility": "buyer", "rationale": "Misuse."},
        rationale="The seller's video shows it working on arrival.",
    )
    assert (closed["status"], closed["outcome"]) == ("closed", "seller_favored")
    assert closed["refund_amount"] == 5_000  # paid at the ruling; the platform settles it
    last = world.call(buyer, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"][-1]
    assert last["payload"]["difference"] == -5_000


def test_upholding_closes_with_the_ruling_as_it_was(world: World) -> None:
    dispute, _, _, _ = appealed(world, "buyer_partial_refund", refund_amount=1_000)
    senior = world.account("senior_arbitrator")
    world.ok(senior, dispute["id"], "claim")
    closed = world.ok(senior, dispute["id"], "appeal-decision", result="uphold", rationale="Fair.")
    assert (closed["status"], closed["outcome"]) == ("closed", "partially_refunded")
    assert closed["decision"]["result"] == "uphold"
    assert closed["refund_amount"] == 1_000


def test_an_appeal_decision_must_match_its_result(world: World) -> None:
    dispute, buyer, _, _ = appealed(world, "buyer_partial_refund", refund_amount=1_000)
    senior = world.account("senior_arbitrator")
    world.ok(senior, dispute["id"], "claim")
    before = state(world, buyer, dispute["id"])
    overturn_without_ruling = world.act(
        senior, dispute["id"], "appeal-decision", result="overturn", rationale="No."
    )
    assert "decision" in assert_error(overturn_without_ruling, 422)
    uphold_with_ruling = world.act(
        senior,
        dispute["id"],
        "appeal-decision",
        result="uphold",
        decision={"outcome": "buyer_full_refund", **RULING},
        rationale="Yes.",
    )
    assert "decision" in assert_error(uphold_with_ruling, 422)
    bad_replacement = world.act(
        senior,
        dispute["id"],
        "appeal-decision",
        result="overturn",
        decision={"outcome": "buyer_partial_refund", **RULING},
        rationale="Half.",
    )
    assert "decision.refund_amount" in assert_error(bad_replacement, 422)
    assert state(world, buyer, dispute["id"]) == before


def test_the_ruling_becomes_final_when_the_appeal_window_passes(
    app: Flask, world: World, clock: ManualClock
) -> None:
    ruled, buyer, _, _ = decided(world, "buyer_partial_refund", refund_amount=2_500)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    run_sweep(app)
    assert world.read(buyer, ruled["id"])["status"] == "decided"
    clock.advance(timedelta(seconds=1))
    run_sweep(app)
    final = world.read(buyer, ruled["id"])
    assert (final["status"], final["outcome"]) == ("closed", "partially_refunded")
    assert final["refund_amount"] == 2_500
    assert_error(world.act(buyer, ruled["id"], "appeal", reason="late"), 409)


# Reassigning and precedents ------------------------------------------------------------------------


def test_a_senior_reassigns_a_case_to_a_colleague(world: World) -> None:
    dispute, _, _, first = claimed(world)
    senior, colleague = world.account("senior_arbitrator"), world.account("arbitrator")
    moved = world.ok(senior, dispute["id"], "reassign", arbitrator_id=colleague)
    assert moved["assigned_arbitrator_id"] == colleague
    assert_error(
        world.act(first, dispute["id"], "decide", outcome="buyer_full_refund", **RULING), 403
    )
    world.ok(colleague, dispute["id"], "decide", outcome="buyer_full_refund", **RULING)


def test_an_arbitrator_may_not_reassign_and_nobody_becomes_assignee_who_cannot_rule(
    world: World,
) -> None:
    dispute, buyer, _, first = claimed(world)
    assert_error(world.act(first, dispute["id"], "reassign", arbitrator_id=first), 409)
    senior = world.account("senior_arbitrator")
    refused = world.act(senior, dispute["id"], "reassign", arbitrator_id=buyer)
    assert "arbitrator_id" in assert_error(refused, 422)


def test_precedents_show_ruled_cases_with_the_same_reason_and_category_newest_first(
    world: World, clock: ManualClock
) -> None:
    older, *_ = decided(world, "buyer_partial_refund", refund_amount=1_500)
    clock.advance(timedelta(hours=1))
    newer, *_ = decided(world, "seller_favored", responsibility="buyer")
    decided_other_reason, *_ = decided(world, "buyer_full_refund", reason="not_received")
    dispute, _, _, arbitrator = claimed(world)
    found = world.call(arbitrator, "GET", f"/v1/disputes/{dispute['id']}/precedents").json["data"]
    assert [case["dispute_id"] for case in found] == [newer["id"], older["id"]]
    assert [(case["outcome"], case["refund_amount"]) for case in found] == [
        ("seller_favored", 0),
        ("buyer_partial_refund", 1_500),
    ]
    assert decided_other_reason["id"] not in {case["dispute_id"] for case in found}
    buyer = dispute["buyer_id"]
    assert_error(world.call(buyer, "GET", f"/v1/disputes/{dispute['id']}/precedents"), 403)
