"""``Idempotency-Key``: a retried POST returns the first response instead of doing the work twice."""

from __future__ import annotations

from tests.support.world import World


def _file(world: World, buyer: str, body: dict, key: str):  # type: ignore[no-untyped-def]
    return world.call(buyer, "POST", "/v1/disputes", json=body, headers={"Idempotency-Key": key})


def _body(order_id: str, amount: int = 4_000) -> dict:
    return {"order_id": order_id, "reason": "damaged", "remedy": "refund_only", "amount": amount}


def test_same_key_and_body_returns_the_same_dispute(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    first = _file(world, buyer, _body(order_id), "retry-1")
    second = _file(world, buyer, _body(order_id), "retry-1")

    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    listed = world.call(buyer, "GET", "/v1/disputes").json["data"]
    assert [d["id"] for d in listed] == [first.json["id"]]


def test_same_key_with_another_body_is_refused_and_files_nothing(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    first = _file(world, buyer, _body(order_id), "retry-2")
    other = _file(world, buyer, _body(order_id, amount=3_000), "retry-2")

    assert other.status_code == 409
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert world.read(buyer, first.json["id"])["amount"] == 4_000


def test_key_order_in_the_body_does_not_make_another_request(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    body = _body(order_id)
    first = _file(world, buyer, body, "retry-3")
    again = _file(world, buyer, dict(reversed(list(body.items()))), "retry-3")
    assert again.json["id"] == first.json["id"]


def test_keys_belong_to_their_caller(world: World) -> None:
    buyer_a, _, order_a = world.parties()
    buyer_b, _, order_b = world.parties()
    first = _file(world, buyer_a, _body(order_a), "shared-key")
    second = _file(world, buyer_b, _body(order_b), "shared-key")
    assert second.status_code == 201
    assert second.json["id"] != first.json["id"]


def test_retried_action_replays_instead_of_refusing(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    path = f"/v1/disputes/{dispute['id']}/reject"
    headers = {"Idempotency-Key": "reject-once"}
    first = world.call(seller, "POST", path, json={"reason": "fine"}, headers=headers)
    retry = world.call(seller, "POST", path, json={"reason": "fine"}, headers=headers)

    assert first.status_code == retry.status_code == 200
    assert retry.json == first.json
    events = world.call(seller, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"]
    assert [e["action"] for e in events] == ["file", "reject"]


def test_a_refused_request_does_not_burn_its_key(world: World) -> None:
    buyer, _seller, order_id = world.parties(amount=5_000)
    too_much = _file(world, buyer, _body(order_id, amount=9_000), "fix-and-retry")
    assert too_much.status_code == 422
    # The same key with the same (still wrong) body is tried again, not replayed as a success.
    assert _file(world, buyer, _body(order_id, amount=9_000), "fix-and-retry").status_code == 422


def test_overlong_key_is_a_validation_error(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    response = _file(world, buyer, _body(order_id), "k" * 256)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["error"]["details"]
