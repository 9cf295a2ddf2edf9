"""Every timed rule of DESIGN §1 acts by itself, as ``system``, at its time and not before.

Time is a ManualClock: the tests move it instead of sleeping, then run the sweep.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from arbitration import sweep
from arbitration.clock import ManualClock
from arbitration.models import Deadline
from tests.support.world import World

SECOND = timedelta(seconds=1)


def run_sweep(app: Flask, **kwargs: Any) -> sweep.SweepReport:
    services = app.extensions["arbitration"]
    return sweep.sweep_due_deadlines(
        services.database, policy=services.policy, clock=services.clock, **kwargs
    )


def events(world: World, who: str, dispute_id: str) -> list[tuple[str, str]]:
    data = world.call(who, "GET", f"/v1/disputes/{dispute_id}/events").json["data"]
    return [(e["actor"], e["action"]) for e in data]


def wait_and_sweep(app: Flask, clock: ManualClock, delta: timedelta) -> sweep.SweepReport:
    clock.advance(delta)
    return run_sweep(app)


def test_silent_seller_of_an_unshipped_order_refunds_the_buyer_after_24_hours(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, _seller = world.dispute(status="paid")

    wait_and_sweep(app, clock, timedelta(hours=24) - SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_seller"

    wait_and_sweep(app, clock, SECOND)
    closed = world.read(buyer, dispute["id"])
    assert (closed["status"], closed["outcome"], closed["refund_amount"]) == (
        "closed",
        "refunded",
        5_000,
    )
    assert events(world, buyer, dispute["id"])[-1] == ("system", "accept")


def test_silent_seller_of_a_shipped_order_has_five_days(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, _seller = world.dispute(status="shipped")
    wait_and_sweep(app, clock, timedelta(days=5) - SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_seller"
    wait_and_sweep(app, clock, SECOND)
    assert world.read(buyer, dispute["id"])["outcome"] == "refunded"


def test_system_accepting_a_return_request_waits_for_the_goods(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, _seller = world.dispute(remedy="return_and_refund")
    wait_and_sweep(app, clock, timedelta(days=5))
    after = world.read(buyer, dispute["id"])
    assert after["status"] == "awaiting_return"
    assert after["deadline"]["action"] == "expire-return"


def test_buyer_silent_after_rejection_abandons_after_five_days(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "reject", reason="as described")
    wait_and_sweep(app, clock, timedelta(days=5) - SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "seller_rejected"
    wait_and_sweep(app, clock, SECOND)
    assert world.read(buyer, dispute["id"])["outcome"] == "abandoned"
    assert events(world, buyer, dispute["id"])[-1] == ("system", "abandon")


def test_return_never_shipped_closes_after_seven_days(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute(remedy="return_and_refund")
    world.ok(seller, dispute["id"], "accept")
    wait_and_sweep(app, clock, timedelta(days=7) - SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_return"
    wait_and_sweep(app, clock, SECOND)
    closed = world.read(buyer, dispute["id"])
    assert (closed["outcome"], closed["refund_amount"]) == ("return_not_shipped", None)


def test_seller_silent_about_the_returned_goods_refunds_after_ten_days(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute(remedy="return_and_refund")
    world.ok(seller, dispute["id"], "accept")
    world.ok(buyer, dispute["id"], "ship-return", carrier="DHL", tracking_number="JD0001")
    wait_and_sweep(app, clock, timedelta(days=10) - SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "return_in_transit"
    wait_and_sweep(app, clock, SECOND)
    closed = world.read(buyer, dispute["id"])
    assert (closed["outcome"], closed["refund_amount"]) == ("refunded", 5_000)
    assert events(world, buyer, dispute["id"])[-1] == ("system", "confirm-return")


def escalated(world: World) -> tuple[dict[str, Any], str, str]:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "reject", reason="no")
    world.ok(buyer, dispute["id"], "escalate")
    return dispute, buyer, seller


def test_evidence_window_closes_into_awaiting_decision_after_three_days(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, _seller = escalated(world)
    wait_and_sweep(app, clock, timedelta(days=3) - SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "gathering_evidence"
    wait_and_sweep(app, clock, SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_decision"
    assert events(world, buyer, dispute["id"])[-1] == ("system", "close-evidence")


def test_acting_in_time_cancels_the_deadline(app: Flask, world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = world.dispute()
    clock.advance(timedelta(days=4))
    world.ok(seller, dispute["id"], "reject", reason="as described")
    clock.advance(timedelta(days=1, hours=1))  # past the seller's old deadline, within the buyer's
    report = run_sweep(app)
    assert world.read(buyer, dispute["id"])["status"] == "seller_rejected"
    assert ("system", "accept") not in events(world, buyer, dispute["id"])
    assert report.fired == 0  # the seller's timer and reminder went with the rejection


def test_modify_restarts_the_sellers_clock(app: Flask, world: World, clock: ManualClock) -> None:
    dispute, buyer, _seller = world.dispute()
    clock.advance(timedelta(days=3))
    world.ok(buyer, dispute["id"], "modify", amount=4_000)
    wait_and_sweep(app, clock, timedelta(days=4))  # 7 days after filing, 4 after the change
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_seller"
    wait_and_sweep(app, clock, timedelta(days=1))
    assert world.read(buyer, dispute["id"])["outcome"] == "refunded"


def test_extension_moves_the_deadline_by_three_days(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "request-extension")
    wait_and_sweep(app, clock, timedelta(days=5))
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_seller"
    wait_and_sweep(app, clock, timedelta(days=3))
    assert world.read(buyer, dispute["id"])["outcome"] == "refunded"


def test_a_party_is_reminded_a_day_before_its_deadline(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute()
    wait_and_sweep(app, clock, timedelta(days=4) - SECOND)
    assert ("system", "deadline-approaching") not in events(world, seller, dispute["id"])
    wait_and_sweep(app, clock, SECOND)
    reminder = world.call(seller, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"][-1]
    assert reminder["action"] == "deadline-approaching"
    assert reminder["payload"]["party"] == "seller"
    assert reminder["payload"]["action"] == "accept"
    assert reminder["payload"]["due_at"] == world.read(buyer, dispute["id"])["deadline"]["due_at"]


def test_overdue_ruling_is_flagged_then_escalated_to_seniors(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = escalated(world)
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_decision"

    wait_and_sweep(app, clock, timedelta(hours=48) - SECOND)
    assert world.read(buyer, dispute["id"])["sla_breached_at"] is None
    wait_and_sweep(app, clock, SECOND)
    flagged = world.read(buyer, dispute["id"])
    assert flagged["sla_breached_at"] is not None
    assert flagged["status"] == "awaiting_decision"  # a flag, not a ruling
    assert flagged["senior_escalated_at"] is None

    wait_and_sweep(app, clock, timedelta(hours=48))
    assert world.read(buyer, dispute["id"])["senior_escalated_at"] is not None
    assert [a for _, a in events(world, buyer, dispute["id"])][-2:] == [
        "sla-breached",
        "escalated-to-senior",
    ]


def test_urgent_cases_have_a_24_hour_sla(app: Flask, world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = world.dispute(reason="safety_hazard")
    world.ok(seller, dispute["id"], "reject", reason="no")
    world.ok(buyer, dispute["id"], "escalate")
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")
    wait_and_sweep(app, clock, timedelta(hours=24))
    assert world.read(buyer, dispute["id"])["sla_breached_at"] is not None


def test_unconfirmed_refund_is_flagged_after_three_days(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "accept")
    wait_and_sweep(app, clock, timedelta(days=3) - SECOND)
    assert world.read(buyer, dispute["id"])["refund"]["overdue_since"] is None
    wait_and_sweep(app, clock, SECOND)
    assert world.read(buyer, dispute["id"])["refund"]["overdue_since"] is not None


def test_confirmed_refund_is_never_flagged(app: Flask, world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "accept")
    confirmed = world.call("platform", "POST", f"/v1/disputes/{dispute['id']}/refund-confirmation")
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["refund"]["confirmed_at"] is not None
    wait_and_sweep(app, clock, timedelta(days=30))
    assert world.read(buyer, dispute["id"])["refund"]["overdue_since"] is None
    again = world.call("platform", "POST", f"/v1/disputes/{dispute['id']}/refund-confirmation")
    assert again.status_code == 409


def test_deadlines_due_while_nothing_ran_all_fire_at_the_next_sweep(
    app: Flask, world: World, clock: ManualClock
) -> None:
    ids = [world.dispute()[0]["id"] for _ in range(5)]
    clock.advance(timedelta(days=30))  # the engine was down for a month
    run_sweep(app)
    assert {world.read("platform", i)["outcome"] for i in ids} == {"refunded"}


def test_a_failing_firing_is_retried_with_backoff_and_does_not_block_the_batch(
    app: Flask, world: World, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    broken, _, _ = world.dispute()
    healthy, _, _ = world.dispute()
    calls: list[str] = []

    def explode(session, deadline, policy, at) -> None:  # type: ignore[no-untyped-def]
        calls.append(deadline.dispute_id)
        if deadline.dispute_id == broken["id"]:
            raise RuntimeError("constraint violated")
        sweep.handler_for("accept", {})(session, deadline, policy, at)

    clock.advance(timedelta(days=5))
    report = run_sweep(app, extra_handlers={"accept": explode})
    assert world.read("platform", healthy["id"])["outcome"] == "refunded"
    assert world.read("platform", broken["id"])["status"] == "awaiting_seller"
    assert len(report.failed) == 1
    assert f"deadline {report.failed[0]} (accept) failed" in caplog.text

    run_sweep(app, extra_handlers={"accept": explode})
    assert calls.count(broken["id"]) == 1  # not retried before its backoff

    clock.advance(timedelta(seconds=30))
    run_sweep(app)  # the bug is fixed: the retry succeeds
    assert world.read("platform", broken["id"])["outcome"] == "refunded"
    services = app.extensions["arbitration"]
    with services.database.unit_of_work(read_only=True) as session:
        row = session.get(Deadline, report.failed[0])
        assert row is not None
        assert (row.status, row.attempts) == ("fired", 2)
        assert "RuntimeError: constraint violated" in (row.last_error or "")


def test_each_firing_is_recorded_once_on_its_row(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, _, _ = world.dispute()
    clock.advance(timedelta(days=5))
    run_sweep(app)
    run_sweep(app)
    services = app.extensions["arbitration"]
    with services.database.unit_of_work(read_only=True) as session:
        rows = session.scalars(select(Deadline).where(Deadline.dispute_id == dispute["id"])).all()
    accept = [row for row in rows if row.action == "accept"]
    assert [(row.status, row.attempts) for row in accept] == [("fired", 1)]


def awaiting_decision(world: World) -> tuple[dict[str, Any], str, str, str]:
    dispute, buyer, seller = escalated(world)
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    return dispute, buyer, seller, arbitrator


def test_request_info_opens_a_new_three_day_evidence_window(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, _seller, arbitrator = awaiting_decision(world)
    clock.advance(timedelta(days=10))
    reopened = world.ok(
        arbitrator, dispute["id"], "request-info", party="seller", question="Packing photos?"
    )
    assert reopened["status"] == "gathering_evidence"
    assert reopened["deadline"]["action"] == "close-evidence"
    wait_and_sweep(app, clock, timedelta(days=3) - SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "gathering_evidence"
    wait_and_sweep(app, clock, SECOND)
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_decision"


def test_the_old_sla_does_not_fire_once_the_case_went_back_to_evidence(
    app: Flask, world: World, clock: ManualClock
) -> None:
    dispute, buyer, _seller, arbitrator = awaiting_decision(world)
    world.ok(arbitrator, dispute["id"], "request-info", party="both", question="More?")
    wait_and_sweep(app, clock, timedelta(hours=49))  # past the first SLA; evidence closed at 72 h
    assert world.read(buyer, dispute["id"])["sla_breached_at"] is None


def test_a_deadline_of_an_unknown_kind_fails_loudly_and_never_acts_on_a_dispute(
    app: Flask, world: World, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    dispute, buyer, _ = world.dispute()
    services = app.extensions["arbitration"]
    with services.database.unit_of_work() as session:
        session.add(
            Deadline(
                dispute_id=dispute["id"],
                action="mystery-expire",
                due_at=clock.now(),
                status="pending",
                created_at=clock.now(),
                attempts=0,
            )
        )
    report = run_sweep(app)
    assert len(report.failed) == 1
    assert "no handler for mystery-expire deadlines" in caplog.text
    assert world.read(buyer, dispute["id"])["status"] == "awaiting_seller"
