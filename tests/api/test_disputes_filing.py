"""Filing a dispute over HTTP (DESIGN §2, §9): what a new dispute looks like, and every refusal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from arbitration.clock import ManualClock
from tests.support.assertions import assert_error
from tests.support.world import World


def disputes_of(world: World, buyer: str) -> list[dict[str, Any]]:
    """Every dispute a buyer has, as the platform sees them."""
    response = world.call("platform", "GET", f"/v1/disputes?buyer_id={buyer}&limit=200")
    assert response.status_code == 200, response.json
    return response.json["data"]


def refunded(world: World, order_id: str) -> int:
    response = world.call("platform", "GET", f"/v1/orders/{order_id}")
    assert response.status_code == 200, response.json
    return response.json["refunded_amount"]


def body(order_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "reason": "not_as_described",
        "remedy": "refund_only",
        "amount": 5_000,
        **overrides,
    }


def two_line_order(world: World) -> tuple[str, str, str]:
    """A buyer, a seller and an order of two lines: 2 x 1,500 (lst-a) and 1 x 7,000 (lst-b)."""
    buyer, seller = world.account("buyer"), world.account("seller")
    items = [
        {"listing_id": "lst-a", "title": "Cup", "quantity": 2, "unit_price": 1_500},
        {"listing_id": "lst-b", "title": "Pot", "quantity": 1, "unit_price": 7_000},
    ]
    return buyer, seller, world.order(buyer=buyer, seller=seller, amount=10_000, items=items)


# A new dispute ------------------------------------------------------------------------------------


def test_filed_dispute_awaits_the_seller_and_offers_the_buyer_modify_and_withdraw(
    world: World, clock: ManualClock
) -> None:
    buyer, seller, order_id = world.parties(amount=8_000)
    response = world.call(buyer, "POST", "/v1/disputes", json=body(order_id, channel="app"))

    assert response.status_code == 201, response.json
    dispute = response.json
    assert dispute["status"] == "awaiting_seller"
    assert dispute["awaiting"] == "seller"
    assert dispute["allowed_actions"] == ["modify", "withdraw", "add-evidence"]
    assert (dispute["buyer_id"], dispute["seller_id"]) == (buyer, seller)
    assert dispute["order_id"] == order_id
    assert (dispute["amount"], dispute["currency"]) == (5_000, "USD")
    assert dispute["channel"] == "app"
    assert dispute["outcome"] is None
    assert dispute["refund_amount"] is None
    assert dispute["pending_offer"] is None
    assert dispute["version"] == 1
    assert dispute["extensions_used"] == []
    assert dispute["return_shipment"] is None
    assert datetime.fromisoformat(dispute["created_at"]) == clock.now()
    assert dispute["items"] == [{"listing_id": f"lst-{order_id}", "quantity": 1, "value": 8_000}]


def test_the_seller_reads_the_new_dispute_with_her_own_actions(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    seen = world.read(seller, dispute["id"])
    assert seen["allowed_actions"] == [
        "accept",
        "reject",
        "offer",
        "request-extension",
        "add-evidence",
    ]


@pytest.mark.parametrize(
    ("order_status", "delay"),
    [
        ("paid", timedelta(hours=24)),
        ("shipped", timedelta(days=5)),
        ("delivered", timedelta(days=5)),
    ],
)
def test_the_seller_has_24_hours_before_shipping_and_5_days_after(
    world: World, clock: ManualClock, order_status: str, delay: timedelta
) -> None:
    dispute, _buyer, _seller = world.dispute(status=order_status)
    assert dispute["deadline"]["action"] == "accept"
    assert dispute["deadline"]["party"] == "seller"
    assert datetime.fromisoformat(dispute["deadline"]["due_at"]) == clock.now() + delay


@pytest.mark.parametrize(
    ("reason", "amount", "category", "priority"),
    [
        ("safety_hazard", 1_000, "product", "urgent"),
        ("not_received", 100_000, "logistics", "urgent"),
        ("not_received", 99_999, "logistics", "normal"),
        ("counterfeit", 1_000, "product", "high"),
        ("not_as_described", 20_000, "product", "high"),
        ("not_as_described", 19_999, "product", "normal"),
        ("wrong_item", 1_000, "service", "normal"),
        ("no_reason_7_days", 1_000, "platform", "normal"),
        ("damaged", 1_000, "logistics", "normal"),
    ],
)
def test_category_and_priority_come_from_the_policy(
    world: World, reason: str, amount: int, category: str, priority: str
) -> None:
    buyer, _seller, order_id = world.parties(amount=200_000)
    dispute = world.file(buyer, order_id, reason=reason, amount=amount)
    assert (dispute["category"], dispute["priority"]) == (category, priority)
    assert (dispute["scope"], dispute["systemic"]) == ("single", False)


# Unknown values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("reason", "changed_my_mind"), ("remedy", "replacement"), ("channel", "carrier_pigeon")],
)
def test_unknown_reason_remedy_or_channel_is_refused_naming_the_field(
    world: World, field: str, value: str
) -> None:
    buyer, _seller, order_id = world.parties()
    response = world.call(buyer, "POST", "/v1/disputes", json=body(order_id, **{field: value}))
    details = assert_error(response, 422, "validation_failed")
    assert field in details
    assert disputes_of(world, buyer) == []


@pytest.mark.parametrize("amount", [0, -1, 12.5, "5000"])
def test_an_amount_that_is_not_positive_integer_money_is_refused(world: World, amount: Any) -> None:
    buyer, _seller, order_id = world.parties()
    response = world.call(buyer, "POST", "/v1/disputes", json=body(order_id, amount=amount))
    assert "amount" in assert_error(response, 422, "validation_failed")
    assert disputes_of(world, buyer) == []


# How much may be asked ----------------------------------------------------------------------------


def test_more_than_the_order_amount_is_refused(world: World) -> None:
    buyer, _seller, order_id = world.parties(amount=10_000)
    response = world.call(buyer, "POST", "/v1/disputes", json=body(order_id, amount=10_001))
    assert "amount" in assert_error(response, 422, "validation_failed")
    assert disputes_of(world, buyer) == []


def test_the_whole_order_amount_may_be_asked(world: World) -> None:
    buyer, _seller, order_id = world.parties(amount=10_000)
    assert world.file(buyer, order_id, amount=10_000)["amount"] == 10_000


def test_a_new_request_may_ask_only_what_was_not_yet_refunded(world: World) -> None:
    buyer, seller, order_id = world.parties(amount=10_000)
    first = world.file(buyer, order_id, amount=6_000)
    world.ok(seller, first["id"], "accept")
    assert refunded(world, order_id) == 6_000

    response = world.call(buyer, "POST", "/v1/disputes", json=body(order_id, amount=4_001))
    details = assert_error(response, 422, "validation_failed")
    assert "4000" in details["amount"][0]
    assert [d["id"] for d in disputes_of(world, buyer)] == [first["id"]]

    second = world.file(buyer, order_id, amount=4_000)
    world.ok(seller, second["id"], "accept")
    assert refunded(world, order_id) == 10_000


def test_nothing_more_may_be_asked_on_a_fully_refunded_order(world: World) -> None:
    buyer, seller, order_id = world.parties(amount=10_000)
    world.ok(seller, world.file(buyer, order_id, amount=10_000)["id"], "accept")
    response = world.call(buyer, "POST", "/v1/disputes", json=body(order_id, amount=1))
    assert "amount" in assert_error(response, 422, "validation_failed")
    assert refunded(world, order_id) == 10_000


def test_items_cap_the_amount_at_the_value_of_the_named_lines(world: World) -> None:
    buyer, _seller, order_id = two_line_order(world)
    items = [{"listing_id": "lst-a", "quantity": 1}]
    response = world.call(
        buyer, "POST", "/v1/disputes", json=body(order_id, amount=1_501, items=items)
    )
    assert "amount" in assert_error(response, 422, "validation_failed")
    assert disputes_of(world, buyer) == []

    dispute = world.file(buyer, order_id, amount=1_500, items=items)
    assert dispute["items"] == [{"listing_id": "lst-a", "quantity": 1, "value": 1_500}]


def test_several_named_lines_add_up_to_the_cap(world: World) -> None:
    buyer, _seller, order_id = two_line_order(world)
    items = [{"listing_id": "lst-a", "quantity": 2}, {"listing_id": "lst-b", "quantity": 1}]
    dispute = world.file(buyer, order_id, amount=10_000, items=items)
    assert sorted((i["listing_id"], i["value"]) for i in dispute["items"]) == [
        ("lst-a", 3_000),
        ("lst-b", 7_000),
    ]


@pytest.mark.parametrize(
    "items",
    [
        [{"listing_id": "lst-zzz", "quantity": 1}],
        [{"listing_id": "lst-a", "quantity": 3}],
        [{"listing_id": "lst-a", "quantity": 0}],
        [{"listing_id": "lst-a", "quantity": 1}, {"listing_id": "lst-a", "quantity": 1}],
        [],
    ],
    ids=["unknown-listing", "too-many", "zero", "listed-twice", "empty"],
)
def test_items_that_do_not_match_the_order_are_refused(
    world: World, items: list[dict[str, Any]]
) -> None:
    buyer, _seller, order_id = two_line_order(world)
    response = world.call(
        buyer, "POST", "/v1/disputes", json=body(order_id, amount=1_000, items=items)
    )
    assert "items" in assert_error(response, 422, "validation_failed")
    assert disputes_of(world, buyer) == []


# One open dispute per order -----------------------------------------------------------------------


def test_second_open_dispute_on_an_order_is_refused(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    first = world.file(buyer, order_id, amount=1_000)
    response = world.call(buyer, "POST", "/v1/disputes", json=body(order_id, amount=1_000))
    details = assert_error(response, 409, "open_dispute_exists")
    assert details["dispute_id"] == first["id"]
    assert [d["id"] for d in disputes_of(world, buyer)] == [first["id"]]
    assert world.read(buyer, first["id"])["version"] == 1


def test_a_new_dispute_is_allowed_once_the_first_is_closed(world: World) -> None:
    buyer, _seller, order_id = world.parties()
    first = world.file(buyer, order_id, amount=1_000)
    world.ok(buyer, first["id"], "withdraw")
    second = world.file(buyer, order_id, amount=1_000)
    assert second["id"] != first["id"]
    assert second["status"] == "awaiting_seller"


# Who may file -------------------------------------------------------------------------------------


def test_a_seller_may_not_file(world: World) -> None:
    buyer, seller, order_id = world.parties()
    response = world.call(seller, "POST", "/v1/disputes", json=body(order_id))
    assert_error(response, 403, "forbidden")
    assert disputes_of(world, buyer) == []


def test_a_buyer_may_not_file_on_another_buyers_order(world: World) -> None:
    owner, _seller, order_id = world.parties()
    stranger = world.account("buyer")
    response = world.call(stranger, "POST", "/v1/disputes", json=body(order_id))
    assert "order_id" in assert_error(response, 422, "validation_failed")
    assert disputes_of(world, owner) == []
    assert disputes_of(world, stranger) == []


def test_filing_on_an_unknown_order_is_refused(world: World) -> None:
    buyer = world.account("buyer")
    response = world.call(buyer, "POST", "/v1/disputes", json=body("ord-nowhere"))
    assert "order_id" in assert_error(response, 422, "validation_failed")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer arb_not-a-token"}, {"Authorization": "Basic dXNlcjpwdw=="}],
    ids=["no-header", "unknown-token", "not-bearer"],
)
def test_filing_without_a_valid_token_is_unauthorized(
    world: World, headers: dict[str, str]
) -> None:
    buyer, _seller, order_id = world.parties()
    response = world.client.post("/v1/disputes", json=body(order_id), headers=headers)
    assert_error(response, 401, "unauthorized")
    assert disputes_of(world, buyer) == []


def test_authentication_comes_before_body_validation(world: World) -> None:
    response = world.client.post("/v1/disputes", json={"reason": "nonsense"})
    assert_error(response, 401, "unauthorized")


# Batch scope --------------------------------------------------------------------------------------


def file_on_listing(world: World, listing: str, reason: str = "counterfeit") -> dict[str, Any]:
    """A fresh buyer files on a fresh order of the shared ``listing``."""
    buyer, seller = world.account("buyer"), world.account("seller")
    items = [{"listing_id": listing, "title": "Bag", "quantity": 1, "unit_price": 10_000}]
    order_id = world.order(buyer=buyer, seller=seller, items=items)
    return world.file(buyer, order_id, reason=reason)


def test_five_open_disputes_on_a_listing_for_one_reason_are_all_flagged_as_a_batch(
    world: World, clock: ManualClock
) -> None:
    filed = []
    for _ in range(4):
        filed.append(file_on_listing(world, "lst-bag"))
        clock.advance(timedelta(days=1))
    assert all(
        world.read("platform", d["id"])["scope"] == "single" and not d["systemic"] for d in filed
    )

    fifth = file_on_listing(world, "lst-bag")
    assert (fifth["scope"], fifth["systemic"]) == ("batch", True)
    for dispute in filed:
        seen = world.read("platform", dispute["id"])
        assert (seen["scope"], seen["systemic"]) == ("batch", True)
        events = world.call("platform", "GET", f"/v1/disputes/{dispute['id']}/events").json
        flags = [e for e in events["data"] if e["action"] == "flag-systemic"]
        assert len(flags) == 1
        assert flags[0]["actor"] == "system"
        assert flags[0]["payload"] == {"listing_id": "lst-bag", "open_disputes": 5}

    sixth = file_on_listing(world, "lst-bag")
    assert (sixth["scope"], sixth["systemic"]) == ("batch", True)
    events = world.call("platform", "GET", f"/v1/disputes/{sixth['id']}/events").json
    flags = [e for e in events["data"] if e["action"] == "flag-systemic"]
    assert [set(flag["payload"]) for flag in flags] == [{"listing_id", "joined"}]
    assert flags[0]["payload"]["joined"] in {d["id"] for d in [*filed, fifth]}


def test_four_open_disputes_on_a_listing_are_not_a_batch(world: World) -> None:
    filed = [file_on_listing(world, "lst-bag") for _ in range(4)]
    for dispute in filed:
        seen = world.read("platform", dispute["id"])
        assert (seen["scope"], seen["systemic"]) == ("single", False)


def test_disputes_with_other_reasons_or_listings_do_not_make_a_batch(world: World) -> None:
    for _ in range(3):
        file_on_listing(world, "lst-bag")
    file_on_listing(world, "lst-bag", reason="damaged")
    file_on_listing(world, "lst-other")
    last = file_on_listing(world, "lst-bag", reason="damaged")
    assert (last["scope"], last["systemic"]) == ("single", False)


def test_disputes_older_than_the_window_or_closed_do_not_count_toward_a_batch(
    world: World, clock: ManualClock
) -> None:
    old = file_on_listing(world, "lst-bag")
    clock.advance(timedelta(days=7, seconds=1))
    withdrawn = file_on_listing(world, "lst-bag")
    world.ok(withdrawn["buyer_id"], withdrawn["id"], "withdraw")
    for _ in range(3):
        file_on_listing(world, "lst-bag")
    last = file_on_listing(world, "lst-bag")
    assert (last["scope"], last["systemic"]) == ("single", False)
    assert world.read("platform", old["id"])["systemic"] is False
