"""Remedies beyond money against a real ``arbitration serve`` (DESIGN §1a), over HTTP, with a short
policy: an exchange runs to ``exchanged``, a silent seller's reship is refunded by the system with a
warning on the seller's record, and a repair whose buyer reports a problem goes to the platform with
both sides adding evidence."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningEngine, start_engine

# Only the seller's fulfilment deadline is short: the other steps are taken by the test at once.
SHORT_POLICY = """
[deadlines]
seller_fulfilment = "5s"
"""
_orders = itertools.count(1)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    folder: Path = tmp_path_factory.mktemp("remedies-live")
    policy = folder / "short.toml"
    policy.write_text(SHORT_POLICY)
    running = start_engine(
        folder, {"ARBITRATION_POLICY": str(policy), "ARBITRATION_SCHEDULER_INTERVAL": "0.2"}
    )
    yield running
    running.process.terminate()
    running.process.wait(timeout=10)


def call(engine: RunningEngine, who: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        engine.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {engine.tokens[who]}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path}: {error.code} {error.read().decode()}") from None


def act(engine: RunningEngine, who: str, dispute_id: str, action: str, **body: Any) -> Any:
    return call(engine, who, "POST", f"/v1/disputes/{dispute_id}/{action}", body)


def file(engine: RunningEngine, remedy: str, reason: str) -> dict[str, Any]:
    """A fresh order from Acme Gadgets to Bob, sent as the marketplace would, and Bob's request."""
    order_id = f"ord-live-{remedy}-{next(_orders)}"
    call(
        engine,
        "platform",
        "PUT",
        f"/v1/orders/{order_id}",
        {
            "buyer_id": "bob",
            "seller_id": "acme-gadgets",
            "amount": 4500,
            "currency": "USD",
            "status": "delivered",
            "items": [
                {
                    "listing_id": f"lst-{order_id}",
                    "title": "Kettle",
                    "quantity": 1,
                    "unit_price": 4500,
                }
            ],
        },
    )
    filed = call(
        engine,
        "bob",
        "POST",
        "/v1/disputes",
        {"order_id": order_id, "reason": reason, "remedy": remedy, "amount": 4500},
    )
    assert (filed["status"], filed["remedy"]) == ("awaiting_seller", remedy)
    return filed


def test_an_exchange_runs_from_filing_to_exchanged(engine: RunningEngine) -> None:
    dispute = file(engine, "exchange", "damaged")["id"]
    assert act(engine, "acme-gadgets", dispute, "accept")["status"] == "awaiting_return"
    shipped = act(engine, "bob", dispute, "ship-return", carrier="SF", tracking_number="SF1")
    assert shipped["status"] == "return_in_transit"
    confirmed = act(engine, "acme-gadgets", dispute, "confirm-return")
    assert (confirmed["status"], confirmed["deadline"]["action"]) == (
        "awaiting_fulfilment",
        "refund-instead",
    )
    replaced = act(
        engine, "acme-gadgets", dispute, "ship-fulfilment", carrier="SF", tracking_number="SF2"
    )
    assert (replaced["status"], replaced["awaiting"]) == ("fulfilment_in_transit", "buyer")
    closed = act(engine, "bob", dispute, "confirm-receipt")
    assert (closed["status"], closed["outcome"], closed["refund_amount"]) == (
        "closed",
        "exchanged",
        None,
    )
    timeline = call(engine, "bob", "GET", f"/v1/disputes/{dispute}/events")["data"]
    assert [e["action"] for e in timeline] == [
        "file",
        "accept",
        "ship-return",
        "confirm-return",
        "ship-fulfilment",
        "confirm-receipt",
    ]


def test_a_silent_sellers_reship_is_refunded_by_the_system_with_a_warning(
    engine: RunningEngine,
) -> None:
    dispute = file(engine, "reship", "not_received")["id"]
    assert act(engine, "acme-gadgets", dispute, "accept")["status"] == "awaiting_fulfilment"
    give_up = time.monotonic() + 30
    current = call(engine, "bob", "GET", f"/v1/disputes/{dispute}")
    while current["status"] != "closed" and time.monotonic() < give_up:
        time.sleep(0.2)
        current = call(engine, "bob", "GET", f"/v1/disputes/{dispute}")
    assert (current["status"], current["outcome"]) == ("closed", "refunded")
    assert current["refund"]["amount"] == 4500
    last = call(engine, "bob", "GET", f"/v1/disputes/{dispute}/events")["data"][-1]
    assert (last["actor"], last["action"]) == ("system", "refund-instead")

    penalties = call(engine, "trust", "GET", "/v1/penalties?seller_id=acme-gadgets")["data"]
    warnings = [p for p in penalties if p["kind"] == "warning" and dispute in p["reason"]]
    assert [w["status"] for w in warnings] == ["active"]
    violations = call(engine, "acme-gadgets", "GET", "/v1/sellers/acme-gadgets/violations")["data"]
    assert [(v["kind"], v["source"]) for v in violations if v["dispute_id"] == dispute] == [
        ("missed_fulfilment", "system")
    ]


def test_a_repair_whose_buyer_reports_a_problem_goes_to_the_platform_with_both_sides_evidence(
    engine: RunningEngine,
) -> None:
    dispute = file(engine, "repair", "quality_issue")["id"]
    act(engine, "acme-gadgets", dispute, "accept")
    act(engine, "bob", dispute, "ship-return", carrier="SF", tracking_number="SF3")
    act(engine, "acme-gadgets", dispute, "confirm-return")
    ready_by = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    promised = act(engine, "acme-gadgets", dispute, "promise-repair", ready_by=ready_by)
    assert promised["deadline"]["due_at"] == promised["repair_ready_by"]
    act(engine, "acme-gadgets", dispute, "ship-fulfilment", carrier="SF", tracking_number="SF4")
    reported = act(
        engine, "bob", dispute, "report-problem", problem="not_repaired", reason="Still leaks."
    )
    assert (reported["status"], reported["awaiting"]) == ("gathering_evidence", "both")
    for who, text in (("bob", "It still leaks at the base."), ("acme-gadgets", "Tested dry.")):
        added = call(
            engine,
            who,
            "POST",
            f"/v1/disputes/{dispute}/evidence",
            {"kind": "statement", "text": text},
        )
        assert added["author_id"] == who
    listed = call(engine, "arbitrator", "GET", f"/v1/disputes/{dispute}/evidence")["data"]
    assert sorted(e["author_id"] for e in listed) == ["acme-gadgets", "bob"]
