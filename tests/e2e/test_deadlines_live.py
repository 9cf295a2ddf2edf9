"""A real ``arbitration serve`` with second-long deadlines closes a silent seller's dispute by itself."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import start_engine

pytestmark = pytest.mark.slow  # a real server and worker, in processes of their own

FAST_POLICY = """
[deadlines]
seller_response_unshipped = "2s"
seller_response_shipped = "2s"
"""


def test_silent_sellers_dispute_is_refunded_by_the_system(tmp_path: Path) -> None:
    policy = tmp_path / "fast.toml"
    policy.write_text(FAST_POLICY)
    engine = start_engine(
        tmp_path,
        {"ARBITRATION_POLICY": str(policy), "ARBITRATION_SCHEDULER_INTERVAL": "0.2"},
    )
    try:
        filed = engine.call(
            "alice",
            "POST",
            "/v1/disputes",
            {"order_id": "ord-tour", "reason": "damaged", "remedy": "refund_only", "amount": 3999},
        )
        assert filed["status"] == "awaiting_seller"
        give_up = time.monotonic() + 30
        dispute = filed
        while dispute["status"] != "closed" and time.monotonic() < give_up:
            time.sleep(0.2)
            dispute = engine.call("alice", "GET", f"/v1/disputes/{filed['id']}")
        assert (dispute["status"], dispute["outcome"]) == ("closed", "refunded")
        timeline = engine.call("alice", "GET", f"/v1/disputes/{filed['id']}/events")["data"]
        assert (timeline[-1]["actor"], timeline[-1]["action"]) == ("system", "accept")

        # The demo's disputes, whose deadlines passed before the server started, were fired too.
        waiting = engine.call("arbitrator", "GET", "/v1/disputes?status=awaiting_seller")
        assert waiting["data"] == []
    finally:
        engine.process.terminate()
        engine.process.wait(timeout=10)
