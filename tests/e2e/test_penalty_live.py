"""A real ``arbitration serve`` with a seconds-long restriction: a seller found at fault cannot
list, then can again when the restriction runs out, with nobody acting."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import start_engine

pytestmark = pytest.mark.slow

SHORT_RESTRICTION = """
[[penalties.ladder.general]]
points = 3
penalties = [{ kind = "listing_restriction", duration = "3s" }]
"""


def test_a_restriction_lifts_by_itself_when_it_runs_out(tmp_path: Path) -> None:
    policy = tmp_path / "short.toml"
    policy.write_text(SHORT_RESTRICTION)
    engine = start_engine(
        tmp_path,
        {"ARBITRATION_POLICY": str(policy), "ARBITRATION_SCHEDULER_INTERVAL": "0.2"},
    )
    try:
        # The demo's undecided kettle dispute (Alice v. Bright Home) goes to the platform.
        listed = engine.call("arbitrator", "GET", "/v1/disputes?status=seller_rejected")["data"]
        (kettle,) = [d for d in listed if d["seller_id"] == "bright-home"]
        path = f"/v1/disputes/{kettle['id']}"
        engine.call("alice", "POST", f"{path}/escalate", {})
        engine.call("alice", "POST", f"{path}/evidence-done", {})
        engine.call("bright-home", "POST", f"{path}/evidence-done", {})
        engine.call("senior", "POST", f"{path}/claim", {})
        ruling = {
            "outcome": "buyer_full_refund",
            "responsibility": "seller",
            "violation": "not_as_described",
            "rationale": "The lid does not close; the video shows a different model.",
        }
        engine.call("senior", "POST", f"{path}/decide", ruling)

        standing = engine.call("platform", "GET", "/v1/sellers/bright-home/standing")
        assert standing["can_list"] is False
        assert standing["points"]["general"] == 3

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            penalties = engine.call("trust", "GET", "/v1/penalties?seller_id=bright-home")
            if [p["status"] for p in penalties["data"]] == ["expired"]:
                break
            time.sleep(0.2)
        assert [(p["kind"], p["status"]) for p in penalties["data"]] == [
            ("listing_restriction", "expired")
        ]
        standing = engine.call("platform", "GET", "/v1/sellers/bright-home/standing")
        assert (standing["can_list"], standing["active_penalties"]) == (True, [])
    finally:
        engine.process.terminate()
        engine.process.wait(timeout=10)
