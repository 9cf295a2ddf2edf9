"""Seniors claiming at once across both queue states: each gets a different case (issue 13).

A senior's queue merges two states (appeals and cases awaiting a ruling); the claim reads the
merge's first cases unlocked and then locks the first one free (PostgreSQL: SKIP LOCKED).
"""

from __future__ import annotations

from flask import Flask

from tests.reliability.test_concurrency import _race
from tests.support.world import World


def test_twelve_seniors_claiming_at_once_get_twelve_different_cases(
    app: Flask, world: World
) -> None:
    cases = {world.awaiting_decision()[0]["id"] for _ in range(6)}
    cases |= {world.under_appeal(reason="safety_hazard")[0]["id"] for _ in range(6)}
    seniors = [world.account("senior_arbitrator") for _ in range(12)]
    responses = _race(app, [("/v1/queue/claim", {}, world.headers(who)) for who in seniors])
    assert [response.status_code for response in responses] == [200] * 12, [
        r.json for r in responses if r.status_code != 200
    ]
    assert {response.json["id"] for response in responses} == cases
    assert {r.json["assigned_arbitrator_id"] for r in responses} == set(seniors)
    assert (
        world.call(world.account("senior_arbitrator"), "POST", "/v1/queue/claim").status_code == 404
    )
