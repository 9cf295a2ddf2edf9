"""A client generated from /v1/openapi.json drives a whole dispute with real types (DESIGN §9).

openapi-python-client writes a typed package from the live document; the test imports it and plays
the platform, a buyer and a seller through its functions. It fails if the generator warns, if a
call answers a status the document does not list, or if any value comes back untyped: a dict where
a model belongs, ``Unset`` for a field the API always sends, a string where an enum or a datetime
belongs.
"""

from __future__ import annotations

import enum
import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
from flask import Flask

from tests.support.world import World

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
PACKAGE = "arbitration_client"
# Models that are maps by design (error details, event payloads): their values are free-form.
FREE_FORM = {"ErrorBodyDetails", "EventOutPayload"}

pytestmark = pytest.mark.slow


@pytest.fixture
def generated(app: Flask, tmp_path: Path) -> Iterator[ModuleType]:
    """Generate the client from the app's document into ``tmp_path`` and import it."""
    document = tmp_path / "openapi.json"
    document.write_bytes(app.test_client().get("/v1/openapi.json").get_data())
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")  # no formatter on the output
    result = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


class Api:
    """The generated package, reached by operation name: ``api.call("post_v1_disputes", ...)``."""

    def __init__(self, package: ModuleType, app: Flask) -> None:
        self.package = package
        self.app = app
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.unset = importlib.import_module(f"{PACKAGE}.types").Unset

    def client(self, token: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url="http://engine.test",
            token=token,
            raise_on_unexpected_status=True,
            httpx_args={"transport": httpx.WSGITransport(app=self.app)},
        )

    def call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        for tag in ("accounts", "orders", "disputes"):
            try:
                module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
            except ModuleNotFoundError:
                continue
            response = module.sync_detailed(*args, **kwargs)
            assert_typed(response.parsed, self.unset, operation)
            return response
        raise AssertionError(f"no generated operation {operation}")

    def ok(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        response = self.call(operation, *args, **kwargs)
        assert response.status_code in (200, 201), response.content
        assert type(response.parsed).__name__ != "ErrorOut", response.content
        return response.parsed


def assert_typed(value: Any, unset: type, path: str) -> None:
    """Every value is a model, an enum, a datetime or a scalar: never a raw dict or ``Unset``."""
    assert not isinstance(value, unset), f"{path} is Unset"
    assert not isinstance(value, dict), f"{path} is an untyped dict: {value}"
    if isinstance(value, list):
        for index, item in enumerate(value):
            assert_typed(item, unset, f"{path}[{index}]")
    elif attrs.has(type(value)) and type(value).__name__ not in FREE_FORM:
        for field in attrs.fields(type(value)):
            assert field.name != "additional_properties", f"{path} allows unknown keys"
            assert_typed(getattr(value, field.name), unset, f"{path}.{field.name}")


def test_a_generated_client_drives_a_two_party_dispute_with_real_types(
    app: Flask, world: World, generated: ModuleType
) -> None:
    api = Api(generated, app)
    m = api.models
    platform = api.client(world.tokens["platform"])

    # The platform provisions its buyer and seller, and their tokens.
    for account_id, role in (("mkt-buyer", m.AccountInRole.BUYER), ("mkt-seller", "seller")):
        created = api.ok(
            "put_v1_accounts_account_id",
            account_id,
            client=platform,
            body=m.AccountIn(role=m.AccountInRole(role), display_name=account_id.title()),
        )
        assert isinstance(created, m.AccountOut)
        assert created.role == m.AccountOutRole(role)
        assert isinstance(created.created_at, datetime)
    tokens = {
        account_id: api.ok("post_v1_accounts_account_id_tokens", account_id, client=platform).token
        for account_id in ("mkt-buyer", "mkt-seller")
    }
    buyer, seller = api.client(tokens["mkt-buyer"]), api.client(tokens["mkt-seller"])

    # An order of two lines.
    lines = [
        m.OrderLineIn(listing_id="lst-1", title="Kettle", quantity=1, unit_price=6_000),
        m.OrderLineIn(listing_id="lst-2", title="Mug", quantity=2, unit_price=2_000),
    ]
    order = api.ok(
        "put_v1_orders_order_id",
        "ord-1",
        client=platform,
        body=m.OrderIn(
            buyer_id="mkt-buyer",
            seller_id="mkt-seller",
            amount=10_000,
            currency="USD",
            status=m.OrderInStatus.DELIVERED,
            items=lines,
        ),
    )
    assert order.status == m.OrderOutStatus.DELIVERED
    assert [line.title for line in order.items] == ["Kettle", "Mug"]

    # The buyer files, with an idempotency key; a retry gets the same dispute back.
    filing = m.DisputeIn(
        order_id="ord-1",
        reason=m.DisputeInReason.NOT_AS_DESCRIBED,
        remedy=m.DisputeInRemedy.REFUND_ONLY,
        amount=6_000,
        description="the kettle leaks",
        items=[m.DisputeItemIn(listing_id="lst-1", quantity=1)],
    )
    dispute = api.ok("post_v1_disputes", client=buyer, body=filing, idempotency_key="file-1")
    again = api.ok("post_v1_disputes", client=buyer, body=filing, idempotency_key="file-1")
    assert again.id == dispute.id
    assert dispute.status == m.DisputeOutStatus.AWAITING_SELLER
    assert dispute.awaiting == m.DisputeOutAwaitingType0.SELLER
    assert isinstance(dispute.deadline, m.DeadlineOut)
    assert isinstance(dispute.deadline.due_at, datetime)
    assert dispute.deadline.due_at > dispute.created_at
    assert dispute.pending_offer is None and dispute.refund is None and dispute.outcome is None

    # The seller offers half, then rejects; the buyer lowers the claim through the platform.
    offered = api.ok(
        "post_v1_disputes_dispute_id_offer",
        dispute.id,
        client=seller,
        body=m.OfferIn(amount=3_000, note="half"),
    )
    assert isinstance(offered.pending_offer, m.OfferOut)
    assert offered.pending_offer.amount == 3_000
    rejected = api.ok(
        "post_v1_disputes_dispute_id_reject",
        dispute.id,
        client=seller,
        body=m.ReasonIn(reason="works for me"),
    )
    assert rejected.status == m.DisputeOutStatus.SELLER_REJECTED
    modified = api.ok(
        "post_v1_disputes_dispute_id_modify",
        dispute.id,
        client=platform,
        body=m.ModifyIn(amount=4_000),
        on_behalf_of="mkt-buyer",
    )
    assert modified.status == m.DisputeOutStatus.AWAITING_SELLER
    assert modified.amount == 4_000

    # A second offer, which the buyer takes: closed, settled, a refund instructed.
    api.ok(
        "post_v1_disputes_dispute_id_offer",
        dispute.id,
        client=seller,
        body=m.OfferIn(amount=3_500),
    )
    settled = api.ok("post_v1_disputes_dispute_id_accept_offer", dispute.id, client=buyer)
    assert settled.status == m.DisputeOutStatus.CLOSED
    assert settled.outcome == m.DisputeOutOutcomeType0.SETTLED
    assert isinstance(settled.refund, m.RefundOut)
    assert settled.refund.amount == 3_500
    assert isinstance(settled.refund.instructed_at, datetime)
    assert settled.deadline is None and isinstance(settled.closed_at, datetime)

    # A refusal is typed too: the documented 409 in the error shape.
    refused = api.call("post_v1_disputes_dispute_id_accept_offer", dispute.id, client=buyer)
    assert refused.status_code == 409
    assert isinstance(refused.parsed, m.ErrorOut)
    assert refused.parsed.error.code == "action_not_allowed"

    # The timeline and the list.
    events = api.ok("get_v1_disputes_dispute_id_events", dispute.id, client=seller)
    assert isinstance(events, m.EventPageOut)
    assert events.data[-1].to_status == m.EventOutToStatus.CLOSED
    assert all(isinstance(event.occurred_at, datetime) for event in events.data)
    page = api.ok("get_v1_disputes", client=buyer)
    assert [item.id for item in page.data] == [dispute.id]


def test_a_generated_client_follows_a_return_with_typed_shipment(
    app: Flask, world: World, generated: ModuleType
) -> None:
    api = Api(generated, app)
    m = api.models
    buyer_id, seller_id, order_id = world.parties()
    buyer, seller = api.client(world.tokens[buyer_id]), api.client(world.tokens[seller_id])
    filing = m.DisputeIn(
        order_id=order_id,
        reason=m.DisputeInReason.DAMAGED,
        remedy=m.DisputeInRemedy.RETURN_AND_REFUND,
        amount=10_000,
        channel=m.DisputeInChannel.APP,
    )

    dispute = api.ok("post_v1_disputes", client=buyer, body=filing)
    accepted = api.ok(
        "post_v1_disputes_dispute_id_accept", dispute.id, client=seller, body=m.EmptyIn()
    )
    shipped = api.ok(
        "post_v1_disputes_dispute_id_ship_return",
        dispute.id,
        client=buyer,
        body=m.ShipReturnIn(carrier="DHL", tracking_number="JD0001"),
    )
    confirmed = api.ok("post_v1_disputes_dispute_id_confirm_return", dispute.id, client=seller)

    assert accepted.status == m.DisputeOutStatus.AWAITING_RETURN
    assert accepted.return_shipment is None
    assert isinstance(shipped.return_shipment, m.ReturnShipmentOut)
    assert isinstance(shipped.return_shipment.shipped_at, datetime)
    assert shipped.deadline.party == m.DeadlineOutPartyType0.SELLER
    assert confirmed.outcome == m.DisputeOutOutcomeType0.REFUNDED
    assert confirmed.refund.amount == 10_000
    assert isinstance(confirmed.category, enum.Enum) and isinstance(confirmed.priority, enum.Enum)
