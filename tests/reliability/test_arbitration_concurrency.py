"""Rulings and claims at the same moment, on real threads and a real database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections import Counter

from flask import Flask
from sqlalchemy import func, select

from arbitration.models import Decision, Refund
from tests.reliability.test_concurrency import _race
from tests.support.world import World

RULING = {"outcome": "buyer_full_refund", "responsibility": "seller", "rationale": "Broken."}


def test_ten_rulings_at_once_make_one_ruling_and_one_refund(app: Flask, world: World) -> None:
    dispute, _, _ = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    path = f"/v1/disputes/{dispute['id']}/decide"
    responses = _race(app, [(path, RULING, world.headers(arbitrator))] * 10)
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 1, 409: 9}, [r.json for r in responses]
    with app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
        where = {"dispute_id": dispute["id"]}
        assert session.scalar(select(func.count()).select_from(Decision).filter_by(**where)) == 1
        assert session.scalar(select(func.count()).select_from(Refund).filter_by(**where)) == 1
    assert world.read(arbitrator, dispute["id"])["refund_amount"] == dispute["amount"]


def test_twenty_arbitrators_claiming_at_once_get_twenty_different_cases(
    app: Flask, world: World
) -> None:
    cases = {world.awaiting_decision()[0]["id"] for _ in range(20)}
    arbitrators = [world.account("arbitrator") for _ in range(20)]
    responses = _race(app, [("/v1/queue/claim", {}, world.headers(who)) for who in arbitrators])
    assert [response.status_code for response in responses] == [200] * 20, [
        r.json for r in responses if r.status_code != 200
    ]
    taken = [response.json["id"] for response in responses]
    assert set(taken) == cases
    assert {r.json["assigned_arbitrator_id"] for r in responses} == set(arbitrators)
    late = world.call(world.account("arbitrator"), "POST", "/v1/queue/claim")
    assert late.status_code == 404
