"""The README's promises, checked against a real server: the tour works as written, the diagram is current."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from arbitration.lifecycle import mermaid_diagram
from tests.e2e.conftest import RunningEngine

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


def test_demo_on_a_used_database_prints_the_same_tokens(engine: RunningEngine) -> None:
    again = engine.cli("demo", "--if-empty")
    assert again.returncode == 0, again.stderr
    assert f"export ALICE={engine.tokens['alice']}" in again.stdout
    verify = engine.cli("audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("OK:")
