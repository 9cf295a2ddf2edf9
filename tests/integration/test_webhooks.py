"""Webhooks (DESIGN §7) against a real local receiver: signed, in order, at least once, unstalled."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from api.wiring import Services
from arbitration import sweep
from arbitration.clock import ManualClock
from arbitration.db import Database, make_engine
from arbitration.events import TimelineEventAppended
from arbitration.models import Dispute
from arbitration.policy import WebhookPolicy
from tests.support.assertions import assert_fresh_delivery
from tests.support.receiver import Receiver, receiver
from tests.support.world import World
from webhooks import catalogue, outbox
from webhooks.delivery import DeliveryReport, deliver_due
from webhooks.models import ACTIVE, DISABLED, Delivery, OutboxEvent, WebhookEndpoint

README = Path(__file__).resolve().parents[2] / "README.md"
RULING = {"responsibility": "seller", "rationale": "The photos show the crack."}


def readme_check() -> Any:
    """The README's signature check, exactly as printed there."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- webhook-signature-check.*?```python\n(.*?)```", text, re.S)
    assert block, "the README lost its signature check"
    namespace: dict[str, Any] = {}
    exec(block.group(1), namespace)
    return namespace["verify_signature"]


def register(world: World, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url}
    if events is not None:
        body["events"] = events
    response = world.call("platform", "POST", "/v1/webhook-endpoints", json=body)
    assert response.status_code == 201, response.json
    return response.json


def drain(services: Services, policy: WebhookPolicy | None = None) -> DeliveryReport:
    """Run the delivery job until nothing more is due now (one per stream per run)."""
    total = DeliveryReport()
    for _ in range(200):
        report = deliver_due(
            services.database, policy=policy or services.policy.webhooks, clock=services.clock
        )
        if not report.attempted:
            return total
        total.delivered += report.delivered
        total.retrying += report.retrying
        total.dead += report.dead
        total.attempted += report.attempted
    raise AssertionError("deliveries never ran dry")


def contested_dispute(world: World, app: Flask) -> str:
    """Filed, rejected, escalated, evidence, claimed, ruled, refund confirmed, appealed,
    overturned by a senior, the new refund confirmed."""
    dispute, buyer, _seller = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    ruling = {**RULING, "refund_amount": 1_000}
    world.ok(arbitrator, dispute["id"], "decide", outcome="buyer_partial_refund", **ruling)
    confirm = f"/v1/disputes/{dispute['id']}/refund-confirmation"
    assert world.call("platform", "POST", confirm).status_code == 200
    world.ok(buyer, dispute["id"], "appeal", reason="The arbitrator missed my evidence.")
    senior = world.account("senior_arbitrator")
    world.ok(senior, dispute["id"], "claim")
    world.ok(
        senior,
        dispute["id"],
        "appeal-decision",
        result="overturn",
        decision={"outcome": "buyer_full_refund", **RULING},
        rationale="The listing promised a working lamp.",
    )
    assert world.call("platform", "POST", confirm).status_code == 200
    return str(dispute["id"])


def timeline_seqs(world: World, dispute_id: str) -> list[int]:
    events = world.call("platform", "GET", f"/v1/disputes/{dispute_id}/events").json["data"]
    return [event["seq"] for event in events]


def test_every_state_change_of_a_contested_dispute_arrives_signed_and_in_order(
    world: World, app: Flask, services: Services
) -> None:
    verify_signature = readme_check()
    with receiver() as hooks:
        endpoint = register(world, hooks.url)
        dispute_id = contested_dispute(world, app)
        report = drain(services)
    assert report.dead == 0 and report.retrying == 0

    now = services.clock.now().timestamp()
    for item in hooks.received:
        header = item.headers["Arbitration-Signature"]
        assert verify_signature(endpoint["secret"], item.body, header, now=now)
    mine = [e for e in hooks.events() if e["data"].get("dispute_id") == dispute_id]
    types = [e["type"] for e in mine]
    assert types[0] == "dispute.created"
    for expected in ("dispute.updated", "decision.made", "decision.overturned"):
        assert expected in types
    assert types.count("refund.instructed") == 2
    # Every link of the timeline reached the receiver once, in the timeline's order.
    linked = [e["data"]["seq"] for e in mine if "seq" in e["data"]]
    assert linked == timeline_seqs(world, dispute_id)
    statuses = [e["data"]["status"] for e in mine if "seq" in e["data"]]
    assert statuses[-1] == "closed"
    assert len({e["id"] for e in hooks.events()}) == len(hooks.received)
    updated = next(e for e in mine if e["type"] == "dispute.updated")
    assert {"status", "awaiting", "action", "deadline"} <= set(updated["data"])


def test_a_receiver_that_was_down_gets_every_event_afterwards_in_order(
    world: World, app: Flask, services: Services
) -> None:
    clock: ManualClock = services.clock  # type: ignore[assignment]
    with receiver() as hooks:
        register(world, hooks.url)
        hooks.answer = 503
        dispute, buyer, seller = world.dispute()
        world.ok(seller, dispute["id"], "reject", reason="Works as described.")
        world.ok(buyer, dispute["id"], "escalate", reason="It does not.")
        failed = drain(services)
        assert failed.delivered == 0 and failed.retrying >= 1
        for _ in range(6):  # down for a while: several retries fail, further and further apart
            clock.advance(timedelta(hours=1))
            drain(services)
        hooks.answer = 200
        clock.advance(timedelta(hours=1))
        drain(services)
    accepted = hooks.received[-len(timeline_seqs(world, dispute["id"])) :]
    seqs = [item.event["data"]["seq"] for item in accepted]
    assert seqs == timeline_seqs(world, dispute["id"])
    ids = {e["id"] for e in hooks.events()}
    stored = {e.id for e in _outbox(services)}
    assert stored <= ids  # every event at least once


def test_forged_and_replayed_signatures_fail_the_readme_check(
    world: World, services: Services
) -> None:
    verify_signature = readme_check()
    with receiver() as hooks:
        endpoint = register(world, hooks.url)
        world.dispute()
        drain(services)
    genuine = hooks.received[0]
    header = genuine.headers["Arbitration-Signature"]
    sent_at = int(header.split(",")[0].removeprefix("t="))
    secret = endpoint["secret"]
    assert verify_signature(secret, genuine.body, header, now=sent_at + 5)
    # Replayed an hour later: the signature is genuine but stale.
    assert not verify_signature(secret, genuine.body, header, now=sent_at + 3600)
    # Forged: another body under the same header, or a header signed with another secret.
    tampered = genuine.body.replace(b"dispute.created", b"dispute.updated")
    assert not verify_signature(secret, tampered, header, now=sent_at)
    assert not verify_signature("whsec_guess", genuine.body, header, now=sent_at)
    # A replay with a fresh t but the old v1 does not match either.
    old_mac = header.split("v1=")[1]
    assert not verify_signature(
        secret, genuine.body, f"t={sent_at + 3600},v1={old_mac}", now=sent_at + 3600
    )


def test_a_receiver_that_never_answers_does_not_delay_another_endpoint(
    world: World, services: Services
) -> None:
    slow_policy = dataclasses.replace(services.policy.webhooks, timeout=timedelta(seconds=4))
    with receiver() as hanging, receiver() as healthy:
        register(world, hanging.url)
        register(world, healthy.url)
        hanging.hang = True
        world.dispute()
        started = time.monotonic()
        runner = threading.Thread(target=drain, args=(services, slow_policy))
        runner.start()
        assert healthy.got_one.wait(3), "the healthy endpoint waited for the hanging one"
        answered_after = time.monotonic() - started
        runner.join(30)
    assert answered_after < 3
    assert len(healthy.received) == 1 and hanging.received == []
    pending = world.call("platform", "GET", "/v1/webhook-deliveries?status=pending").json["data"]
    assert [d["last_error"] for d in pending] and "timed out" in (pending[0]["last_error"] or "")


def test_a_delivery_nobody_answers_dies_after_24_hours_and_can_be_redelivered(
    world: World, services: Services
) -> None:
    clock: ManualClock = services.clock  # type: ignore[assignment]
    gone = Receiver()  # bound, then closed: connections are refused
    url = gone.url
    with gone.running():
        pass
    register(world, url)
    world.dispute()
    drain(services)
    for _ in range(30):
        clock.advance(timedelta(hours=1))
        drain(services)
    dead = world.call("platform", "GET", "/v1/webhook-deliveries?status=dead").json["data"]
    assert len(dead) == 1 and dead[0]["event_type"] == "dispute.created"
    assert dead[0]["attempts"] > 5
    again = world.call("platform", "POST", f"/v1/webhook-deliveries/{dead[0]['id']}/redeliver")
    assert again.status_code == 200 and again.json["status"] == "pending"


def test_only_the_platform_and_admins_manage_webhooks_and_bad_input_changes_nothing(
    world: World,
) -> None:
    buyer = world.account("buyer")
    arbitrator = world.account("arbitrator")
    for who in (buyer, arbitrator):
        assert world.call(who, "GET", "/v1/webhook-endpoints").status_code == 403
        refused = world.call(who, "POST", "/v1/webhook-endpoints", json={"url": "http://x.test/"})
        assert refused.status_code == 403
    for body in (
        {"url": "ftp://x.test/"},
        {"url": "not a url"},
        {"url": "http://x.test/", "events": ["no.such"]},
        {"url": "http://x.test/", "events": []},
        {},
    ):
        assert world.call("platform", "POST", "/v1/webhook-endpoints", json=body).status_code == 422
    assert world.call("platform", "GET", "/v1/webhook-endpoints").json["data"] == []


def test_an_endpoint_hears_only_its_filter_stops_when_disabled_and_rotates_its_secret(
    world: World, services: Services
) -> None:
    verify_signature = readme_check()
    with receiver() as hooks:
        endpoint = register(world, hooks.url, events=["dispute.created"])
        listed = world.call("platform", "GET", "/v1/webhook-endpoints").json["data"]
        assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]
        dispute, _, seller = world.dispute()
        world.ok(seller, dispute["id"], "accept")
        drain(services)
        assert [e["type"] for e in hooks.events()] == ["dispute.created"]

        path = f"/v1/webhook-endpoints/{endpoint['id']}"
        rotated = world.call("platform", "POST", f"{path}/rotate-secret").json
        assert rotated["secret"] != endpoint["secret"]
        world.dispute()
        drain(services)
        last = hooks.received[-1]
        now = services.clock.now().timestamp()
        header = last.headers["Arbitration-Signature"]
        assert verify_signature(rotated["secret"], last.body, header, now=now)
        assert not verify_signature(endpoint["secret"], last.body, header, now=now)

        disabled = world.call("platform", "POST", f"{path}/disable").json
        assert disabled["status"] == "disabled"
        world.dispute()
        drain(services)
        assert len(hooks.received) == 2


def test_deadline_approaching_is_sent_once_ahead_of_the_deadline(
    world: World, services: Services
) -> None:
    clock: ManualClock = services.clock  # type: ignore[assignment]
    dispute, _, _ = world.dispute(status="shipped")
    due = world.read("platform", dispute["id"])["deadline"]["due_at"]
    assert due
    lead = services.policy.deadlines.reminder_before
    clock.advance(services.policy.deadlines.seller_response_shipped - lead + timedelta(minutes=1))
    for _ in range(3):
        sweep.sweep_due_deadlines(services.database, policy=services.policy, clock=clock)
    approaching = [e for e in _outbox(services) if e.type == "deadline.approaching"]
    assert len(approaching) == 1
    assert approaching[0].data["payload"]["due_at"] == due.replace("Z", "+00:00")


def _outbox(services: Services) -> list[OutboxEvent]:
    with services.database.unit_of_work(read_only=True) as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.position)))


def test_two_workers_delivering_at_once_post_each_event_once(
    world: World, services: Services
) -> None:
    with receiver() as hooks:
        register(world, hooks.url)
        for _ in range(6):
            world.dispute()
        runners = [threading.Thread(target=drain, args=(services,)) for _ in range(2)]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join(60)
        drain(services)
    ids = [e["id"] for e in hooks.events()]
    assert len(ids) == len(set(ids)) == len(_outbox(services))


def _written(services: Services, dispute_id: str) -> list[tuple[OutboxEvent, list[Delivery]]]:
    """The dispute's outbox events in order, each with its deliveries (by endpoint id), once the
    delivery job has fanned them out."""
    outbox.fan_out(services.database, policy=services.policy.webhooks)
    with services.database.unit_of_work(read_only=True) as session:
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.dispute_id == dispute_id)
            .order_by(OutboxEvent.position)
        ).all()
        return [
            (
                event,
                list(
                    session.scalars(
                        select(Delivery)
                        .where(Delivery.event_position == event.position)
                        .order_by(Delivery.endpoint_id)
                    )
                ),
            )
            for event in events
        ]


def test_a_rulings_events_in_order_are_each_fanned_out_to_every_endpoint_that_wants_it(
    world: World, services: Services
) -> None:
    everything = register(world, "https://platform.example/all")["id"]
    rulings = register(world, "https://platform.example/rulings", events=["decision.made"])["id"]
    dispute, _, _ = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    before = _written(services, dispute["id"])
    world.ok(arbitrator, dispute["id"], "decide", outcome="buyer_full_refund", **RULING)

    written = _written(services, dispute["id"])
    ruling = written[len(before) :]
    assert [event.type for event, _ in ruling] == [
        "decision.made",
        "refund.instructed",
        "dispute.updated",
    ]
    retry_for = services.policy.webhooks.retry_for
    for event, deliveries in ruling:
        wanting = [everything, rulings] if event.type == "decision.made" else [everything]
        assert sorted(wanting) == [d.endpoint_id for d in deliveries]
        assert event.stream == f"dispute:{dispute['id']}"
        for delivery in deliveries:
            assert delivery.id.startswith("dlv_")
            assert_fresh_delivery(delivery, event, retry_for)
    assert [event.position for event, _ in written] == sorted(e.position for e, _ in written)
    assert [event.id for event, _ in before] == [event.id for event, _ in written[: len(before)]]


def test_an_endpoint_another_process_registers_or_disables_counts_from_the_next_change(
    world: World, services: Services
) -> None:
    elsewhere = Database(make_engine(str(services.database.engine.url)))
    try:
        with elsewhere.unit_of_work() as session:
            session.add(
                WebhookEndpoint(
                    id="whe_elsewhere",
                    owner_id="platform",
                    url="https://platform.example/hook",
                    event_types=None,
                    secret="s" * 64,
                    status=ACTIVE,
                    created_at=services.clock.now(),
                )
            )
        heard, _, _ = world.dispute()
        assert [len(d) for _, d in _written(services, heard["id"])] == [1]

        with elsewhere.unit_of_work() as session:
            endpoint = session.get(WebhookEndpoint, "whe_elsewhere")
            assert endpoint is not None
            endpoint.status = DISABLED
        unheard, _, _ = world.dispute()
        assert [len(d) for _, d in _written(services, unheard["id"])] == [0]
    finally:
        elsewhere.dispose()


def test_a_timeline_event_sends_the_dispute_as_it_stands_even_with_a_column_expired(
    world: World, services: Services
) -> None:
    """The timeline's event reads the dispute's columns from the session's copy; one expired (a
    column the session no longer holds) is read again, not sent missing or stale."""
    filed, _, seller = world.dispute()
    rejected = world.ok(seller, filed["id"], "reject", reason="No.")
    event = TimelineEventAppended(
        dispute_id=filed["id"],
        at=services.clock.now(),
        seq=2,
        action="reject",
        actor_id=seller,
        from_status=filed["status"],
        to_status=rejected["status"],
        payload={},
    )
    with services.database.unit_of_work(read_only=True) as session:
        dispute = session.get(Dispute, filed["id"])
        assert dispute is not None
        [whole] = catalogue._timeline(session, event)
        session.expire(dispute, ["status", "deadline_due_at"])
        [expired] = catalogue._timeline(session, event)
    assert expired == whole
    assert whole.data["deadline"] is not None and whole.data["awaiting"] is not None
