"""Reports, satisfaction and transparency (DESIGN §7), through the app on a real database.

The same tests run on PostgreSQL (``scripts/with-postgres``): the medians and time arithmetic are
SQL that differs between the two databases.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Flask

from arbitration import sweep
from arbitration.clock import ManualClock
from arbitration.events import FeedbackRequested
from tests.support.world import World

HOUR = timedelta(hours=1)
RULING = {
    "outcome": "buyer_partial_refund",
    "refund_amount": 2_000,
    "responsibility": "shared",
    "rationale": "Half each.",
}


def run_sweep(app: Flask) -> sweep.SweepReport:
    services = app.extensions["arbitration"]
    return sweep.sweep_due_deadlines(
        services.database, policy=services.policy, clock=services.clock
    )


def summary(world: World, **query: str) -> dict[str, Any]:
    response = world.call("admin", "GET", "/v1/reports/summary", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def closed_dispute(world: World, clock: ManualClock) -> tuple[str, str, str]:
    dispute, buyer, seller = world.dispute()
    clock.advance(HOUR)
    world.ok(seller, dispute["id"], "accept")
    return dispute["id"], buyer, seller


# Satisfaction -------------------------------------------------------------------------------------


def test_each_party_rates_a_closed_dispute_once(world: World, clock: ManualClock) -> None:
    dispute, buyer, seller = world.dispute()
    world.account("arbitrator", "arb-feedback")

    early = world.call(buyer, "POST", f"/v1/disputes/{dispute['id']}/feedback", json={"rating": 5})
    assert early.status_code == 409
    assert early.json["error"]["code"] == "dispute_not_closed"

    world.ok(seller, dispute["id"], "accept")
    path = f"/v1/disputes/{dispute['id']}/feedback"
    given = world.call(buyer, "POST", path, json={"rating": 5, "comment": "Fast."})
    assert given.status_code == 201, given.json
    assert (given.json["party"], given.json["rating"]) == ("buyer", 5)
    assert world.call(seller, "POST", path, json={"rating": 3}).status_code == 201

    again = world.call(buyer, "POST", path, json={"rating": 1})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "feedback_already_given"
    assert world.call("arb-feedback", "POST", path, json={"rating": 1}).status_code == 403
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": "5"}, {}):
        assert world.call(seller, "POST", path, json=bad).status_code in (409, 422), bad
    timeline = world.call(buyer, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"]
    assert [e["payload"]["rating"] for e in timeline if e["action"] == "feedback"] == [5, 3]


def test_the_follow_up_request_goes_out_once_after_the_policy_delay(
    app: Flask, world: World, clock: ManualClock
) -> None:
    requested: list[FeedbackRequested] = []
    app.extensions["arbitration"].database.handlers.on(
        FeedbackRequested, lambda _session, event: requested.append(event)
    )
    dispute_id, buyer, seller = closed_dispute(world, clock)
    closed_at = clock.now()
    delay = (
        app.extensions["arbitration"].policy.due_after("feedback_request", closed_at) - closed_at
    )

    clock.advance(delay - timedelta(seconds=1))
    run_sweep(app)
    assert requested == []

    clock.advance(timedelta(seconds=1))
    run_sweep(app)
    clock.advance(delay)
    run_sweep(app)

    assert [(e.dispute_id, e.buyer_id, e.seller_id, e.outcome) for e in requested] == [
        (dispute_id, buyer, seller, "refunded")
    ]
    timeline = world.call(buyer, "GET", f"/v1/disputes/{dispute_id}/events").json["data"]
    assert [e["action"] for e in timeline].count("feedback-requested") == 1


def test_dissatisfied_answers_are_listed_for_the_platform(world: World, clock: ManualClock) -> None:
    world.account("admin", "admin")
    unhappy, unhappy_buyer, seller = closed_dispute(world, clock)
    happy, happy_buyer, _ = closed_dispute(world, clock)
    world.call(
        unhappy_buyer,
        "POST",
        f"/v1/disputes/{unhappy}/feedback",
        json={"rating": 2, "comment": "Slow."},
    )
    world.call(happy_buyer, "POST", f"/v1/disputes/{happy}/feedback", json={"rating": 4})

    listed = world.call("platform", "GET", "/v1/feedback/dissatisfied")
    assert listed.status_code == 200, listed.json
    assert [
        (a["dispute_id"], a["rating"], a["comment"], a["seller_id"]) for a in listed.json["data"]
    ] == [(unhappy, 2, "Slow.", seller)]
    assert world.call(unhappy_buyer, "GET", "/v1/feedback/dissatisfied").status_code == 403


# The summary --------------------------------------------------------------------------------------


def test_the_summary_counts_how_disputes_went(app: Flask, world: World, clock: ManualClock) -> None:
    world.account("admin", "admin")
    arbitrator = world.account("arbitrator")
    # Settled by the seller after 1 hour.
    settled, settled_buyer, _ = closed_dispute(world, clock)
    # Closed because the seller stayed silent: the system accepts after 24 hours.
    world.dispute(status="paid")
    # Escalated and ruled 2 hours after it became ready.
    ruled, _, _ = world.awaiting_decision()
    world.ok(arbitrator, ruled["id"], "claim")
    clock.advance(2 * HOUR)
    world.ok(arbitrator, ruled["id"], "decide", **RULING)
    clock.advance(24 * HOUR)
    run_sweep(app)
    world.call(settled_buyer, "POST", f"/v1/disputes/{settled}/feedback", json={"rating": 5})

    total = summary(world)["total"]

    assert total["filed"] == 3
    assert total["resolved"] == {"count": 2, "of": 3, "share": 0.6667}
    assert total["outcomes"] == {"refunded": 2}
    assert total["settled_by_parties"]["count"] == 1
    assert total["closed_by_timeout"]["count"] == 1
    assert total["escalated"] == {"count": 1, "of": 3, "share": 0.3333}
    assert total["cases_ruled"] == 1
    assert total["median_hours_to_rule"] == 2.0
    assert total["sla_compliance"] == {"count": 1, "of": 1, "share": 1.0}
    assert total["median_hours_to_resolution"] == 13.5  # 1 h, and 26 h (swept at 27 h)
    assert total["satisfied"] == {"count": 1, "of": 1, "share": 1.0}
    assert total["refunds_on_time"]["of"] == 0  # no confirmation window has passed unconfirmed yet

    by_arbitrator = {g["key"]: g for g in summary(world, by="arbitrator")["groups"]}
    assert by_arbitrator[arbitrator]["cases_ruled"] == 1
    assert by_arbitrator[arbitrator]["appeals_overturned"]["of"] == 0


def test_medians_per_group_take_the_middle_or_the_mean_of_the_two_middles(
    world: World, clock: ManualClock
) -> None:
    world.account("admin", "admin")
    odd = world.account("seller", "seller-odd")
    even = world.account("seller", "seller-even")
    for seller, hours in ((odd, (1, 2, 10)), (even, (1, 4))):
        for wait in hours:
            buyer = world.account("buyer")
            order = world.order(buyer=buyer, seller=seller)
            dispute = world.file(buyer, order)
            clock.advance(wait * HOUR)
            world.ok(seller, dispute["id"], "accept")

    groups = {g["key"]: g for g in summary(world, by="seller")["groups"]}

    assert groups[odd]["median_hours_to_resolution"] == 2.0
    assert groups[even]["median_hours_to_resolution"] == 2.5
    assert summary(world)["total"]["median_hours_to_resolution"] == 2.0  # 1 1 2 4 10


def test_the_summary_covers_a_period_and_draws_a_daily_series(
    world: World, clock: ManualClock
) -> None:
    world.account("admin", "admin")
    first = clock.now()
    closed_dispute(world, clock)
    clock.advance(timedelta(days=2))
    world.dispute()

    everything = summary(world, since=first.isoformat())
    first_day = summary(world, since=first.isoformat(), until=(first + HOUR * 20).isoformat())

    assert everything["total"]["filed"] == 2
    assert first_day["total"]["filed"] == 1
    assert [(d["filed"], d["closed"]) for d in everything["daily"]] == [(1, 1), (0, 0), (1, 0)]
    refused = world.call(
        "admin", "GET", "/v1/reports/summary", query_string={"since": "yesterday", "by": "colour"}
    )
    assert refused.status_code == 422
    assert set(refused.json["error"]["details"]) >= {"since", "by"}


def test_the_default_period_leaves_out_an_older_dispute_and_says_which_it_covered(
    world: World, clock: ManualClock
) -> None:
    world.account("admin", "admin")
    long_ago = clock.now()
    world.dispute()
    clock.advance(timedelta(days=31))
    world.dispute()
    now = clock.now()

    recent = summary(world)
    everything = summary(world, since=long_ago.isoformat())
    grouped = world.call("admin", "GET", "/v1/reports/summary", query_string={"by": "channel"})

    assert recent["total"]["filed"] == 1
    assert (recent["since"], recent["until"]) == (
        (now - timedelta(days=30)).isoformat(),
        now.isoformat(),
    )
    assert recent["daily"][0]["day"] == (now - timedelta(days=30)).date().isoformat()
    assert sum(day["filed"] for day in recent["daily"]) == 1
    assert everything["total"]["filed"] == 2
    assert grouped.json["since"] == recent["since"]


def test_the_summary_is_for_staff_and_the_platform(world: World) -> None:
    _, buyer, seller = world.dispute()
    assert world.call(buyer, "GET", "/v1/reports/summary").status_code == 403
    assert world.call(seller, "GET", "/v1/reports/summary").status_code == 403
    assert world.call("platform", "GET", "/v1/reports/summary").status_code == 200


# Transparency -------------------------------------------------------------------------------------


def test_public_decisions_never_show_who_the_buyer_is(world: World, clock: ManualClock) -> None:
    buyer = world.account("buyer", "zelda-quill")
    seller = world.account("seller", "acme-lamps")
    arbitrator = world.account("arbitrator")
    order = world.order(buyer=buyer, seller=seller)
    contact = "Zelda Quill, zelda@example.com, +1 555 0100"
    dispute = world.file(buyer, order, description=f"Call me: {contact}")
    world.ok(seller, dispute["id"], "reject", reason=f"{contact} broke it herself.")
    world.ok(buyer, dispute["id"], "escalate", reason=contact)
    world.call(
        buyer,
        "POST",
        f"/v1/disputes/{dispute['id']}/evidence",
        json={"kind": "statement", "text": contact},
    )
    world.ok(buyer, dispute["id"], "evidence-done")
    world.ok(seller, dispute["id"], "evidence-done")
    world.ok(arbitrator, dispute["id"], "claim")
    ruling = {**RULING, "rationale": f"Zelda Quill (zelda@example.com) showed {contact}."}
    world.ok(arbitrator, dispute["id"], "decide", **ruling)
    clock.advance(timedelta(days=8))
    run_sweep(world.app)  # the appeal window passes: the ruling is final and public

    response = world.client.get("/v1/public/decisions")  # no token needed
    assert response.status_code == 200
    (published,) = response.json["data"]
    text = json.dumps(response.json).lower()

    assert published["dispute_id"] == dispute["id"]
    assert (published["seller_id"], published["buyer"]) == ("acme-lamps", "Z***")
    assert (published["ruling"], published["refund_amount"]) == ("buyer_partial_refund", 2_000)
    for secret in ("zelda", "quill", "example.com", "555", buyer, "half each"):
        assert secret not in text, secret
    with_a_token = world.call(buyer, "GET", "/v1/public/decisions")
    assert with_a_token.json == response.json


def test_public_decisions_say_which_rulings_an_appeal_overturned(
    world: World, clock: ManualClock
) -> None:
    appealed, _buyer, _seller = world.under_appeal()
    senior = world.account("senior_arbitrator")
    world.ok(senior, appealed["id"], "claim")
    world.ok(
        senior,
        appealed["id"],
        "appeal-decision",
        result="overturn",
        decision={"outcome": "buyer_full_refund", "responsibility": "seller", "rationale": "All."},
        rationale="The photos show it all.",
    )
    final, _, _ = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, final["id"], "claim")
    world.ok(arbitrator, final["id"], "decide", **RULING)
    clock.advance(timedelta(days=8))
    run_sweep(world.app)  # the appeal window passes: the second ruling is final and public

    published = world.client.get("/v1/public/decisions").json["data"]

    assert {d["dispute_id"]: d["overturned_on_appeal"] for d in published} == {
        appealed["id"]: True,
        final["id"]: False,
    }


def test_public_warnings_name_the_seller_and_the_violations_only(world: World) -> None:
    trust = world.account("trust_safety")
    _, buyer, seller = world.dispute()
    for _ in range(4):  # 4 x 3 points reaches the first step: a public warning
        response = world.call(
            trust,
            "POST",
            f"/v1/sellers/{seller}/violations",
            json={"kind": "not_as_described", "note": f"Confirmed after {buyer} complained."},
        )
        assert response.status_code == 201, response.json

    response = world.client.get("/v1/public/warnings")

    assert response.status_code == 200
    (warning,) = response.json["data"]
    assert (warning["seller_id"], warning["violations"], warning["threshold"]) == (
        seller,
        ["not_as_described"],
        12,
    )
    assert buyer not in json.dumps(response.json)


def test_arbitrators_answer_for_late_rulings_overturned_appeals_and_cases_left_waiting(
    app: Flask, world: World, clock: ManualClock
) -> None:
    world.account("admin", "admin")
    slow = world.account("arbitrator", "arb-slow")
    senior = world.account("senior_arbitrator", "senior-sure")
    ruled, buyer, _ = world.awaiting_decision()
    waiting, _, _ = world.awaiting_decision()
    world.ok(slow, ruled["id"], "claim")
    world.ok(slow, waiting["id"], "claim")
    clock.advance(timedelta(hours=50))  # past the 48 h SLA
    world.ok(
        slow, ruled["id"], "decide", **{**RULING, "outcome": "seller_favored", "refund_amount": 0}
    )
    world.ok(buyer, ruled["id"], "appeal", reason="Unfair.")
    world.ok(senior, ruled["id"], "claim")
    clock.advance(HOUR)
    world.ok(
        senior,
        ruled["id"],
        "appeal-decision",
        result="overturn",
        rationale="The evidence favours the buyer.",
        decision={**RULING, "rationale": "Half back."},
    )
    clock.advance(timedelta(hours=50))  # the waiting case passes twice its SLA
    run_sweep(app)

    groups = {g["key"]: g for g in summary(world, by="arbitrator")["groups"]}

    assert groups[slow]["cases_ruled"] == 1
    assert groups[slow]["sla_compliance"] == {"count": 0, "of": 2, "share": 0.0}
    assert groups[slow]["appeals_overturned"] == {"count": 1, "of": 1, "share": 1.0}
    assert groups[slow]["escalated_to_seniors"] == 1
    assert groups[slow]["median_hours_to_rule"] == 50.0
    assert groups[senior]["cases_ruled"] == 1
    assert groups[senior]["sla_compliance"] == {"count": 1, "of": 1, "share": 1.0}
    assert groups[senior]["median_hours_to_rule"] == 1.0
