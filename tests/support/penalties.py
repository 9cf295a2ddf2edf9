"""Helpers for the penalty tests: cases against one seller, rulings that name a violation, and
reading standing and penalties the way a marketplace or trust & safety would."""

from __future__ import annotations

from typing import Any

from flask import Flask

from arbitration import sweep
from penalties import chain
from tests.support.world import World

RULING = {
    "outcome": "buyer_full_refund",
    "responsibility": "seller",
    "rationale": "The photos show it is not what the listing described.",
}


def case_against(world: World, seller: str) -> tuple[str, str]:
    """A dispute against ``seller`` waiting for a ruling: (dispute_id, buyer)."""
    buyer = world.account("buyer")
    dispute = world.file(buyer, world.order(buyer=buyer, seller=seller))
    world.ok(seller, dispute["id"], "reject", reason="Works as described.")
    world.ok(buyer, dispute["id"], "escalate", reason="It does not.")
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")
    return dispute["id"], buyer


def rule_against(world: World, seller: str, violation: str | None) -> tuple[str, str]:
    """A ruling against ``seller`` naming ``violation``: (dispute_id, arbitrator)."""
    dispute_id, _ = case_against(world, seller)
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute_id, "claim")
    world.ok(arbitrator, dispute_id, "decide", violation=violation, **RULING)
    return dispute_id, arbitrator


def standing(world: World, who: str, seller: str) -> dict[str, Any]:
    response = world.call(who, "GET", f"/v1/sellers/{seller}/standing")
    assert response.status_code == 200, response.json
    return response.json


def penalties(world: World, who: str, **filters: Any) -> list[dict[str, Any]]:
    response = world.call(who, "GET", "/v1/penalties", query_string={"limit": 200, **filters})
    assert response.status_code == 200, response.json
    return response.json["data"]


def review(world: World, who: str, penalty_id: str, action: str, **body: Any) -> dict[str, Any]:
    response = world.call(who, "POST", f"/v1/penalties/{penalty_id}/{action}", json=body)
    assert response.status_code == 200, response.json
    return response.json


def kinds(penalty_list: list[dict[str, Any]]) -> list[str]:
    return sorted(penalty["kind"] for penalty in penalty_list)


def run_sweep(app: Flask) -> sweep.SweepReport:
    services = app.extensions["arbitration"]
    return sweep.sweep_due_deadlines(
        services.database, policy=services.policy, clock=services.clock
    )


def assert_chains_verify(app: Flask) -> int:
    """Every seller's hash chain verifies; returns how many events they hold."""
    with app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
        _, events, broken = chain.verify(session)
    assert broken == [], [str(link) for link in broken]
    return events
