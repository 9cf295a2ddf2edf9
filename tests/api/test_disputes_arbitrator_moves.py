"""The arbitrator's first moves that exist so far: claim a case and ask a party for more."""

from __future__ import annotations

from typing import Any

from tests.support.world import World


def _awaiting_decision(world: World) -> tuple[dict[str, Any], str, str]:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "reject", reason="no")
    world.ok(buyer, dispute["id"], "escalate")
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")
    return dispute, buyer, seller


def test_an_arbitrator_claims_an_unassigned_case(world: World) -> None:
    dispute, _, _ = _awaiting_decision(world)
    arbitrator = world.account("arbitrator")
    before = world.read(arbitrator, dispute["id"])
    assert "claim" in before["allowed_actions"]
    claimed = world.ok(arbitrator, dispute["id"], "claim")
    assert claimed["assigned_arbitrator_id"] == arbitrator
    assert "request-info" in claimed["allowed_actions"]


def test_a_claimed_case_cannot_be_claimed_by_another(world: World) -> None:
    dispute, _, _ = _awaiting_decision(world)
    first, second = world.account("arbitrator"), world.account("arbitrator")
    world.ok(first, dispute["id"], "claim")
    refused = world.act(second, dispute["id"], "claim")
    assert refused.status_code == 409
    assert refused.json["error"]["message"] == "the case is already assigned"
    assert world.read(first, dispute["id"])["assigned_arbitrator_id"] == first


def test_request_info_needs_the_case_claimed_first(world: World) -> None:
    dispute, _, _ = _awaiting_decision(world)
    arbitrator = world.account("arbitrator")
    refused = world.act(arbitrator, dispute["id"], "request-info", party="buyer", question="?")
    assert refused.status_code == 409
    assert refused.json["error"]["message"] == "claim the case first"


def test_each_party_is_asked_for_more_once(world: World) -> None:
    dispute, buyer, seller = _awaiting_decision(world)
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    world.ok(arbitrator, dispute["id"], "request-info", party="buyer", question="Photos?")
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")

    again = world.act(arbitrator, dispute["id"], "request-info", party="buyer", question="More?")
    assert again.status_code == 409
    assert again.json["error"]["code"] == "info_already_requested"
    world.ok(arbitrator, dispute["id"], "request-info", party="seller", question="Receipt?")
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")
    last = world.act(arbitrator, dispute["id"], "request-info", party="seller", question="?")
    assert last.status_code == 409
    assert "request-info" not in world.read(arbitrator, dispute["id"])["allowed_actions"]


def test_request_info_names_a_party_and_a_question(world: World) -> None:
    dispute, _, _ = _awaiting_decision(world)
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    missing = world.act(arbitrator, dispute["id"], "request-info", party="judge", question="?")
    assert missing.status_code == 422
    assert "party" in missing.json["error"]["details"]
    assert world.read(arbitrator, dispute["id"])["status"] == "awaiting_decision"


def test_parties_cannot_claim(world: World) -> None:
    dispute, buyer, _ = _awaiting_decision(world)
    refused = world.act(buyer, dispute["id"], "claim")
    assert refused.status_code == 409
    assert refused.json["error"]["details"]["allowed_actions"] == ["add-evidence"]
