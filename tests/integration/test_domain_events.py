"""Domain events: handlers registered once, in the composition root, run wherever a change is made,
in the same transaction as the change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.config import Config
from api.wiring import Services
from arbitration import sweep
from arbitration.clock import ManualClock
from arbitration.events import (
    CompensationInstructed,
    DisputeDecided,
    DomainEvent,
    EvidenceAdded,
    FulfilmentLapsed,
    Handlers,
    TimelineEventAppended,
    record,
)
from arbitration.lifecycle import OUTCOMES, RULES
from arbitration.models import Decision
from arbitration.policy import Policy
from arbitration.rulings import CLOSING_OUTCOME
from tests.support.world import World

ARBITRATION = str(Path(sys.executable).parent / "arbitration")
REPOSITORY = Path(__file__).resolve().parents[2]
PROBE = "tests.support.probe_plugin"
RULING = {"responsibility": "seller", "rationale": "The photos show it."}


def heard(probe: Path) -> list[dict[str, object]]:
    if not probe.exists():
        return []
    return [json.loads(line) for line in probe.read_text().splitlines()]


def test_a_handler_hears_the_ruling_from_the_api_and_its_finality_from_the_worker(
    database_url: str,
    policy: Policy,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = tmp_path / "heard.jsonl"
    monkeypatch.setenv("ARBITRATION_PROBE_FILE", str(probe))
    config = Config(
        database_url=database_url,
        policy=policy,
        clock=clock,
        testing=True,
        evidence_dir=str(tmp_path / "evidence"),
        plugins=(PROBE,),
    )
    app = create_app(config)
    world = World(app, app.test_client())
    dispute, buyer, _ = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    world.ok(
        arbitrator,
        dispute["id"],
        "decide",
        outcome="buyer_partial_refund",
        refund_amount=900,
        **RULING,
    )
    assert heard(probe) == [
        {"dispute_id": dispute["id"], "outcome": "buyer_partial_refund", "final": False}
    ]

    # The test clock stands months before real time: the appeal window has long passed for the
    # worker, which runs on the system clock and is told of the plugin only by its environment.
    env = {
        **os.environ,
        "ARBITRATION_DATABASE_URL": database_url,
        "ARBITRATION_PLUGINS": PROBE,
        "ARBITRATION_SCHEDULER_INTERVAL": "0.2",
        "PYTHONPATH": str(REPOSITORY),
    }
    worker = subprocess.Popen(
        [ARBITRATION, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        # The probe hears the event before the worker commits: wait for the commit as well.
        while time.monotonic() < deadline and worker.poll() is None:
            if len(heard(probe)) >= 2 and world.read(buyer, dispute["id"])["status"] == "closed":
                break
            time.sleep(0.1)
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=10)
    assert heard(probe)[1:] == [
        {"dispute_id": dispute["id"], "outcome": "buyer_partial_refund", "final": True}
    ], errors.decode()
    # The probe hears the event inside the worker's transaction, just before it commits.
    final = world.read(buyer, dispute["id"])
    settle = time.monotonic() + 10
    while final["status"] != "closed" and time.monotonic() < settle:
        time.sleep(0.1)
        final = world.read(buyer, dispute["id"])
    assert (final["status"], final["outcome"]) == ("closed", "partially_refunded")
    app.extensions["arbitration"].database.dispose()


def test_events_recorded_by_handlers_are_handled_too_before_commit(services: Services) -> None:
    database = services.database
    seen: list[str] = []
    handlers = Handlers()

    def first(session: Session, event: DisputeDecided) -> None:
        seen.append(f"decided {event.dispute_id}")
        record(session, EvidenceAdded("d1", event.at, "e1", "a1", "statement", None, "parties"))

    def second(_session: Session, event: EvidenceAdded) -> None:
        seen.append(f"evidence {event.evidence_id}")

    def everything(_session: Session, event: DomainEvent) -> None:
        seen.append(type(event).__name__)

    handlers.on(DisputeDecided, first)
    handlers.on(EvidenceAdded, second)
    handlers.on(DomainEvent, everything)
    with database.engine.connect() as connection, Session(bind=connection) as session:
        clock = ManualClock()
        record(session, _decided("d1", clock))
        handlers.dispatch(session)
    assert seen == ["decided d1", "DisputeDecided", "evidence e1", "EvidenceAdded"]


def test_steps_before_commit_run_once_after_every_event_is_handled(services: Services) -> None:
    seen: list[str] = []
    handlers = Handlers()

    def first(session: Session, event: DisputeDecided) -> None:
        seen.append(f"decided {event.dispute_id}")
        record(session, EvidenceAdded("d1", event.at, "e1", "a1", "statement", None, "parties"))

    handlers.on(DisputeDecided, first)
    handlers.on(EvidenceAdded, lambda _session, event: seen.append(f"evidence {event.evidence_id}"))
    handlers.before_commit(lambda _session: seen.append("before commit"))
    with services.database.engine.connect() as connection, Session(bind=connection) as session:
        record(session, _decided("d1", ManualClock()))
        handlers.dispatch(session)
    assert seen == ["decided d1", "evidence e1", "before commit"]


def test_a_failing_handler_rolls_the_whole_change_back(world: World, services: Services) -> None:
    dispute, _, _ = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")

    def refuse(_session: Session, _event: DisputeDecided) -> None:
        raise RuntimeError("the ledger is down")

    services.database.handlers.on(DisputeDecided, refuse)
    failed = world.act(arbitrator, dispute["id"], "decide", outcome="buyer_full_refund", **RULING)
    assert failed.status_code == 500
    with services.database.unit_of_work(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 0
    assert world.read(arbitrator, dispute["id"])["status"] == "awaiting_decision"


def _decided(dispute_id: str, clock: ManualClock) -> DisputeDecided:
    return DisputeDecided(
        dispute_id=dispute_id,
        at=clock.now(),
        decision_id="dcs_1",
        seller_id="s",
        buyer_id="b",
        arbitrator_id="a",
        outcome="seller_favored",
        refund_amount=0,
        responsibility="buyer",
        violation=None,
        final=False,
    )


def test_every_link_of_the_timeline_is_announced(world: World, services: Services) -> None:
    announced: list[tuple[str, int, str]] = []
    services.database.handlers.on(
        TimelineEventAppended,
        lambda _session, event: announced.append((event.dispute_id, event.seq, event.action)),
    )
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "reject", reason="No.")
    timeline = world.call(buyer, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"]
    assert announced == [(dispute["id"], event["seq"], event["action"]) for event in timeline]
    assert [action for _, _, action in announced] == ["file", "reject"]


def test_every_outcome_a_ruling_closes_with_is_documented() -> None:
    assert set(CLOSING_OUTCOME.values()) <= set(OUTCOMES)
    assert {rule.outcome for rule in RULES if rule.outcome} <= set(OUTCOMES)


def test_an_accepted_compensation_is_announced_once_for_the_webhooks(
    world: World, services: Services
) -> None:
    announced: list[CompensationInstructed] = []
    services.database.handlers.on(
        CompensationInstructed, lambda _session, event: announced.append(event)
    )
    dispute, buyer, seller = world.dispute()
    offered = world.ok(
        seller, dispute["id"], "offer", compensation={"kind": "store_credit", "amount": 1_200}
    )
    world.ok(buyer, dispute["id"], "accept-offer")
    assert world.act(buyer, dispute["id"], "accept-offer").status_code == 409
    [event] = announced
    assert (event.dispute_id, event.buyer_id, event.order_id) == (
        dispute["id"],
        buyer,
        dispute["order_id"],
    )
    assert (event.kind, event.amount, event.currency) == ("store_credit", 1_200, "USD")
    assert event.ordered_by == offered["pending_offer"]["id"]


def test_a_lapsed_fulfilment_is_announced_by_the_system_refund_only(
    world: World, services: Services, clock: ManualClock
) -> None:
    lapsed: list[FulfilmentLapsed] = []
    services.database.handlers.on(FulfilmentLapsed, lambda _session, event: lapsed.append(event))
    by_seller, _, seller = world.dispute(remedy="reship")
    world.ok(seller, by_seller["id"], "accept")
    world.ok(seller, by_seller["id"], "refund-instead", reason="Out of stock.")
    assert lapsed == []  # the seller said so in time: no lapse

    silent, _, quiet_seller = world.dispute(remedy="reship")
    accepted = world.ok(quiet_seller, silent["id"], "accept")
    due = datetime.fromisoformat(accepted["deadline"]["due_at"])
    clock.advance(due - clock.now())
    sweep.sweep_due_deadlines(services.database, policy=services.policy, clock=clock)
    [event] = lapsed
    assert (event.dispute_id, event.seller_id, event.remedy) == (
        silent["id"],
        quiet_seller,
        "reship",
    )
    assert (event.refund_amount, event.due_at) == (silent["amount"], due)
