"""Uploads at the same moment: the per-party limit holds, and the refused ones leave no bytes."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from arbitration.policy import Policy, load_policy
from tests.support.evidence import PNG, contested, listed, stored_files
from tests.support.world import World

LIMIT = 3
UPLOADS = 8


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.toml"
    path.write_text(f"[evidence]\nmax_files_per_party = {LIMIT}\n", encoding="utf-8")
    return load_policy(path)


def _upload_together(app: Flask, path: str, headers: dict[str, str]) -> list[TestResponse]:
    """Each thread its own client and its own bytes, released at once."""
    barrier = threading.Barrier(UPLOADS)
    results: list[TestResponse | None] = [None] * UPLOADS

    def run(index: int) -> None:
        client = app.test_client()
        form = {"kind": "photo", "file": (io.BytesIO(PNG + bytes([index])), f"{index}.png")}
        barrier.wait()
        results[index] = client.post(
            path, data=form, headers=headers, content_type="multipart/form-data"
        )

    threads = [threading.Thread(target=run, args=(index,)) for index in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def test_concurrent_uploads_never_pass_the_per_party_limit(app: Flask, world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    responses = _upload_together(app, f"/v1/disputes/{dispute_id}/evidence", world.headers(buyer))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * LIMIT + [422] * (UPLOADS - LIMIT), [r.json for r in responses]
    kept = {response.json["sha256"] for response in responses if response.status_code == 201}
    assert len(listed(world, buyer, dispute_id)) == LIMIT
    assert {path.name for path in stored_files(world)} == kept
