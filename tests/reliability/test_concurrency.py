"""Two people acting on one dispute at the same moment, on real threads and a real SQLite file."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from flask import Flask

from arbitration.audit import verify_chains
from tests.support.world import World

ROUNDS = 12


def _race(app: Flask, calls: list[tuple[str, dict[str, Any], dict[str, str]]]) -> list[Any]:
    """Fire the calls together (each on its own thread and test client) and collect the responses."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        client = app.test_client()
        barrier.wait()
        results[index] = client.post(path, json=body, headers=headers)

    threads = [
        threading.Thread(target=run, args=(index, *call)) for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_conflicting_actions_at_the_same_moment_one_wins_the_other_gets_409(
    app: Flask, world: World
) -> None:
    winners: Counter[str] = Counter()
    for _ in range(ROUNDS):
        dispute, buyer, seller = world.dispute()
        base = f"/v1/disputes/{dispute['id']}"
        accept, withdraw = _race(
            app,
            [
                (f"{base}/accept", {}, world.headers(seller)),
                (f"{base}/withdraw", {}, world.headers(buyer)),
            ],
        )
        statuses = sorted([accept.status_code, withdraw.status_code])
        assert statuses == [200, 409], (accept.json, withdraw.json)
        loser = accept if accept.status_code == 409 else withdraw
        assert loser.json["error"]["code"] in ("action_not_allowed", "conflict")

        final = world.read(buyer, dispute["id"])
        winner = "accept" if accept.status_code == 200 else "withdraw"
        winners[winner] += 1
        assert final["outcome"] == ("refunded" if winner == "accept" else "withdrawn")
        events = world.call(buyer, "GET", f"{base}/events").json["data"]
        assert [e["action"] for e in events] == ["file", winner]
        assert final["version"] == 2


def test_same_idempotency_key_at_the_same_moment_files_one_dispute(
    app: Flask, world: World
) -> None:
    buyer, _seller, order_id = world.parties()
    body = {"order_id": order_id, "reason": "damaged", "remedy": "refund_only", "amount": 1_000}
    headers = world.headers(buyer, **{"Idempotency-Key": "double-click"})
    responses = _race(app, [("/v1/disputes", body, headers)] * 4)

    assert {r.status_code for r in responses} == {201}
    assert len({r.json["id"] for r in responses}) == 1
    assert len(world.call(buyer, "GET", "/v1/disputes").json["data"]) == 1


def test_two_buyers_filing_on_one_order_at_once_open_one_dispute(app: Flask, world: World) -> None:
    buyer, _seller, order_id = world.parties()
    body = {"order_id": order_id, "reason": "damaged", "remedy": "refund_only", "amount": 1_000}
    responses = _race(app, [("/v1/disputes", body, world.headers(buyer))] * 3)

    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    refused = [r for r in responses if r.status_code == 409]
    assert all(r.json["error"]["code"] == "open_dispute_exists" for r in refused)


# Many at once -----------------------------------------------------------------------------------

CROWD = 50
# What either party might press on a fresh dispute, and on the states it leads to.
CROWD_MOVES = (
    ("seller", "accept", {}),
    ("seller", "reject", {"reason": "Works as described."}),
    ("seller", "offer", {"amount": 1_000}),
    ("buyer", "withdraw", {}),
    ("buyer", "escalate", {}),
    ("buyer", "accept-offer", {}),
)


def test_fifty_parallel_actions_on_one_dispute_make_one_chain_of_winners(
    app: Flask, world: World
) -> None:
    """Each state is left once: every 200 is the next link of the timeline, the rest are 409s,
    nothing is a 5xx, the version counts the winners and the chain verifies."""
    dispute, buyer, seller = world.dispute()
    base = f"/v1/disputes/{dispute['id']}"
    who = {"buyer": buyer, "seller": seller}
    calls = [
        (f"{base}/{action}", body, world.headers(who[party]))
        for party, action, body in (CROWD_MOVES[n % len(CROWD_MOVES)] for n in range(CROWD))
    ]

    responses = _race(app, calls)

    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {200, 409}, codes
    events = world.call(buyer, "GET", f"{base}/events").json["data"]
    moves = events[1:]
    assert codes[200] == len(moves) >= 1, (codes, [e["action"] for e in events])
    for previous, event in zip(events, moves, strict=False):
        assert event["from_status"] == previous["to_status"], events  # each state left once
        assert event["prev_hash"] == previous["hash"]
    won = sorted(r.request.path.rsplit("/", 1)[-1] for r in responses if r.status_code == 200)
    assert won == sorted(e["action"] for e in moves)
    final = world.read(buyer, dispute["id"])
    assert (final["status"], final["version"]) == (events[-1]["to_status"], len(events))
    refunds = [e for e in events if e["action"] in ("accept", "accept-offer")]
    assert len(refunds) <= 1, refunds
    assert _disputes_chains_verify(app) == 1


def test_two_refund_confirmations_at_once_confirm_the_refund_once(app: Flask, world: World) -> None:
    rounds = 6
    for _ in range(rounds):
        dispute, buyer, seller = world.dispute()
        world.ok(seller, dispute["id"], "accept")
        path = f"/v1/disputes/{dispute['id']}/refund-confirmation"

        first, second = _race(app, [(path, {}, world.headers("platform"))] * 2)

        assert sorted([first.status_code, second.status_code]) == [200, 409], (
            first.json,
            second.json,
        )
        refused = first if first.status_code == 409 else second
        assert refused.json["error"]["code"] == "refund_already_confirmed"
        events = world.call(buyer, "GET", f"/v1/disputes/{dispute['id']}/events").json["data"]
        assert [e["action"] for e in events].count("refund-confirmed") == 1, events
    assert _disputes_chains_verify(app) == rounds


def _disputes_chains_verify(app: Flask) -> int:
    """Every dispute's hash chain verifies; returns how many disputes there are."""
    with app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
        report = verify_chains(session)
    assert report.ok, [str(link) for link in report.broken]
    return report.disputes
