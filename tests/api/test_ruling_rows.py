"""A ruling writes its decision, refund and compensation as plain rows (``arbitration.rows``), and
counts its refund on the order as it checks its terms: the session's objects must be exactly the
rows the database holds, and a refund beyond what is left of the order is still a 422 that counts
nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, update

from api.wiring import Services
from arbitration import flows
from arbitration.accounts import Caller
from arbitration.audit import verify_chains
from arbitration.db import Base
from arbitration.models import Account, Compensation, Decision, Order, Refund
from tests.support.assertions import assert_error, state
from tests.support.world import World

RULING = {"responsibility": "seller", "rationale": "The photos show the crack."}
BEYOND = ["at most 3000: what is left to refund on the order"]


def _columns(row: Base) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in type(row).__table__.columns}


def _refunded(world: World, order_id: str) -> int:
    order = world.call("platform", "GET", f"/v1/orders/{order_id}").json
    return int(order["refunded_amount"])


def _refund_elsewhere(services: Services, order_id: str, amount: int) -> None:
    """What another dispute of the order refunded (its own rows do not matter here)."""
    with services.database.unit_of_work() as session:
        session.execute(update(Order).where(Order.id == order_id).values(refunded_amount=amount))


def test_the_ruling_rows_in_the_session_are_the_rows_in_the_database(
    world: World, services: Services
) -> None:
    filed, _, _ = world.awaiting_decision()
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, filed["id"], "claim")
    params = {
        "outcome": "buyer_partial_refund",
        "refund_amount": 2_000,
        "compensation": {"kind": "coupon", "amount": 300},
        **RULING,
    }
    with services.database.unit_of_work() as session:
        account = session.get(Account, arbitrator)
        assert account is not None
        dispute = flows.act(
            session,
            dispute_id=filed["id"],
            action="decide",
            caller=Caller(account),
            params=params,
            policy=services.policy,
            at=services.clock.now(),
        )
        assert dispute.decision_id is not None
        decision = session.get(Decision, dispute.decision_id)
        refund = session.query(Refund).filter_by(dispute_id=dispute.id).one()
        compensation = session.query(Compensation).filter_by(dispute_id=dispute.id).one()
        held = {}
        for row in (decision, refund, compensation):
            assert row is not None
            state_of = inspect(row)
            assert state_of.persistent and not state_of.modified
            held[type(row)] = _columns(row)
        assert (refund.ordered_by, compensation.ordered_by) == (decision.id, decision.id)
        assert decision.compensation == {"kind": "coupon", "amount": 300}
    with services.database.unit_of_work(read_only=True) as session:
        for model, columns in held.items():
            stored = session.get(model, columns["id"])
            assert stored is not None
            assert _columns(stored) == columns
        assert verify_chains(session).ok
    assert _refunded(world, filed["order_id"]) == 2_000


def test_a_ruling_beyond_what_is_left_of_the_order_is_refused_and_counts_nothing(
    world: World, services: Services
) -> None:
    filed, buyer, _ = world.awaiting_decision(amount=10_000)
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, filed["id"], "claim")
    _refund_elsewhere(services, filed["order_id"], 7_000)
    before = state(world, buyer, filed["id"])
    full = world.act(arbitrator, filed["id"], "decide", outcome="buyer_full_refund", **RULING)
    assert assert_error(full, 422) == {"refund_amount": BEYOND}
    # With other problems the amount is still checked, and named in the same order as before.
    both = world.act(
        arbitrator,
        filed["id"],
        "decide",
        outcome="buyer_full_refund",
        **RULING | {"rationale": "   "},
    )
    assert list(assert_error(both, 422).items()) == [
        ("refund_amount", BEYOND),
        ("rationale", ["required: say why, for the parties and for an appeal"]),
    ]
    assert state(world, buyer, filed["id"]) == before
    assert _refunded(world, filed["order_id"]) == 7_000
    ruled = world.ok(
        arbitrator,
        filed["id"],
        "decide",
        outcome="buyer_partial_refund",
        refund_amount=3_000,
        **RULING,
    )
    assert ruled["refund"]["amount"] == 3_000
    assert _refunded(world, filed["order_id"]) == 10_000


def test_an_overturn_beyond_what_is_left_of_the_order_is_refused_and_counts_nothing(
    world: World, services: Services
) -> None:
    filed, buyer, _ = world.under_appeal(amount=10_000)  # ruled: 100 refunded
    senior = world.account("senior_arbitrator")
    world.ok(senior, filed["id"], "claim")
    _refund_elsewhere(services, filed["order_id"], 7_100)  # 2,900 left: 3,000 with the ruling's
    before = state(world, buyer, filed["id"])
    overturn = {"result": "overturn", "rationale": "The listing promised a working lamp."}
    refused = world.act(
        senior,
        filed["id"],
        "appeal-decision",
        decision={"outcome": "buyer_full_refund", **RULING},
        **overturn,
    )
    assert assert_error(refused, 422) == {"decision.refund_amount": BEYOND}
    assert state(world, buyer, filed["id"]) == before
    assert _refunded(world, filed["order_id"]) == 7_100
    closed = world.ok(
        senior,
        filed["id"],
        "appeal-decision",
        decision={"outcome": "buyer_partial_refund", "refund_amount": 3_000, **RULING},
        **overturn,
    )
    assert sorted(refund["amount"] for refund in closed["refunds"]) == [100, 2_900]
    assert _refunded(world, filed["order_id"]) == 10_000


def test_a_ruling_answers_with_the_rows_it_wrote_as_a_fresh_read_shows_them(
    world: World, services: Services
) -> None:
    """The ruling's body takes its refund and compensation from the session, not read back; the
    writes after it (an appeal, an overturn that adds to them, the confirmations) read them."""
    arbitrator, senior = world.account("arbitrator"), world.account("senior_arbitrator")
    filed, buyer, _ = world.awaiting_decision(amount=10_000)
    favoured, appellant, _ = world.awaiting_decision()
    for dispute in (filed, favoured):
        world.ok(arbitrator, dispute["id"], "claim")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(services.database.engine, "before_cursor_execute", seen)
    try:
        ruled = world.ok(
            arbitrator,
            filed["id"],
            "decide",
            outcome="buyer_partial_refund",
            refund_amount=2_000,
            compensation={"kind": "coupon", "amount": 300},
            **RULING,
        )
        for_seller = world.ok(
            arbitrator,
            favoured["id"],
            "decide",
            outcome="seller_favored",
            compensation={"kind": "store_credit", "amount": 200},
            **RULING,
        )
    finally:
        event.remove(services.database.engine, "before_cursor_execute", seen)
    assert statements and not [sql for sql in statements if "lists" in sql]
    assert ruled == world.read(arbitrator, filed["id"])
    assert [ruled["refund"]["amount"], ruled["compensations"][0]["amount"]] == [2_000, 300]
    assert for_seller == world.read(arbitrator, favoured["id"])
    assert (for_seller["refunds"], len(for_seller["compensations"])) == ([], 1)
    appealed = world.ok(appellant, favoured["id"], "appeal", reason="Credit is not a refund.")
    assert appealed == world.read(appellant, favoured["id"])
    assert len(appealed["compensations"]) == 1  # written before: read

    after = [
        (buyer, "appeal", {"reason": "Too little."}),
        (senior, "claim", {}),
        (
            senior,
            "appeal-decision",
            {
                "result": "overturn",
                "rationale": "The listing promised a working lamp.",
                "decision": {
                    "outcome": "buyer_full_refund",
                    "compensation": {"kind": "store_credit", "amount": 100},
                    **RULING,
                },
            },
        ),
    ]
    for who, action, body in after:
        answer = world.ok(who, filed["id"], action, **body)
        assert answer == world.read(who, filed["id"]), action
    assert [len(answer["refunds"]), len(answer["compensations"])] == [2, 2]
    for dispute in (filed, favoured):
        for what in ("refund", "compensation"):
            path = f"/v1/disputes/{dispute['id']}/{what}-confirmation"
            confirmed = world.call("platform", "POST", path, json={})
            if dispute is favoured and what == "refund":
                assert confirmed.status_code == 409  # nothing to confirm
                continue
            assert confirmed.status_code == 200, confirmed.json
            assert confirmed.json == world.read("platform", dispute["id"]), what
