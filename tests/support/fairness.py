"""Helpers for the fairness tests (DESIGN §5a): frozen sellers, rulings for or against a party,
recoveries and a buyer's standing, read the way the marketplace or trust & safety would."""

from __future__ import annotations

from typing import Any

from tests.support.penalties import case_against, penalties, review
from tests.support.world import World

AGAINST_THE_SELLER = {
    "outcome": "buyer_full_refund",
    "responsibility": "seller",
    "rationale": "The photos show it is not what the listing described.",
}
AGAINST_THE_BUYER = {
    "outcome": "seller_favored",
    "responsibility": "buyer",
    "buyer_violation": "unjustified_claim",
    "rationale": "The item matches the listing; the claim has no basis.",
}


def freeze(world: World, seller: str, *, seconds: int | None = None) -> dict[str, Any]:
    """Two severe violations confirmed by trust & safety, and the freeze they bring approved."""
    trust = world.account("trust_safety")
    for _ in range(2):
        response = world.call(
            trust,
            "POST",
            f"/v1/sellers/{seller}/violations",
            json={"kind": "counterfeit", "note": "Fake, confirmed by the brand."},
        )
        assert response.status_code == 201, response.json
    [pending] = [
        p for p in penalties(world, trust, seller_id=seller) if p["kind"] == "account_freeze"
    ]
    body = {} if seconds is None else {"duration_seconds": seconds}
    return review(world, trust, pending["id"], "approve", **body)


def rule(world: World, dispute_id: str, ruling: dict[str, Any]) -> dict[str, Any]:
    """An arbitrator claims the case and rules: the dispute as the arbitrator sees it after."""
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute_id, "claim")
    return world.ok(arbitrator, dispute_id, "decide", **ruling)


def ruled_against_seller(world: World, seller: str) -> dict[str, Any]:
    dispute_id, _ = case_against(world, seller)
    return rule(world, dispute_id, AGAINST_THE_SELLER)


def case_between(world: World, buyer: str, seller: str, **filing: Any) -> str:
    """A dispute of ``buyer`` against ``seller`` waiting for a ruling."""
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller), **filing)
    world.ok(seller, dispute["id"], "reject", reason="Works as described.")
    world.ok(buyer, dispute["id"], "escalate", reason="It does not.")
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")
    return str(dispute["id"])


def lose_claims(world: World, buyer: str, times: int) -> None:
    """``buyer`` loses ``times`` rulings as an unjustified claim, each against a new seller."""
    for _ in range(times):
        rule(world, case_between(world, buyer, world.account("seller")), AGAINST_THE_BUYER)


def buyer_standing(world: World, who: str, buyer: str) -> dict[str, Any]:
    response = world.call(who, "GET", f"/v1/buyers/{buyer}/standing")
    assert response.status_code == 200, response.json
    return response.json


def recovery(world: World, who: str, recovery_id: str) -> dict[str, Any]:
    response = world.call(who, "GET", f"/v1/recoveries/{recovery_id}")
    assert response.status_code == 200, response.json
    return response.json
