"""The privacy purge and evidence: past retention an item's name, note, words and bytes go (the
bytes once no other item needs them), its row and SHA-256 stay, and its content answers 410."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from api.wiring import Services, purge_personal_data
from arbitration import audit
from arbitration.clock import ManualClock
from tests.support.evidence import (
    JPEG,
    PNG,
    blob_path,
    contested,
    download,
    listed,
    statement,
    upload,
)
from tests.support.penalties import RULING, run_sweep
from tests.support.world import World

RETENTION = timedelta(days=30)
ARBITRATION = str(Path(sys.executable).parent / "arbitration")


def _closed_with_evidence(world: World) -> tuple[str, str, dict[str, str]]:
    """A ruled dispute whose appeal window ran out, with a photo, a receipt and a statement:
    (dispute_id, buyer, the items' ids by name)."""
    dispute_id, buyer, seller = contested(world)
    items = {
        "photo": upload(world, buyer, dispute_id, PNG, "ann-lee-kitchen.png", note="5 Elm St"),
        "receipt": upload(world, buyer, dispute_id, JPEG, "receipt.jpg"),
        "words": statement(world, seller, dispute_id, "Ann Lee dropped it herself."),
    }
    assert all(response.status_code == 201 for response in items.values())
    world.ok(buyer, dispute_id, "evidence-done")
    world.ok(seller, dispute_id, "evidence-done")
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute_id, "claim")
    world.ok(arbitrator, dispute_id, "decide", **RULING)
    clock: ManualClock = world.app.extensions["arbitration"].clock
    clock.advance(timedelta(days=8))
    run_sweep(world.app)
    assert world.read(buyer, dispute_id)["status"] == "closed"
    return dispute_id, buyer, {name: r.json["id"] for name, r in items.items()}


def _same_receipt_on_an_open_dispute(world: World) -> tuple[str, str]:
    dispute_id, buyer, _ = contested(world)
    response = upload(world, buyer, dispute_id, JPEG, "receipt.jpg")
    assert response.status_code == 201
    return buyer, response.json["id"]


def test_purged_evidence_keeps_its_row_and_hash_and_loses_its_words_and_bytes(
    world: World, services: Services
) -> None:
    dispute_id, buyer, ids = _closed_with_evidence(world)
    other_buyer, open_receipt = _same_receipt_on_an_open_dispute(world)
    before = {item["id"]: item for item in listed(world, buyer, dispute_id)}
    services.clock.advance(RETENTION + timedelta(days=1))  # type: ignore[attr-defined]

    report = purge_personal_data(services, older_than=RETENTION)

    assert report.disputes == [dispute_id]
    assert (report.evidence_items, report.blobs_deleted) == (3, 1)  # the receipt is still needed
    after = {item["id"]: item for item in listed(world, buyer, dispute_id)}
    assert after.keys() == before.keys()
    for item_id, item in after.items():
        assert item["purged_at"] is not None
        assert (item["display_name"], item["note"], item["text"]) == (None, None, None)
        assert item["sha256"] == before[item_id]["sha256"]  # what the audit chain recorded
        gone = download(world, buyer, item_id)
        assert gone.status_code == 410
        assert gone.json["error"]["code"] == "evidence_removed"
    assert not blob_path(world, before[ids["photo"]]["sha256"]).exists()
    assert blob_path(world, before[ids["receipt"]]["sha256"]).exists()
    still_open = download(world, other_buyer, open_receipt)
    assert (still_open.status_code, still_open.data) == (200, JPEG)
    with services.database.unit_of_work(read_only=True) as session:
        checked = audit.verify_chains(session)
    assert checked.ok, [str(link) for link in checked.broken]

    again = purge_personal_data(services, older_than=RETENTION)
    assert (again.disputes, again.evidence_items, again.blobs_deleted) == ([], 0, 0)


def test_a_dry_run_removes_no_evidence(world: World, services: Services) -> None:
    dispute_id, buyer, ids = _closed_with_evidence(world)
    services.clock.advance(RETENTION + timedelta(days=1))  # type: ignore[attr-defined]

    report = purge_personal_data(services, older_than=RETENTION, dry_run=True)

    assert report.disputes == [dispute_id]
    assert (report.evidence_items, report.blobs_deleted) == (0, 0)
    words = download(world, buyer, ids["words"])
    photo = download(world, buyer, ids["photo"])
    assert (words.status_code, words.data) == (200, b"Ann Lee dropped it herself.")
    assert (photo.status_code, photo.data) == (200, PNG)


def test_bytes_a_purge_deleted_can_be_uploaded_again(world: World, services: Services) -> None:
    _closed_with_evidence(world)
    services.clock.advance(RETENTION + timedelta(days=1))  # type: ignore[attr-defined]
    assert purge_personal_data(services, older_than=RETENTION).blobs_deleted == 2

    dispute_id, buyer, _ = contested(world)
    again = upload(world, buyer, dispute_id, PNG, "kitchen.png")

    assert again.status_code == 201
    served = download(world, buyer, again.json["id"])
    assert (served.status_code, served.data) == (200, PNG)


@pytest.mark.slow
def test_the_command_purges_evidence_and_says_so(
    world: World, services: Services, database_url: str
) -> None:
    """``arbitration privacy purge`` on the engine's database and evidence store (the command reads
    the real clock: the test's disputes closed in January 2026)."""
    _, buyer, ids = _closed_with_evidence(world)

    ran = subprocess.run(
        [ARBITRATION, "privacy", "purge", "--older-than", "30d"],
        env={
            **os.environ,
            "ARBITRATION_DATABASE_URL": database_url,
            "ARBITRATION_EVIDENCE_DIR": services.config.evidence_dir,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert ran.returncode == 0, ran.stderr
    assert "purged 1 disputes" in ran.stdout
    assert "3 evidence items removed (2 files deleted)" in ran.stdout
    assert download(world, buyer, ids["photo"]).status_code == 410
