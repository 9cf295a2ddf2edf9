"""Remedies beyond money over HTTP (DESIGN §1a): exchange, repair, reship, offers of another remedy
or a compensation, and deadlines counted in working days.

The test clock starts on Monday 5 January 2026, 09:00 UTC (17:00 in Beijing, the default calendar's
time zone): five working days later is Monday 12 January at the same time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from arbitration import sweep
from arbitration.clock import ManualClock
from tests.support.assertions import assert_error, state
from tests.support.evidence import statement
from tests.support.world import World


def due(dispute: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(dispute["deadline"]["due_at"])


def refunded(world: World, order_id: str) -> int:
    return world.call("platform", "GET", f"/v1/orders/{order_id}").json["refunded_amount"]


def run_sweep(app: Flask) -> sweep.SweepReport:
    services = app.extensions["arbitration"]
    return sweep.sweep_due_deadlines(
        services.database, policy=services.policy, clock=services.clock
    )


def timeline(world: World, dispute_id: str) -> list[dict[str, Any]]:
    return world.call("platform", "GET", f"/v1/disputes/{dispute_id}/events").json["data"]


def returned(world: World, remedy: str) -> tuple[dict[str, Any], str, str]:
    """A dispute for ``remedy`` whose goods came back to the seller: awaiting fulfilment."""
    dispute, buyer, seller = world.dispute(remedy=remedy)
    world.ok(seller, dispute["id"], "accept")
    world.ok(buyer, dispute["id"], "ship-return", carrier="SF", tracking_number="SF100")
    return world.ok(seller, dispute["id"], "confirm-return"), buyer, seller


# Exchange -----------------------------------------------------------------------------------------


def test_an_exchange_ends_exchanged_with_no_money_moved(world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = world.dispute(remedy="exchange")
    assert dispute["remedy"] == "exchange"
    accepted = world.ok(seller, dispute["id"], "accept")
    assert (accepted["status"], accepted["awaiting"]) == ("awaiting_return", "buyer")
    world.ok(buyer, dispute["id"], "ship-return", carrier="SF", tracking_number="SF100")

    confirmed = world.ok(seller, dispute["id"], "confirm-return")
    assert (confirmed["status"], confirmed["awaiting"]) == ("awaiting_fulfilment", "seller")
    assert confirmed["deadline"]["action"] == "refund-instead"
    assert due(confirmed) == datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # 5 working days
    assert confirmed["refund_amount"] is None
    assert world.read(seller, dispute["id"])["allowed_actions"] == [
        "ship-fulfilment",
        "refund-instead",
        "request-extension",
        "add-evidence",
    ]

    clock.advance(timedelta(days=1))
    shipped = world.ok(
        seller, dispute["id"], "ship-fulfilment", carrier="SF", tracking_number="SF200"
    )
    assert (shipped["status"], shipped["awaiting"]) == ("fulfilment_in_transit", "buyer")
    assert shipped["fulfilment_shipment"]["tracking_number"] == "SF200"
    assert shipped["deadline"]["action"] == "confirm-receipt"
    assert due(shipped) == clock.now() + timedelta(days=10)

    closed = world.ok(buyer, dispute["id"], "confirm-receipt")
    assert (closed["status"], closed["outcome"]) == ("closed", "exchanged")
    assert closed["refund_amount"] is None and closed["refunds"] == []
    assert refunded(world, dispute["order_id"]) == 0


def test_a_seller_out_of_stock_refunds_instead(world: World) -> None:
    waiting, _buyer, seller = returned(world, "exchange")
    closed = world.ok(seller, waiting["id"], "refund-instead", reason="Out of stock.")
    assert (closed["status"], closed["outcome"]) == ("closed", "refunded")
    assert closed["refund"]["amount"] == 5_000
    assert refunded(world, waiting["order_id"]) == 5_000
    assert timeline(world, waiting["id"])[-1]["payload"]["reason"] == "Out of stock."


# Reship -------------------------------------------------------------------------------------------


def test_a_reship_needs_no_return(world: World) -> None:
    dispute, _buyer, seller = world.dispute(remedy="reship", reason="missing_parts")
    accepted = world.ok(seller, dispute["id"], "accept")
    assert accepted["status"] == "awaiting_fulfilment"


def test_a_silent_seller_of_a_reship_is_refunded_instead_by_the_system_and_warned(
    world: World, app: Flask, clock: ManualClock
) -> None:
    dispute, _buyer, seller = world.dispute(remedy="reship", reason="not_received")
    accepted = world.ok(seller, dispute["id"], "accept")
    clock.advance(due(accepted) - clock.now() - timedelta(seconds=1))
    run_sweep(app)
    assert world.read(seller, dispute["id"])["status"] == "awaiting_fulfilment"

    clock.advance(timedelta(seconds=1))
    run_sweep(app)
    closed = world.read(seller, dispute["id"])
    assert (closed["status"], closed["outcome"]) == ("closed", "refunded")
    assert closed["refund"]["amount"] == 5_000
    last = timeline(world, dispute["id"])[-1]
    assert (last["action"], last["actor"]) == ("refund-instead", "system")

    trust = world.account("trust_safety")
    penalties = world.call(trust, "GET", f"/v1/penalties?seller_id={seller}").json["data"]
    assert [(p["kind"], p["status"]) for p in penalties] == [("warning", "active")]
    assert dispute["id"] in penalties[0]["reason"]
    violations = world.call(seller, "GET", f"/v1/sellers/{seller}/violations").json["data"]
    assert [(v["kind"], v["points"], v["source"]) for v in violations] == [
        ("missed_fulfilment", 1, "system")
    ]


def test_a_silent_buyer_is_taken_to_have_received_the_goods(
    world: World, app: Flask, clock: ManualClock
) -> None:
    dispute, _buyer, seller = world.dispute(remedy="reship", reason="not_received")
    world.ok(seller, dispute["id"], "accept")
    shipped = world.ok(seller, dispute["id"], "ship-fulfilment", carrier="SF", tracking_number="1")
    clock.advance(due(shipped) - clock.now())
    run_sweep(app)
    closed = world.read(seller, dispute["id"])
    assert (closed["status"], closed["outcome"]) == ("closed", "reshipped")


# Repair -------------------------------------------------------------------------------------------


def test_a_repair_ships_after_its_promised_date_which_becomes_the_deadline(
    world: World, clock: ManualClock
) -> None:
    waiting, _buyer, seller = returned(world, "repair")
    refused = world.act(seller, waiting["id"], "ship-fulfilment", carrier="SF", tracking_number="1")
    assert "promise-repair" in assert_error(refused, 409)["allowed_actions"]

    before = state(world, seller, waiting["id"])
    too_far = (clock.now() + timedelta(days=16)).isoformat()
    assert "ready_by" in assert_error(
        world.act(seller, waiting["id"], "promise-repair", ready_by=too_far), 422
    )
    past = (clock.now() - timedelta(hours=1)).isoformat()
    assert "ready_by" in assert_error(
        world.act(seller, waiting["id"], "promise-repair", ready_by=past), 422
    )
    assert "ready_by" in assert_error(world.act(seller, waiting["id"], "promise-repair"), 422)
    for absurd in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "tomorrow"):
        refusal = world.act(seller, waiting["id"], "promise-repair", ready_by=absurd)
        assert "ready_by" in assert_error(refusal, 422)
    assert state(world, seller, waiting["id"]) == before

    ready_by = clock.now() + timedelta(days=10)
    promised = world.ok(seller, waiting["id"], "promise-repair", ready_by=ready_by.isoformat())
    assert datetime.fromisoformat(promised["repair_ready_by"]) == ready_by
    assert (promised["deadline"]["action"], due(promised)) == ("refund-instead", ready_by)
    assert "promise-repair" not in promised["allowed_actions"]
    shipped = world.ok(seller, waiting["id"], "ship-fulfilment", carrier="SF", tracking_number="2")
    assert shipped["status"] == "fulfilment_in_transit"


def test_a_buyer_who_reports_a_problem_brings_the_platform_in_with_both_sides_evidence(
    world: World,
) -> None:
    waiting, buyer, seller = returned(world, "repair")
    ready_by = datetime(2026, 1, 9, 9, 0, tzinfo=UTC).isoformat()
    world.ok(seller, waiting["id"], "promise-repair", ready_by=ready_by)
    world.ok(seller, waiting["id"], "ship-fulfilment", carrier="SF", tracking_number="2")

    assert "problem" in assert_error(
        world.act(buyer, waiting["id"], "report-problem", problem="meh", reason="x"), 422
    )
    reported = world.ok(
        buyer, waiting["id"], "report-problem", problem="not_repaired", reason="Still broken."
    )
    assert (reported["status"], reported["awaiting"]) == ("gathering_evidence", "both")
    assert statement(world, buyer, waiting["id"], "It still does not heat.").status_code == 201
    assert statement(world, seller, waiting["id"], "It was tested.").status_code == 201
    world.ok(buyer, waiting["id"], "evidence-done")
    assert world.ok(seller, waiting["id"], "evidence-done")["status"] == "awaiting_decision"


# Offers of another remedy or a compensation -----------------------------------------------------


def test_accepting_an_offered_exchange_moves_the_request_onto_the_exchange_path(
    world: World,
) -> None:
    dispute, buyer, seller = world.dispute(remedy="refund_only")
    offered = world.ok(seller, dispute["id"], "offer", remedy="exchange", note="A new one?")
    assert offered["pending_offer"]["kind"] == "remedy"
    assert offered["pending_offer"]["remedy"] == "exchange"
    assert offered["pending_offer"]["amount"] is None

    moved = world.ok(buyer, dispute["id"], "accept-offer")
    assert (moved["status"], moved["remedy"]) == ("awaiting_return", "exchange")
    assert moved["pending_offer"] is None


def test_an_offered_reship_goes_straight_to_fulfilment(world: World) -> None:
    dispute, buyer, seller = world.dispute(remedy="refund_only", reason="missing_parts")
    world.ok(seller, dispute["id"], "offer", remedy="reship")
    moved = world.ok(buyer, dispute["id"], "accept-offer")
    assert (moved["status"], moved["remedy"]) == ("awaiting_fulfilment", "reship")


def test_an_accepted_compensation_settles_and_is_instructed_once_for_the_platform_to_confirm(
    world: World, app: Flask, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute()
    offer = {"compensation": {"kind": "store_credit", "amount": 3_000}}
    offered = world.ok(seller, dispute["id"], "offer", **offer)
    assert offered["pending_offer"]["compensation"] == {"kind": "store_credit", "amount": 3_000}

    settled = world.ok(buyer, dispute["id"], "accept-offer")
    assert (settled["status"], settled["outcome"]) == ("closed", "settled")
    assert [(c["kind"], c["amount"], c["confirmed_at"]) for c in settled["compensations"]] == [
        ("store_credit", 3_000, None)
    ]
    assert settled["refunds"] == [] and refunded(world, dispute["order_id"]) == 0

    path = f"/v1/disputes/{dispute['id']}/compensation-confirmation"
    assert_error(world.call(buyer, "POST", path), 403)
    clock.advance(timedelta(hours=1))
    confirmed = world.call("platform", "POST", path)
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["compensations"][0]["confirmed_at"] is not None
    assert_error(world.call("platform", "POST", path), 409, "compensation_already_confirmed")
    clock.advance(timedelta(days=30))
    run_sweep(app)
    assert world.read(buyer, dispute["id"])["compensations"][0]["overdue_since"] is None


def test_an_unconfirmed_compensation_is_flagged_after_three_working_days(
    world: World, app: Flask, clock: ManualClock
) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "offer", compensation={"kind": "coupon", "amount": 500})
    world.ok(buyer, dispute["id"], "accept-offer")  # Monday 5 January, 17:00 in Beijing
    clock.advance(timedelta(days=3) - timedelta(seconds=1))
    run_sweep(app)
    assert world.read(buyer, dispute["id"])["compensations"][0]["overdue_since"] is None
    clock.advance(timedelta(seconds=1))  # Thursday 8 January, 17:00: three working days
    run_sweep(app)
    assert world.read(buyer, dispute["id"])["compensations"][0]["overdue_since"] is not None
    assert timeline(world, dispute["id"])[-1]["action"] == "compensation-overdue"


def test_an_offer_says_one_thing_and_another_remedy_than_asked(world: World) -> None:
    dispute, _buyer, seller = world.dispute(remedy="exchange")
    before = state(world, seller, dispute["id"])
    both = world.act(seller, dispute["id"], "offer", amount=1_000, remedy="repair")
    assert "amount" in assert_error(both, 422)
    assert "amount" in assert_error(world.act(seller, dispute["id"], "offer"), 422)
    same = world.act(seller, dispute["id"], "offer", remedy="exchange")
    assert "remedy" in assert_error(same, 422)
    bad_kind = {"compensation": {"kind": "cash", "amount": 100}}
    assert "compensation" in assert_error(
        world.act(seller, dispute["id"], "offer", **bad_kind), 422
    )
    assert state(world, seller, dispute["id"]) == before


# Working days -----------------------------------------------------------------------------------


def test_a_refund_before_the_spring_festival_is_overdue_only_three_working_days_later(
    world: World, app: Flask, clock: ManualClock
) -> None:
    # Friday 13 February 2026, 10:00 in Beijing; the make-up Saturday 14 counts, the break does not.
    clock.advance(datetime(2026, 2, 13, 2, 0, tzinfo=UTC) - clock.now())
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "accept")
    clock.advance(datetime(2026, 2, 25, 1, 59, tzinfo=UTC) - clock.now())
    run_sweep(app)
    assert world.read(buyer, dispute["id"])["refund"]["overdue_since"] is None
    clock.advance(timedelta(minutes=1))  # Wednesday 25 February, 10:00 in Beijing
    run_sweep(app)
    assert world.read(buyer, dispute["id"])["refund"]["overdue_since"] is not None


def test_an_exchange_accepted_before_the_festival_is_due_after_it(
    world: World, clock: ManualClock
) -> None:
    # Thursday 12 February 2026, 17:00 in Beijing: Fri 13, Sat 14 (make-up), Tue 24, Wed 25, Thu 26.
    clock.advance(datetime(2026, 2, 12, 9, 0, tzinfo=UTC) - clock.now())
    waiting, _buyer, _seller = returned(world, "exchange")
    assert due(waiting) == datetime(2026, 2, 26, 9, 0, tzinfo=UTC)


# A ruling may add a compensation (never a fulfilment) ---------------------------------------------


RULING = {"responsibility": "seller", "rationale": "Dented in the seller's packing."}


def test_a_ruling_may_add_a_compensation_instructed_with_it(
    world: World, clock: ManualClock
) -> None:
    dispute, buyer, _seller = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    bad = {"kind": "voucher", "amount": 500}
    refused = world.act(
        arbitrator, dispute["id"], "decide", outcome="buyer_full_refund", compensation=bad, **RULING
    )
    assert "compensation" in assert_error(refused, 422)

    ruled = world.ok(
        arbitrator,
        dispute["id"],
        "decide",
        outcome="buyer_partial_refund",
        refund_amount=2_000,
        compensation={"kind": "coupon", "amount": 500},
        **RULING,
    )
    assert ruled["decision"]["compensation"] == {"kind": "coupon", "amount": 500}
    assert [(c["kind"], c["amount"]) for c in ruled["compensations"]] == [("coupon", 500)]
    assert ruled["refund_amount"] == 2_000
    assert refunded(world, dispute["order_id"]) == 2_000  # a compensation is not money back

    senior = world.account("senior_arbitrator")
    clock.advance(timedelta(hours=1))
    world.ok(buyer, dispute["id"], "appeal", reason="Not enough for a broken kettle.")
    world.ok(senior, dispute["id"], "claim")
    overturned = world.ok(
        senior,
        dispute["id"],
        "appeal-decision",
        result="overturn",
        rationale="The whole price back, and store credit for the trouble.",
        decision={
            "outcome": "buyer_full_refund",
            "compensation": {"kind": "store_credit", "amount": 1_000},
            **RULING,
        },
    )
    assert (overturned["status"], overturned["outcome"]) == ("closed", "refunded")
    assert [(c["kind"], c["amount"]) for c in overturned["compensations"]] == [
        ("coupon", 500),
        ("store_credit", 1_000),
    ]


def test_a_ruling_without_a_compensation_shows_none(world: World) -> None:
    dispute, _buyer, _seller = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute["id"], "claim")
    ruled = world.ok(arbitrator, dispute["id"], "decide", outcome="buyer_full_refund", **RULING)
    assert ruled["decision"]["compensation"] is None
    assert ruled["compensations"] == []
