"""A write's body is built after its commit, outside the writer lock, unless an ``Idempotency-Key``
stores it with the change (``api.context.perform``, ``api.views.dispute_body.written_body``): either
way it is the body a fresh read then shows, and a replay answers it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api import context
from api.views.dispute_body import read_body
from api.wiring import Services
from arbitration.errors import NotFound
from tests.support.world import World

RULING = {
    "outcome": "buyer_partial_refund",
    "refund_amount": 100,
    "responsibility": "seller",
    "rationale": "Clear from the photos.",
}


@pytest.fixture
def committed_at_build(monkeypatch: pytest.MonkeyPatch, services: Services) -> list[bool]:
    """For each body ``perform`` built from a :class:`api.context.Later`: whether the change it
    shows was already committed (a fresh read on another connection shows the same body)."""
    seen: list[bool] = []
    real = context._built

    def built(body: Any) -> Any:
        if type(body) is not context.Later:
            return real(body)
        answer = real(body)
        with services.database.unit_of_work(read_only=True) as session:
            try:
                fresh = read_body(session, caller=context.caller(), dispute_id=answer["id"])
            except NotFound:  # a filing not committed yet
                fresh = None
        seen.append(fresh == answer)
        return answer

    monkeypatch.setattr(context, "_built", built)
    return seen


# A write ready to send: who sends it, to which path, with which body.
_Write = tuple[str, str, dict[str, Any] | None]


def _file(world: World) -> _Write:
    buyer, _seller, order_id = world.parties()
    body = {"order_id": order_id, "reason": "damaged", "remedy": "refund_only", "amount": 4_000}
    return buyer, "/v1/disputes", body


def _offer(world: World) -> _Write:
    """A pending offer: a row the write inserted with columns it left unset."""
    dispute, _buyer, seller = world.dispute()
    return seller, f"/v1/disputes/{dispute['id']}/offer", {"amount": 2_000}


def _decide(world: World) -> _Write:
    """A ruling: its decision, refund and the arbitrator's conflict check are in the body."""
    dispute, _buyer, _seller = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    return arbitrator, f"/v1/disputes/{dispute['id']}/decide", RULING


def _claim(world: World) -> _Write:
    world.awaiting_decision()
    return world.account("arbitrator"), "/v1/queue/claim", None


def _confirm_refund(world: World) -> _Write:
    dispute, _buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "accept")
    return world.account("platform"), f"/v1/disputes/{dispute['id']}/refund-confirmation", None


WRITES: dict[str, Callable[[World], _Write]] = {
    "file": _file,
    "offer": _offer,
    "decide": _decide,
    "claim": _claim,
    "confirm-refund": _confirm_refund,
}


@pytest.mark.parametrize("write", WRITES)
def test_without_a_key_the_body_is_built_after_the_commit(
    world: World, committed_at_build: list[bool], write: str
) -> None:
    who, path, body = WRITES[write](world)
    response = world.call(who, "POST", path, json=body)
    assert response.status_code in (200, 201), response.json
    assert committed_at_build[-1:] == [True]
    assert response.json == world.read(who, response.json["id"])


@pytest.mark.parametrize("write", WRITES)
def test_with_a_key_the_body_is_built_before_the_commit_and_replayed(
    world: World, committed_at_build: list[bool], write: str
) -> None:
    who, path, body = WRITES[write](world)
    headers = {"Idempotency-Key": f"once-{write}"}
    response = world.call(who, "POST", path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.json
    assert committed_at_build[-1:] == [False]  # stored with the change, in its transaction
    assert response.json == world.read(who, response.json["id"])
    replay = world.call(who, "POST", path, json=body, headers=headers)
    assert (replay.status_code, replay.json) == (response.status_code, response.json)
