"""Every action writes the dispute's changes as one plain UPDATE (``flows._write_changes``), not
through the unit of work: the object an action returns must be clean and exactly what a fresh
session then reads, whatever the action set (its effect's fields, a timer's, a closing's, the
chain's head), for every kind of action, a person's or the clock's. The body an action answers
with is built from what the session holds (``api.views.dispute_body.written_body``: the refunds and
compensations it instructed are not read back): it must be what a fresh read then shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect

from api.wiring import Services
from arbitration import flows, sweep
from arbitration.audit import verify_chains
from arbitration.clock import ManualClock
from arbitration.models import Dispute
from tests.support.world import World

RULING = {"responsibility": "seller", "rationale": "The photos show the crack."}


def _columns(dispute: Dispute) -> dict[str, Any]:
    return {column.key: getattr(dispute, column.key) for column in Dispute.__table__.columns}


class Acted:
    """What each action left on the object it returned (the last per dispute), and which ran."""

    def __init__(self) -> None:
        self.returned: dict[str, dict[str, Any]] = {}
        self.actions: set[str] = set()


@pytest.fixture
def acted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Acted]:
    seen = Acted()
    real_act = flows.act

    def act(session: Any, **kwargs: Any) -> Dispute:
        dispute = real_act(session, **kwargs)
        state = inspect(dispute)
        assert not state.modified and dispute not in session.dirty  # nothing left to flush
        seen.returned[dispute.id] = _columns(dispute)
        seen.actions.add(kwargs["action"])
        return dispute

    monkeypatch.setattr(flows, "act", act)
    yield seen


def _stored_as_returned(services: Services, acted: Acted) -> None:
    with services.database.unit_of_work(read_only=True) as session:
        for dispute_id, returned in acted.returned.items():
            stored = session.get(Dispute, dispute_id)
            assert stored is not None
            assert _columns(stored) == returned, dispute_id
        assert verify_chains(session).ok
    acted.returned.clear()


def _sweep(app: Flask) -> None:
    services = app.extensions["arbitration"]
    sweep.sweep_due_deadlines(services.database, policy=services.policy, clock=services.clock)


def test_every_action_stores_what_it_changed_on_the_dispute(
    world: World, services: Services, app: Flask, clock: ManualClock, acted: Acted
) -> None:
    def ok(who: str, dispute_id: str, action: str, **body: Any) -> dict[str, Any]:
        answer = world.ok(who, dispute_id, action, **body)
        _stored_as_returned(services, acted)
        assert answer == world.read(who, dispute_id), action
        return answer

    # A ruling, its appeal and the appeal's decision; an arbitrator handed the case, more asked.
    dispute, buyer, seller = world.dispute()
    ok(seller, dispute["id"], "reject", reason="Works as described.")
    ok(buyer, dispute["id"], "escalate", reason="It does not.")
    ok(buyer, dispute["id"], "evidence-done")
    ok(seller, dispute["id"], "evidence-done")
    arbitrator, senior = world.account("arbitrator"), world.account("senior_arbitrator")
    ok(arbitrator, dispute["id"], "claim")
    ok(senior, dispute["id"], "reassign", arbitrator_id=world.account("arbitrator"))
    ok(senior, dispute["id"], "reassign", arbitrator_id=arbitrator)
    ok(arbitrator, dispute["id"], "request-info", party="both", question="Photos?")
    ok(buyer, dispute["id"], "evidence-done")
    ok(seller, dispute["id"], "evidence-done")
    ok(
        arbitrator,
        dispute["id"],
        "decide",
        outcome="buyer_partial_refund",
        refund_amount=1_000,
        **RULING,
    )
    ok(buyer, dispute["id"], "appeal", reason="Too little.")
    ok(senior, dispute["id"], "claim")
    ok(
        senior,
        dispute["id"],
        "appeal-decision",
        result="overturn",
        decision={"outcome": "buyer_full_refund", **RULING},
        rationale="The listing promised a working lamp.",
    )

    # An offer accepted; a modified request, an extension, a withdrawal.
    dispute, buyer, seller = world.dispute()
    ok(seller, dispute["id"], "offer", amount=2_000)
    ok(buyer, dispute["id"], "accept-offer")
    dispute, buyer, seller = world.dispute()
    ok(seller, dispute["id"], "offer", compensation={"kind": "store_credit", "amount": 500})
    ok(buyer, dispute["id"], "accept-offer")
    dispute, buyer, seller = world.dispute()
    ok(seller, dispute["id"], "offer", amount=2_000)
    ok(buyer, dispute["id"], "modify", amount=3_000, reason="not_as_described")
    ok(seller, dispute["id"], "request-extension")
    ok(buyer, dispute["id"], "withdraw")

    # A return and a repair: return fields, a promised date that becomes the deadline.
    dispute, buyer, seller = world.dispute(remedy="repair")
    ok(seller, dispute["id"], "accept")
    ok(buyer, dispute["id"], "ship-return", carrier="SF", tracking_number="SF100")
    ok(seller, dispute["id"], "confirm-return")
    ready_by = (clock.now() + timedelta(days=10)).isoformat()
    ok(seller, dispute["id"], "promise-repair", ready_by=ready_by)
    ok(seller, dispute["id"], "ship-fulfilment", carrier="SF", tracking_number="2")
    ok(buyer, dispute["id"], "confirm-receipt")

    # A refund on acceptance; the clock's moves for a silent party (the system's actions).
    dispute, buyer, seller = world.dispute()
    ok(seller, dispute["id"], "accept")
    silent, _buyer, _seller = world.dispute(remedy="reship", reason="not_received")
    accepted = ok(_seller, silent["id"], "accept")
    rejected, _buyer, seller = world.dispute()
    ok(seller, rejected["id"], "reject", reason="No.")
    clock.advance(timedelta(days=60))
    _sweep(app)
    _stored_as_returned(services, acted)
    assert accepted["status"] == "awaiting_fulfilment"

    assert acted.actions >= {
        "reject", "escalate", "evidence-done", "claim", "reassign", "request-info", "decide",
        "appeal", "appeal-decision", "offer", "accept-offer", "modify", "request-extension",
        "withdraw", "accept", "ship-return", "confirm-return", "promise-repair",
        "ship-fulfilment", "confirm-receipt", "refund-instead", "abandon",
    }  # fmt: skip
