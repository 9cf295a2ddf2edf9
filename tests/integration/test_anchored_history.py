"""Anchored history, penalty webhooks and the privacy purge: a rewritten chain is caught, a purged
one still verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from api.wiring import Services
from arbitration import audit, privacy
from arbitration.clock import ManualClock
from arbitration.models import Dispute, Event
from tests.support.penalties import rule_against, run_sweep
from tests.support.world import World
from webhooks import checkpoints, service
from webhooks.models import OutboxEvent

ARBITRATION = str(Path(sys.executable).parent / "arbitration")
KEY = checkpoints.new_signing_key()
PUBLIC = checkpoints.public_key_hex(checkpoints.load_signing_key(KEY))


def verify_against(database_url: str, kept: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARBITRATION, "audit", "verify", "--against", str(kept), *extra],
        env={
            **os.environ,
            "ARBITRATION_DATABASE_URL": database_url,
            "ARBITRATION_AUDIT_SIGNING_KEY": KEY,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def keep_checkpoint(services: Services, path: Path) -> Path:
    """Take a checkpoint now and keep it as a third party would: the API's JSON of it."""
    key = checkpoints.load_signing_key(KEY)
    with services.database.unit_of_work() as session:
        taken = checkpoints.take(session, key=key, at=services.clock.now())
        path.write_text(json.dumps(checkpoints.exported(taken)))
    return path


def rewrite_chain(services: Services, dispute_id: str) -> None:
    """What someone with write access could do: change a past event, recompute every hash after it."""
    with services.database.unit_of_work() as session:
        events = audit.timeline(session, dispute_id)
        events[1].payload = {**events[1].payload, "reason": "Buyer admitted it works."}
        prev = audit.GENESIS_HASH
        for event in events:
            event.prev_hash = prev
            event.hash = audit._link_hash(prev, event)
            prev = event.hash
        session.execute(
            update(Dispute).where(Dispute.id == dispute_id).values(last_event_hash=prev)
        )


def test_a_consistently_rewritten_chain_passes_verify_but_fails_against_an_earlier_checkpoint(
    world: World, services: Services, database_url: str, tmp_path: Path
) -> None:
    dispute, _, _ = world.awaiting_decision()
    other, _, _ = world.awaiting_decision()
    kept = keep_checkpoint(services, tmp_path / "checkpoint.json")
    assert verify_against(database_url, kept).returncode == 0

    world.ok(world.account("arbitrator"), other["id"], "claim")  # history grows: still fine
    grown = verify_against(database_url, kept)
    assert grown.returncode == 0, grown.stderr
    assert "only appended to" in grown.stdout

    rewrite_chain(services, dispute["id"])
    with services.database.unit_of_work(read_only=True) as session:
        assert audit.verify_chains(session).ok  # the plain check is fooled
    caught = verify_against(database_url, kept)
    assert caught.returncode == 1
    assert f"dispute {dispute['id']}" in caught.stderr and "rewritten" in caught.stderr
    assert other["id"] not in caught.stderr


def test_a_checkpoint_signed_by_another_key_or_edited_is_refused(
    world: World, services: Services, database_url: str, tmp_path: Path
) -> None:
    world.dispute()
    kept = keep_checkpoint(services, tmp_path / "checkpoint.json")
    stranger = checkpoints.public_key_hex(
        checkpoints.load_signing_key(checkpoints.new_signing_key())
    )
    refused = verify_against(database_url, kept, "--public-key", stranger)
    assert refused.returncode == 1 and "signature" in refused.stderr
    edited = json.loads(kept.read_text())
    edited["document"] = edited["document"].replace('"seq":1', '"seq":9')
    kept.write_text(json.dumps(edited))
    assert verify_against(database_url, kept, "--public-key", PUBLIC).returncode == 1


def test_checkpoints_are_served_signed_and_sent_as_a_webhook(
    world: World, services: Services, tmp_path: Path, app: Flask, client: FlaskClient
) -> None:
    world.dispute()
    keep_checkpoint(services, tmp_path / "kept.json")
    page = world.call("platform", "GET", "/v1/audit/checkpoints")
    assert page.status_code == 200
    served = page.json["data"][0]
    document = checkpoints.read_checkpoint(served, public_hex=PUBLIC)
    assert len(document["disputes"]) == 1
    buyer = world.account("buyer")
    assert world.call(buyer, "GET", "/v1/audit/checkpoints").status_code == 403
    assert client.get("/v1/audit/public-key").status_code == 404  # this app has no key
    with services.database.unit_of_work(read_only=True) as session:
        types = list(session.scalars(select(OutboxEvent.type)))
    assert "audit.checkpoint" in types


def test_checkpoints_are_taken_once_per_interval(world: World, services: Services) -> None:
    clock: ManualClock = services.clock  # type: ignore[assignment]
    key = checkpoints.load_signing_key(KEY)
    policy = services.policy.webhooks
    taken = [checkpoints.take_if_due(services.database, key=key, policy=policy, clock=clock)]
    taken.append(checkpoints.take_if_due(services.database, key=key, policy=policy, clock=clock))
    clock.advance(policy.checkpoint_interval)
    taken.append(checkpoints.take_if_due(services.database, key=key, policy=policy, clock=clock))
    assert [c.seq if c else None for c in taken] == [1, None, 2]


def test_penalties_applied_and_lifted_reach_the_outbox(
    world: World, app: Flask, services: Services
) -> None:
    seller = world.account("seller")
    rule_against(world, seller, "counterfeit")
    clock: ManualClock = services.clock  # type: ignore[assignment]
    clock.advance(timedelta(days=8))
    run_sweep(app)
    with services.database.unit_of_work(read_only=True) as session:
        sent = list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.position)))
    applied = [e.data for e in sent if e.type == "penalty.applied"]
    lifted = [e.data for e in sent if e.type == "penalty.lifted"]
    assert sorted(e["kind"] for e in applied) == ["listing_restriction", "search_shielding"]
    assert sorted((e["kind"], e["status"]) for e in lifted) == [
        ("listing_restriction", "expired"),
        ("search_shielding", "expired"),
    ]
    assert all(e["seller_id"] == seller and e["dispute_id"] for e in applied)


def test_privacy_purge_removes_personal_data_and_every_check_still_passes(
    world: World, services: Services, database_url: str, tmp_path: Path
) -> None:
    clock: ManualClock = services.clock  # type: ignore[assignment]
    dispute, buyer, seller = world.dispute(description="My name is Ann Lee, call 555-0100.")
    world.ok(seller, dispute["id"], "reject", reason="Ann Lee broke it herself.")
    world.ok(buyer, dispute["id"], "withdraw")
    fresh, _, _ = world.dispute(description="Still open, keep me.")
    kept = keep_checkpoint(services, tmp_path / "before-purge.json")

    clock.advance(timedelta(days=40))
    with services.database.unit_of_work() as session:
        report = privacy.purge(session, older_than=timedelta(days=30), at=clock.now())
        service.redact_outbox(session, dispute_ids=report.disputes)
    assert report.disputes == [dispute["id"]] and report.events_redacted >= 1

    with services.database.unit_of_work(read_only=True) as session:
        purged = session.get(Dispute, dispute["id"])
        assert purged is not None and purged.description == ""
        assert session.get(Dispute, fresh["id"]).description == "Still open, keep me."  # type: ignore[union-attr]
        payloads = json.dumps([e.payload for e in audit.timeline(session, dispute["id"])])
        outbox = json.dumps([e.data for e in session.scalars(select(OutboxEvent))])
        assert "Ann Lee" not in payloads and "Ann Lee" not in outbox
        assert "redacted_sha256" in payloads
        checked = audit.verify_chains(session)
        assert checked.ok, [str(link) for link in checked.broken]
        rows = session.scalars(select(Event).where(Event.dispute_id == dispute["id"])).all()
        assert all(row.hash_version == audit.HASH_VERSION for row in rows)
    assert verify_against(database_url, kept).returncode == 0
    # Purging again finds nothing new.
    with services.database.unit_of_work() as session:
        assert privacy.purge(session, older_than=timedelta(days=30), at=clock.now()).disputes == []
