"""A small marketplace for tests, built through the real API: a platform, parties, orders, disputes."""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from arbitration import accounts

_ids = itertools.count(1)


class World:
    """Accounts are created in the database directly (as the CLI does); all else goes over HTTP."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self.tokens: dict[str, str] = {}
        self.platform = self.account("platform", "platform")

    # Accounts and orders ---------------------------------------------------------------------

    def account(self, role: str, account_id: str | None = None) -> str:
        services = self.app.extensions["arbitration"]
        account_id = account_id or f"{role}-{next(_ids)}"
        with services.database.unit_of_work() as session:
            _, token = accounts.create_account(
                session,
                role=role,
                display_name=account_id.title(),
                account_id=account_id,
                at=services.clock.now(),
            )
        self.tokens[account_id] = token
        return account_id

    def order(
        self,
        *,
        buyer: str,
        seller: str,
        amount: int = 10_000,
        status: str = "delivered",
        items: list[dict[str, Any]] | None = None,
        order_id: str | None = None,
    ) -> str:
        order_id = order_id or f"ord-{next(_ids)}"
        if items is None:
            items = [
                {
                    "listing_id": f"lst-{order_id}",
                    "title": "Thing",
                    "quantity": 1,
                    "unit_price": amount,
                }
            ]
        body = {
            "buyer_id": buyer,
            "seller_id": seller,
            "amount": amount,
            "currency": "USD",
            "status": status,
            "items": items,
        }
        response = self.call("platform", "PUT", f"/v1/orders/{order_id}", json=body)
        assert response.status_code in (200, 201), response.json
        return order_id

    def parties(self, **order_kwargs: Any) -> tuple[str, str, str]:
        """A fresh buyer, seller and an order between them: (buyer, seller, order_id)."""
        buyer = self.account("buyer")
        seller = self.account("seller")
        return buyer, seller, self.order(buyer=buyer, seller=seller, **order_kwargs)

    # Disputes --------------------------------------------------------------------------------

    def file(self, buyer: str, order_id: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "order_id": order_id,
            "reason": "not_as_described",
            "remedy": "refund_only",
            "amount": 5_000,
            **overrides,
        }
        response = self.call(buyer, "POST", "/v1/disputes", json=body)
        assert response.status_code == 201, response.json
        return response.json

    def dispute(self, **overrides: Any) -> tuple[dict[str, Any], str, str]:
        """A fresh dispute awaiting its seller: (dispute, buyer, seller)."""
        order_kwargs = {
            k: overrides.pop(k) for k in ("status", "amount", "items") if k in overrides
        }
        buyer, seller, order_id = self.parties(**order_kwargs)
        return self.file(buyer, order_id, **overrides), buyer, seller

    def awaiting_decision(self, **overrides: Any) -> tuple[dict[str, Any], str, str]:
        """A fresh dispute the parties could not settle, waiting for a ruling: (dispute, buyer, seller)."""
        dispute, buyer, seller = self.dispute(**overrides)
        self.ok(seller, dispute["id"], "reject", reason="Works as described.")
        self.ok(buyer, dispute["id"], "escalate", reason="It does not.")
        self.ok(buyer, dispute["id"], "evidence-done")
        return self.ok(seller, dispute["id"], "evidence-done"), buyer, seller

    def under_appeal(self, **overrides: Any) -> tuple[dict[str, Any], str, str]:
        """A fresh dispute whose partial-refund ruling its buyer appealed: (dispute, buyer, seller)."""
        dispute, buyer, seller = self.awaiting_decision(**overrides)
        arbitrator = self.account("arbitrator")
        self.ok(arbitrator, dispute["id"], "claim")
        self.ok(
            arbitrator,
            dispute["id"],
            "decide",
            outcome="buyer_partial_refund",
            refund_amount=100,
            responsibility="seller",
            rationale="Clear from the photos.",
        )
        return self.ok(buyer, dispute["id"], "appeal", reason="Too little."), buyer, seller

    def act(self, who: str, dispute_id: str, action: str, **body: Any) -> TestResponse:
        return self.call(who, "POST", f"/v1/disputes/{dispute_id}/{action}", json=body)

    def ok(self, who: str, dispute_id: str, action: str, **body: Any) -> dict[str, Any]:
        response = self.act(who, dispute_id, action, **body)
        assert response.status_code == 200, response.json
        return response.json

    def read(self, who: str, dispute_id: str) -> dict[str, Any]:
        response = self.call(who, "GET", f"/v1/disputes/{dispute_id}")
        assert response.status_code == 200, response.json
        return response.json

    # HTTP ------------------------------------------------------------------------------------

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)
