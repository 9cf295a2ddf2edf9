"""Advance compensation announces itself (DESIGN §5a): who funds each refund, and every step of a
recovery, as domain events the webhook outbox can send, each once, in the change's transaction."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from api.wiring import Services
from arbitration.clock import ManualClock
from arbitration.events import (
    DomainEvent,
    RecoveryClosed,
    RecoveryOpened,
    RecoveryOverdue,
    RefundInstructed,
)
from tests.support.fairness import freeze, ruled_against_seller
from tests.support.penalties import run_sweep, standing
from tests.support.world import World


def test_a_recovery_is_announced_when_opened_overdue_and_closed(
    app: Flask, world: World, services: Services, clock: ManualClock
) -> None:
    heard: list[DomainEvent] = []
    for kind in (RefundInstructed, RecoveryOpened, RecoveryOverdue, RecoveryClosed):
        services.database.handlers.on(kind, lambda _session, event: heard.append(event))
    seller = world.account("seller")
    freeze(world, seller, seconds=60)
    decided = ruled_against_seller(world, seller)
    [owed] = standing(world, "platform", seller)["open_recoveries"]

    refund, opened = heard
    assert isinstance(refund, RefundInstructed) and isinstance(opened, RecoveryOpened)
    assert (refund.funded_by, refund.amount, refund.dispute_id) == (
        "platform",
        5_000,
        decided["id"],
    )
    assert (opened.recovery_id, opened.refund_id, opened.seller_id, opened.amount) == (
        owed["id"],
        refund.refund_id,
        seller,
        5_000,
    )
    assert opened.due_at == clock.now() + services.policy.advance_compensation.recovery_grace

    clock.advance(timedelta(days=16))
    run_sweep(app)
    run_sweep(app)
    [overdue] = heard[2:]
    assert isinstance(overdue, RecoveryOverdue) and overdue.recovery_id == owed["id"]

    world.call("platform", "POST", f"/v1/recoveries/{owed['id']}/recovered", json={"note": "Paid."})
    closed = heard[-1]
    assert isinstance(closed, RecoveryClosed)
    assert (closed.status, closed.closed_by, closed.reason, closed.amount) == (
        "recovered",
        world.platform,
        "Paid.",
        5_000,
    )


def test_a_refund_the_seller_pays_says_so(world: World, services: Services) -> None:
    heard: list[RefundInstructed] = []
    services.database.handlers.on(RefundInstructed, lambda _session, event: heard.append(event))
    dispute, _, seller = world.dispute()
    world.ok(seller, dispute["id"], "accept")
    assert [event.funded_by for event in heard] == ["seller"]
