"""Order snapshots over HTTP: the platform registers and updates them, parties read their own."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.assertions import assert_error
from tests.support.world import World


def order_body(buyer: str, seller: str, **overrides: Any) -> dict[str, Any]:
    return {
        "buyer_id": buyer,
        "seller_id": seller,
        "amount": 10_000,
        "currency": "USD",
        "status": "paid",
        "items": [
            {"listing_id": "lst-a", "title": "Lamp", "quantity": 2, "unit_price": 3_000},
            {"listing_id": "lst-b", "title": "Shade", "quantity": 1, "unit_price": 4_000},
        ],
        **overrides,
    }


def put_order(world: World, who: str, order_id: str, body: dict[str, Any]) -> TestResponse:
    return world.call(who, "PUT", f"/v1/orders/{order_id}", json=body)


def read_order(world: World, order_id: str, who: str = "platform") -> TestResponse:
    return world.call(who, "GET", f"/v1/orders/{order_id}")


@pytest.fixture
def pair(world: World) -> tuple[str, str]:
    """A buyer and a seller with no order yet."""
    return world.account("buyer"), world.account("seller")


# PUT /v1/orders/{id} --------------------------------------------------------------------------


def test_platform_registers_an_order_with_201(world: World, pair: tuple[str, str]) -> None:
    buyer, seller = pair

    response = put_order(world, "platform", "ord-new", order_body(buyer, seller))

    assert response.status_code == 201, response.json
    order = response.json
    assert order["id"] == "ord-new"
    assert (order["buyer_id"], order["seller_id"]) == (buyer, seller)
    assert (order["amount"], order["currency"], order["status"]) == (10_000, "USD", "paid")
    assert order["refunded_amount"] == 0
    assert [line["listing_id"] for line in order["items"]] == ["lst-a", "lst-b"]
    assert order["items"][0] == {
        "listing_id": "lst-a",
        "title": "Lamp",
        "quantity": 2,
        "unit_price": 3_000,
    }
    assert read_order(world, "ord-new").json == order


def test_an_order_may_have_no_lines(world: World, pair: tuple[str, str]) -> None:
    body = order_body(*pair)
    del body["items"]

    response = put_order(world, "platform", "ord-bare", body)

    assert response.status_code == 201, response.json
    assert response.json["items"] == []


def test_putting_an_order_again_with_the_same_lines_updates_its_status_with_200(
    world: World, pair: tuple[str, str]
) -> None:
    buyer, seller = pair
    created = put_order(world, "platform", "ord-upd", order_body(buyer, seller)).json

    response = put_order(world, "platform", "ord-upd", order_body(buyer, seller, status="shipped"))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "shipped"
    assert response.json["items"] == created["items"]
    stored = read_order(world, "ord-upd").json
    assert stored["status"] == "shipped"
    assert stored["created_at"] == created["created_at"]


def test_putting_an_order_again_replaces_its_lines(world: World, pair: tuple[str, str]) -> None:
    buyer, seller = pair
    put_order(world, "platform", "ord-lines", order_body(buyer, seller))
    relisted = order_body(
        buyer,
        seller,
        status="shipped",
        items=[{"listing_id": "lst-c", "title": "Bulb", "quantity": 1, "unit_price": 500}],
    )

    response = put_order(world, "platform", "ord-lines", relisted)

    assert response.status_code == 200, response.json
    assert [line["listing_id"] for line in response.json["items"]] == ["lst-c"]
    stored = read_order(world, "ord-lines").json
    assert stored["status"] == "shipped"
    assert stored["items"] == response.json["items"]


def test_putting_an_order_again_may_keep_some_lines_and_drop_others(
    world: World, pair: tuple[str, str]
) -> None:
    buyer, seller = pair
    put_order(world, "platform", "ord-some", order_body(buyer, seller))
    kept = order_body(buyer, seller)["items"][:1]

    response = put_order(world, "platform", "ord-some", order_body(buyer, seller, items=kept))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert read_order(world, "ord-some").json["items"] == kept


@pytest.mark.parametrize("field", ["buyer_id", "seller_id"])
def test_a_party_that_does_not_exist_is_refused_naming_the_field(
    world: World, pair: tuple[str, str], field: str
) -> None:
    body = {**order_body(*pair), field: "ghost"}

    details = assert_error(put_order(world, "platform", "ord-ghost", body), 422)

    assert field in details
    assert_error(read_order(world, "ord-ghost"), 404, "not_found")


@pytest.mark.parametrize(
    ("field", "wrong_role"),
    [("buyer_id", "seller"), ("buyer_id", "arbitrator"), ("seller_id", "buyer")],
)
def test_a_party_with_the_wrong_role_is_refused_naming_the_field(
    world: World, pair: tuple[str, str], field: str, wrong_role: str
) -> None:
    body = {**order_body(*pair), field: world.account(wrong_role)}

    details = assert_error(put_order(world, "platform", "ord-role", body), 422)

    assert field in details
    assert_error(read_order(world, "ord-role"), 404, "not_found")


def test_an_order_listing_the_same_listing_twice_is_refused(
    world: World, pair: tuple[str, str]
) -> None:
    line = {"listing_id": "lst-a", "title": "Lamp", "quantity": 1, "unit_price": 1_000}
    body = order_body(*pair, items=[line, {**line, "title": "Lamp again"}])

    details = assert_error(put_order(world, "platform", "ord-dup", body), 422)

    assert "items" in details
    assert_error(read_order(world, "ord-dup"), 404, "not_found")


def test_lines_worth_more_than_the_order_are_refused(world: World, pair: tuple[str, str]) -> None:
    body = order_body(*pair, amount=5_999)  # the lines add up to 10 000

    details = assert_error(put_order(world, "platform", "ord-over", body), 422)

    assert "items" in details
    assert_error(read_order(world, "ord-over"), 404, "not_found")


def test_lines_worth_exactly_the_order_are_fine(world: World, pair: tuple[str, str]) -> None:
    response = put_order(world, "platform", "ord-exact", order_body(*pair, amount=10_000))

    assert response.status_code == 201, response.json


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 0),
        ("amount", -100),
        ("amount", 100.5),
        ("amount", 10_000.0),
        ("amount", "10000"),
        ("amount", True),
        ("amount", None),
        ("currency", "usd"),
        ("currency", "US"),
        ("currency", "USDT"),
        ("status", "cancelled"),
        ("status", "PAID"),
        ("buyer_id", 42),
        ("items", "lamp"),
    ],
)
def test_an_invalid_field_is_refused_naming_it(
    world: World, pair: tuple[str, str], field: str, value: Any
) -> None:
    body = {**order_body(*pair, amount=20_000), field: value}

    details = assert_error(put_order(world, "platform", "ord-bad", body), 422, "validation_failed")

    assert field in details
    assert_error(read_order(world, "ord-bad"), 404, "not_found")


@pytest.mark.parametrize("field", ["buyer_id", "seller_id", "amount", "currency", "status"])
def test_a_missing_field_is_refused_naming_it(
    world: World, pair: tuple[str, str], field: str
) -> None:
    body = order_body(*pair)
    del body[field]

    details = assert_error(put_order(world, "platform", "ord-gap", body), 422, "validation_failed")

    assert field in details
    assert_error(read_order(world, "ord-gap"), 404, "not_found")


@pytest.mark.parametrize(
    "line",
    [
        {"title": "Lamp", "quantity": 1, "unit_price": 100},
        {"listing_id": "", "title": "Lamp", "quantity": 1, "unit_price": 100},
        {"listing_id": "lst-a", "title": "Lamp", "quantity": 0, "unit_price": 100},
        {"listing_id": "lst-a", "title": "Lamp", "quantity": 1.5, "unit_price": 100},
        {"listing_id": "lst-a", "title": "Lamp", "quantity": 1, "unit_price": -1},
        {"listing_id": "lst-a", "quantity": 1, "unit_price": 100},
    ],
    ids=[
        "no-listing",
        "empty-listing",
        "zero-quantity",
        "float-quantity",
        "negative-price",
        "no-title",
    ],
)
def test_an_invalid_order_line_is_refused(
    world: World, pair: tuple[str, str], line: dict[str, Any]
) -> None:
    details = assert_error(
        put_order(world, "platform", "ord-line", order_body(*pair, items=[line])),
        422,
        "validation_failed",
    )

    assert "items" in details
    assert_error(read_order(world, "ord-line"), 404, "not_found")


def test_a_refused_update_leaves_the_order_as_it_was(world: World, pair: tuple[str, str]) -> None:
    buyer, seller = pair
    put_order(world, "platform", "ord-keep", order_body(buyer, seller))
    before = read_order(world, "ord-keep").json

    refused = put_order(world, "platform", "ord-keep", order_body(buyer, seller, amount=1_000))

    assert_error(refused, 422)
    assert read_order(world, "ord-keep").json == before


@pytest.mark.parametrize("role", ["buyer", "seller", "arbitrator", "trust_safety", "admin"])
def test_only_the_platform_registers_orders(world: World, pair: tuple[str, str], role: str) -> None:
    buyer, seller = pair
    someone = buyer if role == "buyer" else world.account(role)

    response = put_order(world, someone, "ord-forbidden", order_body(buyer, seller))

    assert_error(response, 403, "forbidden")
    assert_error(read_order(world, "ord-forbidden"), 404, "not_found")


def test_the_platform_acting_for_a_buyer_may_not_register_orders(
    world: World, pair: tuple[str, str]
) -> None:
    buyer, seller = pair

    response = world.call(
        "platform",
        "PUT",
        "/v1/orders/ord-obo",
        json=order_body(buyer, seller),
        headers={"On-Behalf-Of": buyer},
    )

    assert_error(response, 403, "forbidden")
    assert_error(read_order(world, "ord-obo"), 404, "not_found")


def test_a_non_platform_caller_may_not_overwrite_an_order(
    world: World, pair: tuple[str, str]
) -> None:
    buyer, seller = pair
    put_order(world, "platform", "ord-mine", order_body(buyer, seller))
    before = read_order(world, "ord-mine").json

    response = put_order(world, seller, "ord-mine", order_body(buyer, seller, status="delivered"))

    assert_error(response, 403, "forbidden")
    assert read_order(world, "ord-mine").json == before


def test_registering_an_order_needs_a_token(
    world: World, client: FlaskClient, pair: tuple[str, str]
) -> None:
    response = client.put("/v1/orders/ord-anon", json=order_body(*pair))

    assert_error(response, 401, "unauthorized")
    assert_error(read_order(world, "ord-anon"), 404, "not_found")


def test_an_order_id_longer_than_the_id_column_is_refused(
    world: World, pair: tuple[str, str]
) -> None:
    """Ids are stored in 64 characters; a longer one must be a 422, not a database error."""
    order_id = "o" * 65

    assert_error(put_order(world, "platform", order_id, order_body(*pair)), 422)
    assert_error(read_order(world, order_id), 404, "not_found")


# Disputed orders -------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["buyer_id", "seller_id"])
def test_a_disputed_order_keeps_its_parties(world: World, field: str) -> None:
    buyer, _seller, order_id = world.parties()
    world.file(buyer, order_id)
    before = read_order(world, order_id).json
    replacement = world.account("buyer" if field == "buyer_id" else "seller")
    body = {
        **{k: before[k] for k in ("buyer_id", "seller_id", "amount", "currency", "status")},
        "items": before["items"],
        field: replacement,
    }

    details = assert_error(put_order(world, "platform", order_id, body), 422, "validation_failed")

    assert set(details) == {field}
    assert read_order(world, order_id).json == before


def test_a_disputed_order_keeps_its_currency(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    world.file(buyer, order_id)
    before = read_order(world, order_id).json
    body = {
        **{k: before[k] for k in ("buyer_id", "seller_id", "amount", "status")},
        "currency": "EUR",
        "items": before["items"],
    }

    details = assert_error(put_order(world, "platform", order_id, body), 422, "validation_failed")

    assert "currency" in details
    assert read_order(world, order_id).json == before


def test_a_disputed_order_may_still_change_its_status(world: World) -> None:
    buyer, _seller, order_id = world.parties(status="shipped")
    world.file(buyer, order_id)
    before = read_order(world, order_id).json
    body = {
        **{k: before[k] for k in ("buyer_id", "seller_id", "amount", "currency")},
        "status": "delivered",
        "items": before["items"],
    }

    response = put_order(world, "platform", order_id, body)

    assert response.status_code == 200, response.json
    assert read_order(world, order_id).json["status"] == "delivered"


def test_a_refunded_order_may_not_drop_below_what_was_refunded(world: World) -> None:
    dispute, _buyer, seller = world.dispute(amount=8_000)
    world.ok(seller, dispute["id"], "accept")
    before = read_order(world, dispute["order_id"]).json
    assert before["refunded_amount"] == 5_000
    body = {
        **{k: before[k] for k in ("buyer_id", "seller_id", "currency", "status")},
        "amount": 4_000,
        "items": [],
    }

    details = assert_error(put_order(world, "platform", dispute["order_id"], body), 422)

    assert "amount" in details
    assert read_order(world, dispute["order_id"]).json == before


def test_a_disputed_order_may_not_drop_below_the_open_claim(world: World) -> None:
    """Refunds never exceed the order (DESIGN §1): the seller must still be able to accept."""
    dispute, _buyer, seller = world.dispute(amount=8_000)  # claims 5 000
    before = read_order(world, dispute["order_id"]).json
    body = {
        **{k: before[k] for k in ("buyer_id", "seller_id", "currency", "status")},
        "amount": 3_000,
        "items": [],
    }

    details = assert_error(put_order(world, "platform", dispute["order_id"], body), 422)

    assert "amount" in details
    assert read_order(world, dispute["order_id"]).json == before
    assert world.ok(seller, dispute["id"], "accept")["refund_amount"] == 5_000


# GET /v1/orders/{id} ---------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["buyer", "seller", "platform", "arbitrator", "trust_safety"])
def test_an_order_is_visible_to_its_parties_the_platform_and_staff(
    world: World, reader: str
) -> None:
    buyer, seller, order_id = world.parties()
    who = {"buyer": buyer, "seller": seller, "platform": "platform"}.get(reader) or world.account(
        reader
    )

    response = read_order(world, order_id, who)

    assert response.status_code == 200, response.json
    assert response.json["id"] == order_id
    assert (response.json["buyer_id"], response.json["seller_id"]) == (buyer, seller)


@pytest.mark.parametrize("stranger", ["buyer", "seller"])
def test_another_partys_order_is_not_found(world: World, stranger: str) -> None:
    _buyer, _seller, order_id = world.parties()

    assert_error(read_order(world, order_id, world.account(stranger)), 404, "not_found")


def test_another_buyers_order_reads_like_an_unknown_one(world: World) -> None:
    _buyer, _seller, order_id = world.parties()
    stranger = world.account("buyer")

    hidden = read_order(world, order_id, stranger)
    unknown = read_order(world, "ord-nowhere", stranger)

    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json["error"]["code"] == unknown.json["error"]["code"]


def test_an_unknown_order_is_not_found(world: World) -> None:
    assert_error(read_order(world, "ord-nowhere"), 404, "not_found")


def test_reading_an_order_needs_a_token(world: World, client: FlaskClient) -> None:
    _buyer, _seller, order_id = world.parties()

    assert_error(client.get(f"/v1/orders/{order_id}"), 401, "unauthorized")
