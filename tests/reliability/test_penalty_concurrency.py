"""Rulings against one seller at the same moment, on real threads and a real database (SQLite or
PostgreSQL): every violation counts and each threshold of the ladder is crossed exactly once."""

from __future__ import annotations

from collections import Counter

from flask import Flask
from sqlalchemy import select

from penalties.models import LadderCrossing
from tests.reliability.test_concurrency import _race
from tests.support.penalties import RULING, assert_chains_verify, case_against, penalties, standing
from tests.support.world import World


def test_ten_rulings_at_once_against_one_seller_cross_each_threshold_once(
    app: Flask, world: World
) -> None:
    seller = world.account("seller")
    calls = []
    for _ in range(10):
        dispute_id, _ = case_against(world, seller)
        arbitrator = world.account("arbitrator")
        world.ok(arbitrator, dispute_id, "claim")
        body = {**RULING, "violation": "not_as_described"}
        calls.append((f"/v1/disputes/{dispute_id}/decide", body, world.headers(arbitrator)))
    responses = _race(app, calls)
    assert [r.status_code for r in responses] == [200] * 10, [r.json for r in responses]

    now = standing(world, "platform", seller)
    assert now["points"]["general"] == 30  # 3 points, ten times
    found = penalties(world, world.account("trust_safety"), seller_id=seller)
    assert Counter((p["threshold"], p["kind"]) for p in found) == {
        (12, "public_warning"): 1,
        (12, "listing_restriction"): 1,
        (24, "listing_restriction"): 1,
    }
    with app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
        crossed = session.scalars(
            select(LadderCrossing.points).where(LadderCrossing.seller_id == seller)
        ).all()
    assert sorted(crossed) == [12, 24]
    violations = world.call(seller, "GET", f"/v1/sellers/{seller}/violations?limit=200").json
    assert len(violations["data"]) == 10
    # 10 violations and 2 crossings, in one unbroken chain.
    assert assert_chains_verify(app) == 12


def test_concurrent_reviews_of_one_penalty_apply_one(app: Flask, world: World) -> None:
    seller = world.account("seller")
    for _ in range(2):
        dispute_id, _ = case_against(world, seller)
        arbitrator = world.account("arbitrator")
        world.ok(arbitrator, dispute_id, "claim")
        world.ok(arbitrator, dispute_id, "decide", violation="counterfeit", **RULING)
    [freeze] = standing(world, "platform", seller)["pending_review"]
    reviewers = [world.account("trust_safety") for _ in range(6)]
    base = f"/v1/penalties/{freeze['id']}"
    calls = [
        (
            f"{base}/approve" if index % 2 else f"{base}/reject",
            {"note": "Seen."},
            world.headers(who),
        )
        for index, who in enumerate(reviewers)
    ]
    statuses = Counter(response.status_code for response in _race(app, calls))
    assert statuses == {200: 1, 409: 5}, statuses
    assert_chains_verify(app)
