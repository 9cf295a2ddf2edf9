"""The README's promises, checked against a real server: both tours work as written, the diagram is current."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arbitration.lifecycle import mermaid_diagram
from tests.e2e.conftest import RunningEngine

pytestmark = pytest.mark.slow  # real servers and commands, in processes of their own

README = Path(__file__).resolve().parents[2] / "README.md"


def _between(marker: str) -> str:
    text = README.read_text()
    block = re.search(
        rf"<!-- {marker}:start -->\n```\w+\n(.*?)```\n<!-- {marker}:end -->", text, re.S
    )
    assert block, f"README has no {marker} block"
    return block.group(1)


def test_readme_diagram_is_generated_from_the_table() -> None:
    assert _between("lifecycle") == mermaid_diagram()


def test_readme_tour_works_as_written(engine: RunningEngine) -> None:
    env = {
        **engine.env,
        "ARB": engine.url,
        "ALICE": engine.tokens["alice"],
        "ACME_GADGETS": engine.tokens["acme-gadgets"],
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _between("tour")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"Filed dsp_\w+", out)
    assert '"outcome": "refunded"' in out
    assert '"code": "action_not_allowed"' in out.replace('":"', '": "')
    timeline = json.loads(out[out.rindex('{\n    "data"') :])["data"]
    assert [(e["actor"], e["action"]) for e in timeline] == [
        ("alice", "file"),
        ("acme-gadgets", "accept"),
    ]


def _get(engine: RunningEngine, path: str, account: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{engine.url}{path}", headers={"Authorization": f"Bearer {engine.tokens[account]}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_readme_contested_tour_works_as_written(engine: RunningEngine) -> None:
    env = {
        **engine.env,
        "ARB": engine.url,
        # The names `make run` prints: ACME_GADGETS=..., SENIOR=...
        **{name.upper().replace("-", "_"): token for name, token in engine.tokens.items()},
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _between("contested-tour")],
        cwd=engine.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    filed = re.search(r"Filed (dsp_\w+)", result.stdout)
    assert filed, result.stdout
    dispute = _get(engine, f"/v1/disputes/{filed.group(1)}", "chen")
    assert (dispute["status"], dispute["outcome"]) == ("closed", "refunded")
    decision = dispute["decision"]
    assert (decision["kind"], decision["result"], decision["arbitrator_id"]) == (
        "appeal",
        "overturn",
        "senior",
    )
    assert (decision["outcome"], decision["responsibility"], decision["violation"]) == (
        "buyer_full_refund",
        "seller",
        "not_as_described",
    )
    assert dispute["refund_amount"] == decision["refund_amount"] == dispute["amount"] == 12900
    assert _get(engine, "/v1/orders/ord-headphones", "platform")["refunded_amount"] == 12900
    timeline = _get(engine, f"/v1/disputes/{filed.group(1)}/events", "chen")["data"]
    assert [(e["actor"], e["action"]) for e in timeline] == [
        ("chen", "file"),
        ("acme-gadgets", "reject"),
        ("chen", "escalate"),
        ("chen", "add-evidence"),
        ("chen", "add-evidence"),
        ("acme-gadgets", "add-evidence"),
        ("acme-gadgets", "add-evidence"),
        ("chen", "evidence-done"),
        ("acme-gadgets", "evidence-done"),
        ("arbitrator", "claim"),
        ("arbitrator", "decide"),
        ("acme-gadgets", "appeal"),
        ("senior", "claim"),
        ("senior", "appeal-decision"),
    ]
    assert timeline[-1]["payload"]["difference"] == 12900 - 6450
    evidence = _get(engine, f"/v1/disputes/{filed.group(1)}/evidence", "arbitrator")["data"]
    assert sorted((e["author_id"], e["kind"], e["media_type"]) for e in evidence) == [
        ("acme-gadgets", "photo", "image/png"),
        ("acme-gadgets", "statement", "text/plain"),
        ("chen", "photo", "image/png"),
        ("chen", "statement", "text/plain"),
    ]
    verify = engine.cli("audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("OK:"), verify.stderr


def test_readme_exchange_tour_works_as_written(engine: RunningEngine) -> None:
    env = {
        **engine.env,
        "ARB": engine.url,
        **{name.upper().replace("-", "_"): token for name, token in engine.tokens.items()},
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _between("exchange-tour")],
        cwd=engine.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    filed = re.search(r"Filed (dsp_\w+)", result.stdout)
    assert filed, result.stdout
    dispute = _get(engine, f"/v1/disputes/{filed.group(1)}", "alice")
    assert (dispute["status"], dispute["outcome"]) == ("closed", "exchanged")
    assert dispute["refund_amount"] is None
    assert _get(engine, "/v1/orders/ord-kettle", "platform")["refunded_amount"] == 0
    timeline = _get(engine, f"/v1/disputes/{filed.group(1)}/events", "alice")["data"]
    assert [(e["actor"], e["action"], e["to_status"]) for e in timeline] == [
        ("alice", "file", "awaiting_seller"),
        ("bright-home", "accept", "awaiting_return"),
        ("alice", "ship-return", "return_in_transit"),
        ("bright-home", "confirm-return", "awaiting_fulfilment"),
        ("bright-home", "ship-fulfilment", "fulfilment_in_transit"),
        ("alice", "confirm-receipt", "closed"),
    ]


def test_demo_on_a_used_database_prints_the_same_tokens(engine: RunningEngine) -> None:
    again = engine.cli("demo", "--if-empty")
    assert again.returncode == 0, again.stderr
    assert f"export ALICE={engine.tokens['alice']}" in again.stdout
    verify = engine.cli("audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("OK:")


def test_demo_shows_disputes_at_every_promised_stage_with_time_left(engine: RunningEngine) -> None:
    request = urllib.request.Request(
        f"{engine.url}/v1/disputes?limit=200",
        headers={"Authorization": f"Bearer {engine.tokens['arbitrator']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        listed = json.loads(response.read())["data"]
    stages = {(d["status"], d["outcome"]) for d in listed}
    assert {
        ("awaiting_seller", None),
        ("seller_rejected", None),
        ("return_in_transit", None),
        ("gathering_evidence", None),
        ("awaiting_decision", None),
        ("decided", None),
        ("closed", "refunded"),
        ("closed", "settled"),
        ("fulfilment_in_transit", None),  # an exchange under way
        ("awaiting_fulfilment", None),  # a repair with a promised date
    } <= stages
    assert any(d["pending_offer"] for d in listed)
    repair = next(d for d in listed if d["remedy"] == "repair")
    assert repair["repair_ready_by"] == repair["deadline"]["due_at"]
    now = datetime.now(UTC)
    for dispute in listed:
        if dispute["deadline"]:
            assert datetime.fromisoformat(dispute["deadline"]["due_at"]) > now, dispute["id"]
