"""The world the authorization matrix asks about: two marketplaces (the callers' and another),
the staff, resources built on demand through the real API, and a fingerprint of every table that a
refusal must leave alone. ``tests/support/authorization_table.py`` says who may call what, and
``tests/reliability/test_authorization_matrix.py`` asks.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from sqlalchemy import MetaData, func, select, text, union_all

from tests.support.evidence import PNG
from tests.support.world import World
from webhooks import outbox

HIDDEN_TEXT = "The buyer's last three orders were resold: arbitrators only."
RULING = {
    "outcome": "buyer_partial_refund",
    "refund_amount": 2_500,
    "responsibility": "shared",
    "rationale": "Both sides share the blame.",
}

BUYER_AT_FAULT = {
    "outcome": "seller_favored",
    "responsibility": "buyer",
    "buyer_violation": "unjustified_claim",
    "rationale": "The claim has no basis.",
}


class Cast:
    """One marketplace: a buyer and a seller, the arbitrators their cases go to, and resources
    built on demand through the real API (``ids``: resource key → id)."""

    def __init__(self, matrix: Matrix, *, arbitrator: str, senior: str) -> None:
        self.matrix = matrix
        self.world = matrix.world
        self.arbitrator = arbitrator
        self.senior = senior
        self.buyer = self.world.account("buyer")
        self.seller = self.world.account("seller")
        self.ids: dict[str, str] = {"account:buyer": self.buyer, "seller": self.seller}

    def get(self, key: str) -> str:
        if key not in self.ids:
            self.build(key)
        return self.ids[key]

    def build(self, key: str) -> None:
        w, buyer, seller = self.world, self.buyer, self.seller
        kind, _, name = key.partition(":")
        if key == "order:free":
            self.ids[key] = w.order(buyer=buyer, seller=seller)
        elif key == "account:staff":
            self.ids[key] = self.matrix.unrelated_staff
        elif kind == "dispute":
            self.ids[key] = self._dispute(name)
        elif kind == "evidence":
            self._evidence()
        elif kind == "penalty":
            self._penalties()
        elif key == "recovery:open":
            self.ids[key] = self._recovery()
        elif key == "buyer:under_review":
            self.ids[key] = self._buyer_under_review()
        elif kind == "webhook":
            self._webhook()
        else:
            raise KeyError(key)

    def _file(self, **overrides: Any) -> str:
        return self.world.file(
            self.buyer, self.world.order(buyer=self.buyer, seller=self.seller), **overrides
        )["id"]

    def _dispute(self, stage: str) -> str:
        w, buyer, seller = self.world, self.buyer, self.seller
        if stage == "awaiting_seller":
            return self._file()
        if stage == "offered":
            dispute = self._file()
            w.ok(seller, dispute, "offer", amount=2_000)
        elif stage == "refunded":
            dispute = self._file()
            w.ok(seller, dispute, "accept")
        elif stage in ("awaiting_return", "return_in_transit"):
            dispute = self._file(remedy="return_and_refund")
            w.ok(seller, dispute, "accept")
            if stage == "return_in_transit":
                w.ok(buyer, dispute, "ship-return", carrier="SF Express", tracking_number="SF1")
        elif stage in ("awaiting_fulfilment", "fulfilment_in_transit"):
            dispute = self._file(remedy="reship", reason="missing_parts")
            w.ok(seller, dispute, "accept")
            if stage == "fulfilment_in_transit":
                w.ok(
                    seller, dispute, "ship-fulfilment", carrier="SF Express", tracking_number="SF2"
                )
        elif stage == "repair_awaiting_fulfilment":
            dispute = self._file(remedy="repair", reason="quality_issue")
            w.ok(seller, dispute, "accept")
            w.ok(buyer, dispute, "ship-return", carrier="SF Express", tracking_number="SF3")
            w.ok(seller, dispute, "confirm-return")
        elif stage == "compensated":
            dispute = self._file()
            w.ok(seller, dispute, "offer", compensation={"kind": "coupon", "amount": 800})
            w.ok(buyer, dispute, "accept-offer")
        elif stage == "urgent_awaiting_decision":
            dispute = self._file(reason="safety_hazard")
            w.ok(seller, dispute, "reject", reason="It matches the listing.")
            w.ok(buyer, dispute, "escalate")
            w.ok(buyer, dispute, "evidence-done")
            w.ok(seller, dispute, "evidence-done")
        else:
            dispute = self._file()
            w.ok(seller, dispute, "reject", reason="It matches the listing.")
            # How many of the steps below each stage takes after the seller's rejection.
            taken = {
                "seller_rejected": 0,
                "gathering_evidence": 1,
                "awaiting_decision": 3,
                "claimed": 4,
                "decided": 5,
                "under_appeal": 6,
            }
            steps: list[tuple[str, str, dict[str, Any]]] = [
                (buyer, "escalate", {}),
                (buyer, "evidence-done", {}),
                (seller, "evidence-done", {}),
                (self.arbitrator, "claim", {}),
                (self.arbitrator, "decide", RULING),
                (buyer, "appeal", {"reason": "The split is unfair."}),
            ]
            for who, action, body in steps[: taken[stage]]:
                w.ok(who, dispute, action, **body)
            if stage == "under_appeal":
                w.ok(self.senior, dispute, "claim")
        return dispute

    def _evidence(self) -> None:
        dispute = self.get("dispute:gathering_evidence")
        photo = self.world.call(
            self.buyer,
            "POST",
            f"/v1/disputes/{dispute}/evidence",
            data={"kind": "photo", "file": (io.BytesIO(PNG), "photo.png")},
            content_type="multipart/form-data",
        )
        assert photo.status_code == 201, photo.json
        hidden = self.world.call(
            self.seller,
            "POST",
            f"/v1/disputes/{dispute}/evidence",
            json={"kind": "statement", "text": HIDDEN_TEXT, "visibility": "arbitrators_only"},
        )
        assert hidden.status_code == 201, hidden.json
        self.ids["evidence:buyer_photo"] = photo.json["id"]
        self.ids["evidence:seller_hidden"] = hidden.json["id"]
        self.hidden_sha256 = hidden.json["sha256"]

    def _penalties(self) -> None:
        """Two severe violations: a listing restriction and search shielding apply at once, an
        account freeze waits for review; the seller appeals the listing restriction."""
        w, ts = self.world, self.matrix.trust_safety
        for _ in range(2):
            response = w.call(
                ts,
                "POST",
                f"/v1/sellers/{self.seller}/violations",
                json={"kind": "counterfeit", "note": "Fake, confirmed by the brand."},
            )
            assert response.status_code == 201, response.json
        listed = w.call(ts, "GET", "/v1/penalties", query_string={"seller_id": self.seller})
        assert listed.status_code == 200, listed.json
        by_kind = {penalty["kind"]: penalty for penalty in listed.json["data"]}
        assert by_kind["account_freeze"]["status"] == "pending_review", by_kind
        assert by_kind["search_shielding"]["status"] == "active", by_kind
        appealed = by_kind["listing_restriction"]["id"]
        response = w.call(
            self.seller, "POST", f"/v1/penalties/{appealed}/appeal", json={"reason": "Genuine."}
        )
        assert response.status_code == 200, response.json
        self.ids["penalty:pending"] = by_kind["account_freeze"]["id"]
        self.ids["penalty:active"] = by_kind["search_shielding"]["id"]
        self.ids["penalty:appealed"] = appealed

    def _recovery(self) -> str:
        """The platform paid the decided dispute's refund first (the matrix's policy pays rulings
        up to RULING's amount first): the seller owes it back."""
        decided = self.get("dispute:decided")
        standing = self.world.call(
            self.matrix.trust_safety, "GET", f"/v1/sellers/{self.seller}/standing"
        )
        assert standing.status_code == 200, standing.json
        [owed] = [r for r in standing.json["open_recoveries"] if r["dispute_id"] == decided]
        return str(owed["id"])

    def _buyer_under_review(self) -> str:
        """The cast's buyer loses three claims as unjustified: under review."""
        for _ in range(3):
            dispute = self._dispute("claimed")
            self.world.ok(self.arbitrator, dispute, "decide", **BUYER_AT_FAULT)
        return self.buyer

    def _webhook(self) -> None:
        """An endpoint of the platform's (nothing delivers in these tests) and one delivery to it,
        fanned out as the delivery job's first step does."""
        w = self.world
        created = w.call(
            w.platform, "POST", "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hooks"}
        )
        assert created.status_code == 201, created.json
        self._file()
        services = w.app.extensions["arbitration"]
        outbox.fan_out(services.database, policy=services.policy.webhooks)
        listed = w.call(
            w.platform,
            "GET",
            "/v1/webhook-deliveries",
            query_string={"endpoint_id": created.json["id"]},
        )
        assert listed.status_code == 200 and listed.json["data"], listed.json
        self.ids["webhook:endpoint"] = created.json["id"]
        self.ids["webhook:delivery"] = listed.json["data"][0]["id"]


class Matrix:
    """The module's world: staff, two marketplaces (A: the callers', B: another), and requests
    as any caller."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.world = World(app, app.test_client())
        w = self.world
        self.arbitrator, self.arbitrator2 = w.account("arbitrator"), w.account("arbitrator")
        self.senior, self.senior2 = w.account("senior_arbitrator"), w.account("senior_arbitrator")
        self.trust_safety = w.account("trust_safety")
        self.admin = w.account("admin")
        self.unrelated_staff = w.account("arbitrator")  # relations are recorded for this one only
        self.a = Cast(self, arbitrator=self.arbitrator, senior=self.senior)
        self.b = Cast(self, arbitrator=self.arbitrator2, senior=self.senior2)
        engine = app.extensions["arbitration"].database.engine
        self.engine = engine
        self.metadata = MetaData()
        self.metadata.reflect(engine)

    def fresh(self, like: Cast) -> Cast:
        """A new marketplace with the same arbitrators as ``like``, for a case that changes things."""
        return Cast(self, arbitrator=like.arbitrator, senior=like.senior)

    def staff_id(self, caller: str) -> str:
        return {
            "arbitrator": self.arbitrator,
            "senior_arbitrator": self.senior,
            "trust_safety": self.trust_safety,
            "platform": self.world.platform,
            "admin": self.admin,
        }[caller]

    def account_of(self, caller: str, cast: Cast) -> str | None:
        """The account a caller acts as (for the platform acting for someone, the principal)."""
        if caller == "anonymous":
            return None
        if caller in ("buyer", "platform_for_buyer"):
            return cast.buyer
        if caller in ("seller", "platform_for_seller"):
            return cast.seller
        return self.staff_id(caller)

    def headers(self, caller: str, cast: Cast) -> dict[str, str]:
        tokens = self.world.tokens
        if caller == "anonymous":
            return {}
        if caller.startswith("platform_for_"):
            principal = self.account_of(caller, cast)
            assert principal is not None
            bearer = tokens[self.world.platform]
            return {"Authorization": f"Bearer {bearer}", "On-Behalf-Of": principal}
        account = self.account_of(caller, cast)
        assert account is not None
        return {"Authorization": f"Bearer {tokens[account]}"}

    def fingerprint(self) -> tuple[Any, ...]:
        """What a refusal must leave alone: every table's row count, every dispute's version,
        penalties' states, refunds confirmed, accounts' and orders' contents."""
        tables = self.metadata.tables
        counts = union_all(
            *(
                select(text(f"'{name}'"), func.count()).select_from(table)
                for name, table in sorted(tables.items())
            )
        )
        queries = (
            counts,
            select(func.sum(tables["disputes"].c.version)),
            _columns(tables["penalties"], "status"),
            select(tables["refunds"].c.id, tables["refunds"].c.confirmed_at),
            select(tables["compensations"].c.id, tables["compensations"].c.confirmed_at),
            select(tables["accounts"]),
            select(tables["orders"]),
            _columns(tables["recoveries"], "status"),
            select(tables["buyer_standings"].c.buyer_id, tables["buyer_standings"].c.review_status),
        )
        with self.engine.connect() as connection:
            return tuple(
                sorted(map(tuple, connection.execute(query)), key=repr) for query in queries
            )


def _columns(table: Any, *names: str) -> Any:
    columns = [table.c.id, *(table.c[name] for name in names)]
    columns += [table.c[name] for name in ("appeal_status",) if name in table.c]
    return select(*columns)
