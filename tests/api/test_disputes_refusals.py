"""Actions refused over HTTP (DESIGN §1, §9): the wrong actor, the wrong stage, a closed dispute,
an outsider; each answered in the error shape, naming the caller's real options, changing nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.assertions import assert_error, state
from tests.support.world import World

Built = tuple[dict[str, Any], str, str]

SELLER_ANSWERS = ["accept", "offer", "reject", "request-extension"]
BUYER_WAITING = ["modify", "withdraw"]

BODIES: dict[str, dict[str, Any]] = {
    "accept": {},
    "reject": {"reason": "no"},
    "offer": {"amount": 100},
    "accept-offer": {},
    "modify": {"amount": 100},
    "withdraw": {},
    "escalate": {},
    "ship-return": {"carrier": "UPS", "tracking_number": "1Z"},
    "confirm-return": {},
    "dispute-return": {"problem": "missing", "reason": "empty box"},
    "request-extension": {},
    "evidence-done": {},
}


def refunded(world: World, order_id: str) -> int:
    return world.call("platform", "GET", f"/v1/orders/{order_id}").json["refunded_amount"]


# Disputes at each stage ---------------------------------------------------------------------------


def awaiting_seller(world: World) -> Built:
    return world.dispute()


def with_offer(world: World) -> Built:
    dispute, buyer, seller = world.dispute()
    return world.ok(seller, dispute["id"], "offer", amount=1_000), buyer, seller


def seller_rejected(world: World) -> Built:
    dispute, buyer, seller = world.dispute()
    return world.ok(seller, dispute["id"], "reject", reason="no"), buyer, seller


def awaiting_return(world: World) -> Built:
    dispute, buyer, seller = world.dispute(remedy="return_and_refund")
    return world.ok(seller, dispute["id"], "accept"), buyer, seller


def return_in_transit(world: World) -> Built:
    dispute, buyer, seller = awaiting_return(world)
    shipped = world.ok(buyer, dispute["id"], "ship-return", carrier="UPS", tracking_number="1Z")
    return shipped, buyer, seller


def gathering_evidence(world: World) -> Built:
    dispute, buyer, seller = seller_rejected(world)
    return world.ok(buyer, dispute["id"], "escalate"), buyer, seller


def withdrawn(world: World) -> Built:
    dispute, buyer, seller = world.dispute()
    return world.ok(buyer, dispute["id"], "withdraw"), buyer, seller


def who_is(world: World, role: str, buyer: str, seller: str) -> str:
    return {"buyer": buyer, "seller": seller}.get(role) or world.account(role)


# The wrong actor, the wrong stage -----------------------------------------------------------------

Case = tuple[Callable[[World], Built], str, str, list[str]]

WRONG_ACTOR: list[Case] = [
    (awaiting_seller, "accept", "buyer", BUYER_WAITING),
    (awaiting_seller, "reject", "buyer", BUYER_WAITING),
    (awaiting_seller, "offer", "buyer", BUYER_WAITING),
    (with_offer, "accept-offer", "seller", SELLER_ANSWERS),
    (awaiting_seller, "modify", "seller", SELLER_ANSWERS),
    (awaiting_seller, "withdraw", "seller", SELLER_ANSWERS),
    (seller_rejected, "escalate", "seller", []),
    (seller_rejected, "modify", "seller", []),
    (awaiting_return, "ship-return", "seller", []),
    (awaiting_return, "withdraw", "seller", []),
    (return_in_transit, "confirm-return", "buyer", []),
    (return_in_transit, "dispute-return", "buyer", []),
    (awaiting_seller, "request-extension", "buyer", BUYER_WAITING),
    (seller_rejected, "request-extension", "seller", []),
    (gathering_evidence, "evidence-done", "arbitrator", []),
    (awaiting_seller, "accept", "arbitrator", []),
]

WRONG_STAGE: list[Case] = [
    (awaiting_seller, "escalate", "buyer", BUYER_WAITING),
    (awaiting_seller, "ship-return", "buyer", BUYER_WAITING),
    (awaiting_seller, "evidence-done", "seller", SELLER_ANSWERS),
    (awaiting_seller, "confirm-return", "seller", SELLER_ANSWERS),
    (seller_rejected, "reject", "seller", []),
    (seller_rejected, "accept", "seller", []),
    (awaiting_return, "accept", "seller", []),
    (awaiting_return, "modify", "buyer", ["request-extension", "ship-return", "withdraw"]),
    (return_in_transit, "withdraw", "buyer", []),
    (gathering_evidence, "modify", "buyer", ["evidence-done", "request-extension"]),
    (gathering_evidence, "withdraw", "buyer", ["evidence-done", "request-extension"]),
]


def _case_id(case: Case) -> str:
    build, action, role, _allowed = case
    return f"{build.__name__}-{action}-by-{role}"


@pytest.mark.parametrize("case", WRONG_ACTOR + WRONG_STAGE, ids=_case_id)
def test_an_action_not_open_to_the_caller_is_refused_with_its_real_options(
    world: World, case: Case
) -> None:
    build, action, role, allowed = case
    # Every case here is open and not yet decided: parties and arbitrators may add evidence.
    allowed = sorted([*allowed, "add-evidence"])
    dispute, buyer, seller = build(world)
    caller = who_is(world, role, buyer, seller)
    before = state(world, caller, dispute["id"])

    details = assert_error(
        world.act(caller, dispute["id"], action, **BODIES[action]), 409, "action_not_allowed"
    )
    assert details["status"] == dispute["status"]
    assert sorted(details["allowed_actions"]) == allowed
    assert sorted(before[0]["allowed_actions"]) == allowed
    assert state(world, caller, dispute["id"]) == before


@pytest.mark.parametrize("action", sorted(BODIES))
@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_no_action_reopens_a_closed_dispute(world: World, action: str, role: str) -> None:
    dispute, buyer, seller = withdrawn(world)
    caller = who_is(world, role, buyer, seller)
    before = state(world, caller, dispute["id"])
    details = assert_error(
        world.act(caller, dispute["id"], action, **BODIES[action]), 409, "action_not_allowed"
    )
    assert details == {"status": "closed", "allowed_actions": []}
    assert state(world, caller, dispute["id"]) == before


def test_a_refunded_dispute_is_not_refunded_twice(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "accept")
    before = state(world, seller, dispute["id"])
    assert_error(world.act(seller, dispute["id"], "accept"), 409, "action_not_allowed")
    assert_error(world.act(buyer, dispute["id"], "withdraw"), 409, "action_not_allowed")
    assert state(world, seller, dispute["id"]) == before
    assert refunded(world, dispute["order_id"]) == 5_000


# Outsiders ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_another_party_acting_is_told_the_dispute_does_not_exist(world: World, role: str) -> None:
    dispute, buyer, _seller = world.dispute()
    stranger = world.account(role)
    before = state(world, buyer, dispute["id"])
    for action in ("accept", "withdraw", "request-extension"):
        assert_error(world.act(stranger, dispute["id"], action), 404, "not_found")
    assert state(world, buyer, dispute["id"]) == before


def test_the_platform_acting_without_a_principal_is_not_a_party(world: World) -> None:
    dispute, buyer, _seller = world.dispute()
    before = state(world, buyer, dispute["id"])
    details = assert_error(
        world.act("platform", dispute["id"], "accept"), 409, "action_not_allowed"
    )
    assert details["allowed_actions"] == []
    assert state(world, buyer, dispute["id"]) == before


def test_acting_on_an_unknown_dispute_is_not_found(world: World) -> None:
    seller = world.account("seller")
    assert_error(world.act(seller, "dsp_nothing", "accept"), 404, "not_found")


def test_an_unknown_action_is_not_found(world: World) -> None:
    dispute, buyer, _seller = world.dispute()
    assert_error(world.act(buyer, dispute["id"], "explode"), 404, "not_found")
    assert world.read(buyer, dispute["id"])["version"] == 1


def test_acting_without_a_token_is_unauthorized(world: World) -> None:
    dispute, buyer, _seller = world.dispute()
    response = world.client.post(f"/v1/disputes/{dispute['id']}/withdraw", json={})
    assert_error(response, 401, "unauthorized")
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_seller"


# Empty bodies -------------------------------------------------------------------------------------

NO_FIELDS: list[tuple[Callable[[World], Built], str, str, str]] = [
    (awaiting_seller, "accept", "seller", "closed"),
    (awaiting_seller, "withdraw", "buyer", "closed"),
    (awaiting_seller, "request-extension", "seller", "awaiting_seller"),
    (with_offer, "accept-offer", "buyer", "closed"),
    (seller_rejected, "escalate", "buyer", "gathering_evidence"),
    (return_in_transit, "confirm-return", "seller", "closed"),
    (gathering_evidence, "evidence-done", "buyer", "gathering_evidence"),
]


@pytest.mark.parametrize(
    ("build", "action", "role", "to_status"),
    NO_FIELDS,
    ids=[f"{action}" for _build, action, _role, _to in NO_FIELDS],
)
def test_an_action_that_needs_no_fields_takes_no_body_at_all(
    world: World, build: Callable[[World], Built], action: str, role: str, to_status: str
) -> None:
    dispute, buyer, seller = build(world)
    caller = who_is(world, role, buyer, seller)
    response = world.call(caller, "POST", f"/v1/disputes/{dispute['id']}/{action}")
    assert response.status_code == 200, response.json
    assert response.json["status"] == to_status
    assert response.json["version"] == dispute["version"] + 1


@pytest.mark.parametrize("action", ["accept", "request-extension"])
def test_an_empty_json_body_counts_as_no_fields(world: World, action: str) -> None:
    dispute, _buyer, seller = world.dispute()
    response = world.call(
        seller,
        "POST",
        f"/v1/disputes/{dispute['id']}/{action}",
        data=b"",
        content_type="application/json",
    )
    assert response.status_code == 200, response.json


# Refunds never exceed the order -------------------------------------------------------------------


def test_an_order_may_not_shrink_below_its_open_request(world: World) -> None:
    buyer, seller, order_id = world.parties(amount=10_000)
    dispute = world.file(buyer, order_id, amount=8_000)
    line = {"listing_id": f"lst-{order_id}", "title": "Thing", "quantity": 1, "unit_price": 5_000}
    order = {
        "buyer_id": buyer,
        "seller_id": seller,
        "amount": 5_000,
        "currency": "USD",
        "status": "delivered",
        "items": [line],
    }
    response = world.call("platform", "PUT", f"/v1/orders/{order_id}", json=order)
    assert "amount" in assert_error(response, 422, "validation_failed")

    closed = world.ok(seller, dispute["id"], "accept")
    assert closed["refund_amount"] == 8_000
    assert refunded(world, order_id) == 8_000
