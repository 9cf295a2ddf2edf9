"""A real ``arbitration serve``: its scheduler delivers signed webhooks and signs checkpoints."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import start_engine
from tests.support.receiver import receiver
from webhooks import checkpoints, signing

pytestmark = pytest.mark.slow

FAST_POLICY = """
[webhooks]
checkpoint_interval = "1s"
"""


def test_the_running_engine_delivers_signed_events_and_checkpoints(tmp_path: Path) -> None:
    policy = tmp_path / "fast.toml"
    policy.write_text(FAST_POLICY)
    key = checkpoints.new_signing_key()
    engine = start_engine(
        tmp_path,
        {
            "ARBITRATION_POLICY": str(policy),
            "ARBITRATION_SCHEDULER_INTERVAL": "0.2",
            "ARBITRATION_AUDIT_SIGNING_KEY": key,
        },
    )
    try:
        with receiver() as hooks:
            endpoint = engine.call("platform", "POST", "/v1/webhook-endpoints", {"url": hooks.url})
            filed = engine.call(
                "alice",
                "POST",
                "/v1/disputes",
                {
                    "order_id": "ord-tour",
                    "reason": "damaged",
                    "remedy": "refund_only",
                    "amount": 3999,
                },
            )
            give_up = time.monotonic() + 30
            while time.monotonic() < give_up:
                types = {e["type"] for e in hooks.events()}
                if {"dispute.created", "audit.checkpoint"} <= types:
                    break
                time.sleep(0.2)
        created = next(e for e in hooks.received if e.event["type"] == "dispute.created")
        assert created.event["data"]["dispute_id"] == filed["id"]
        header = created.headers["Arbitration-Signature"]
        assert signing.verify(endpoint["secret"], created.body, header, now=int(time.time()))
        checkpoint = next(e.event for e in hooks.received if e.event["type"] == "audit.checkpoint")
        public = urllib.request.urlopen(engine.url + "/v1/audit/public-key", timeout=10)
        public_hex = json.loads(public.read())["public_key"]
        document = checkpoints.read_checkpoint(checkpoint["data"], public_hex=public_hex)
        assert document["disputes"]
        kept = tmp_path / "kept.json"
        kept.write_text(json.dumps(checkpoint))
        verified = engine.cli("audit", "verify", "--against", str(kept))
        assert verified.returncode == 0, verified.stderr
    finally:
        engine.process.terminate()
        engine.process.wait(timeout=10)
