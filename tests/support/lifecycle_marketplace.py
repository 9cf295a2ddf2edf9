"""The small marketplace the lifecycle's property test (``tests/reliability/test_properties.py``)
plays in: one seller, a buyer per order, an arbitrator, a senior, trust & safety and a clock that
jumps, over the real HTTP app on its own copy of the migrated database; how the test talks to it,
reads it back (once per change) and what a sensible client would send for each action. The rules
and the invariants are the test's.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from werkzeug.test import TestResponse

from api.app import create_app
from api.config import Config
from arbitration.clock import ManualClock
from arbitration.policy import REASONS, load_policy
from tests.support import databases
from tests.support.world import World

TEXTS = ("The grille arrived cracked.", "Not what the listing showed", "x", "déjà vu ✓")


def money_up_to(low: int, high: int) -> st.SearchStrategy[int]:
    """An amount in minor units, often at the edges (one cent, the most allowed) where money breaks."""
    high = max(low, high)
    return st.one_of(st.sampled_from(sorted({low, high})), st.integers(low, high))


class Marketplace(RuleBasedStateMachine):
    """A small marketplace: one seller, a buyer per order, an arbitrator, a clock that jumps."""

    # The migrated database every example starts from a copy of (set by the property test).
    template = ""

    def __init__(self) -> None:
        super().__init__()
        self.database_url = databases.clone(self.template)
        self.evidence_dir = tempfile.mkdtemp(prefix="arbitration-evidence-")
        self.clock = ManualClock()
        self.policy = load_policy()
        self.app = create_app(
            Config(
                database_url=self.database_url,
                policy=self.policy,
                clock=self.clock,
                evidence_dir=self.evidence_dir,
                testing=True,
            )
        )
        self.world = World(self.app, self.app.test_client())
        self.seller = self.world.account("seller", "seller-acme")
        self.arbitrator = self.world.account("arbitrator", "arbitrator-ann")
        self.senior = self.world.account("senior_arbitrator", "senior-sam")
        self.trust_safety = self.world.account("trust_safety", "ts-tess")
        self.evidence_of: Counter[tuple[str, str]] = Counter()  # (dispute, party) -> files
        self.buyer_of: dict[str, str] = {}
        self.lines_of: dict[str, list[dict[str, Any]]] = {}
        self.disputes_of: dict[str, list[str]] = {}
        self.order_of: dict[str, str] = {}
        self.closed: dict[str, tuple[Any, ...]] = {}
        self._generation = 0
        self._snapshot: tuple[int, dict[str, Any]] | None = None

    def teardown(self) -> None:
        self.app.extensions["arbitration"].database.dispose()
        databases.drop(self.database_url)
        shutil.rmtree(self.evidence_dir, ignore_errors=True)

    # Talking to the app ------------------------------------------------------------------------

    def write(self, who: str, method: str, path: str, **kwargs: Any) -> TestResponse:
        self._generation += 1
        return self.world.call(who, method, path, **kwargs)

    def get(self, who: str, path: str) -> Any:
        response = self.world.call(who, "GET", path)
        assert response.status_code == 200, (path, response.json)
        return response.json

    def party_id(self, dispute_id: str, party: str) -> str:
        return self.buyer_of[self.order_of[dispute_id]] if party == "buyer" else self.seller

    def snapshot(self) -> dict[str, Any]:
        """Orders, disputes and timelines as the platform sees them, read once per change."""
        if self._snapshot is None or self._snapshot[0] != self._generation:
            platform = self.world.platform
            listed = self.get(platform, "/v1/disputes?limit=200")["data"]
            self._snapshot = (
                self._generation,
                {
                    "orders": {o: self.get(platform, f"/v1/orders/{o}") for o in self.buyer_of},
                    "disputes": {dispute["id"]: dispute for dispute in listed},
                    "events": {
                        d: self.get(platform, f"/v1/disputes/{d}/events")["data"]
                        for d in self.order_of
                    },
                },
            )
        return self._snapshot[1]

    def refundable_cap(self, order_id: str, listing_ids: list[str] | None) -> int:
        order = self.snapshot()["orders"][order_id]
        remaining = order["amount"] - order["refunded_amount"]
        lines = self.lines_of[order_id]
        if listing_ids is None:
            return remaining
        value = sum(line["unit_price"] for line in lines if line["listing_id"] in listing_ids)
        return min(remaining, value)

    def valid_params(
        self, data: st.DataObject, action: str, dispute: dict[str, Any]
    ) -> dict[str, Any]:
        """Parameters the action's schema and use case accept, as a sensible client would send."""
        if action == "reject":
            return {"reason": data.draw(st.sampled_from(TEXTS))}
        if action == "offer":
            return {"amount": data.draw(money_up_to(1, dispute["amount"] - 1))}
        if action == "modify":
            cap = self.refundable_cap(
                dispute["order_id"], [item["listing_id"] for item in dispute["items"]]
            )
            change = data.draw(st.sampled_from(("amount", "reason", "description")))
            if change == "amount":
                return {"amount": data.draw(money_up_to(1, cap))}
            if change == "reason":
                return {"reason": data.draw(st.sampled_from(REASONS))}
            return {"description": data.draw(st.sampled_from(TEXTS))}
        if action == "ship-return":
            return {
                "carrier": data.draw(st.sampled_from(("UPS", "SF Express"))),
                "tracking_number": data.draw(st.sampled_from(("1Z999", "SF-0042"))),
            }
        if action == "dispute-return":
            return {
                "problem": data.draw(st.sampled_from(("missing", "damaged", "not_original"))),
                "reason": data.draw(st.sampled_from(TEXTS)),
            }
        if action in ("withdraw", "escalate") and data.draw(st.booleans()):
            return {"reason": data.draw(st.sampled_from(TEXTS))}
        if action == "request-info":
            return {"party": "both", "question": "Photos of the box, please."}
        if action == "appeal":
            return {"reason": data.draw(st.sampled_from(TEXTS))}
        if action == "decide":
            return self.ruling(data, dispute)
        return {}

    def ruling(self, data: st.DataObject, dispute: dict[str, Any]) -> dict[str, Any]:
        """Terms a careful arbitrator might rule, within the request (one of the three outcomes)."""
        outcomes = ["buyer_full_refund", "seller_favored"]
        if dispute["amount"] > 1:
            outcomes.append("buyer_partial_refund")
        outcome = data.draw(st.sampled_from(outcomes), label="outcome")
        terms: dict[str, Any] = {"outcome": outcome, "rationale": "As the evidence shows."}
        if outcome == "seller_favored":
            return terms | {"responsibility": data.draw(st.sampled_from(("buyer", "logistics")))}
        if outcome == "buyer_partial_refund":
            terms["refund_amount"] = data.draw(money_up_to(1, dispute["amount"] - 1))
        terms["responsibility"] = "seller"
        if data.draw(st.booleans(), label="names a violation"):
            terms["violation"] = data.draw(st.sampled_from(("not_as_described", "counterfeit")))
        return terms
