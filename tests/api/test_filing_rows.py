"""A filing writes its dispute, lines, link and timers as plain rows: the session's copy of the new
dispute must be exactly what the database holds, and the order it reads in one statement exactly
what the ORM would load."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, inspect

from api.wiring import Services
from arbitration import disputes, filing, orders
from arbitration.accounts import Caller
from arbitration.audit import verify_chains
from arbitration.models import Account, Dispute, Order
from tests.support.world import World

LINES = [
    {"listing_id": "lst-b", "title": "B", "quantity": 2, "unit_price": 1_500},
    {"listing_id": "lst-a", "title": "A", "quantity": 1, "unit_price": 4_000},
]


def _columns(dispute: Dispute) -> dict[str, Any]:
    return {column.key: getattr(dispute, column.key) for column in Dispute.__table__.columns}


def _items(dispute: Dispute) -> list[tuple[str, str, int, int]]:
    return sorted(
        (item.dispute_id, item.listing_id, item.quantity, item.value) for item in dispute.items
    )


@pytest.mark.parametrize(
    "chosen",
    [None, (filing.ItemIn("lst-a", 1),), (filing.ItemIn("lst-b", 1),)],
    ids=["whole order", "one line", "part of a line"],
)
def test_the_filed_dispute_in_the_session_is_the_row_in_the_database(
    world: World, services: Services, chosen: tuple[filing.ItemIn, ...] | None
) -> None:
    buyer, _seller, order_id = world.parties(amount=7_000, status="shipped", items=LINES)
    at = services.clock.now()
    with services.database.unit_of_work() as session:
        account = session.get(Account, buyer)
        assert account is not None
        caller = Caller(account)
        dispute = filing.file_dispute(
            session,
            caller=caller,
            dispute_in=filing.DisputeIn(order_id, "damaged", "refund_only", 1_000, items=chosen),
            policy=services.policy,
            at=at,
        )
        state = inspect(dispute)
        assert state.persistent and not state.modified
        assert not session.new and not session.dirty
        assert session.get(Dispute, dispute.id) is dispute
        held = _columns(dispute), _items(dispute), [i.listing_id for i in dispute.items]
    assert held[1] and all(item[0] == dispute.id for item in held[1])
    if chosen is None:
        assert held[2] == ["lst-b", "lst-a"]  # the order's lines, in the order's order
    with services.database.unit_of_work(read_only=True) as session:
        stored = session.get(Dispute, dispute.id)
        assert stored is not None
        assert (_columns(stored), _items(stored)) == held[:2]
        assert stored.event_count == 1 and stored.deadline_action is not None
        assert verify_chains(session).ok


@pytest.mark.parametrize(
    "items", [None, [{"listing_id": "lst-b", "quantity": 1}]], ids=["whole order", "one line"]
)
def test_a_filing_answers_with_the_dispute_a_fresh_read_shows(
    world: World, items: list[dict[str, Any]] | None
) -> None:
    buyer, _seller, order_id = world.parties(amount=7_000, status="shipped", items=LINES)
    filed = world.file(buyer, order_id, amount=1_000, **({"items": items} if items else {}))
    assert filed == world.read(buyer, filed["id"])
    assert [item["listing_id"] for item in filed["items"]] == (
        ["lst-b"] if items else ["lst-a", "lst-b"]
    )


def test_the_order_read_with_its_lines_is_the_order_the_orm_loads(
    world: World, services: Services
) -> None:
    buyer, seller, with_lines = world.parties(amount=7_000, items=LINES)
    without_lines = world.order(buyer=buyer, seller=seller, items=[])
    with services.database.unit_of_work() as session:
        for order_id in (with_lines, without_lines):
            terms = orders.lock_order_terms(session, order_id)
            order = session.get(Order, order_id)
            assert terms is not None and order is not None
            assert (terms.id, terms.buyer_id, terms.seller_id, terms.currency, terms.status) == (
                order.id,
                order.buyer_id,
                order.seller_id,
                order.currency,
                order.status,
            )
            assert (terms.amount, terms.refunded_amount, terms.shipped) == (
                order.amount,
                order.refunded_amount,
                order.shipped,
            )
            assert [(x.listing_id, x.quantity, x.unit_price) for x in terms.items] == [
                (x.listing_id, x.quantity, x.unit_price) for x in order.items
            ]
        assert orders.lock_order_terms(session, "no-such-order") is None


def test_a_dispute_read_for_a_write_is_the_one_the_orm_loads(
    world: World, services: Services
) -> None:
    buyer, seller, order_id = world.parties(amount=7_000, status="shipped", items=LINES)
    without_lines = world.order(buyer=buyer, seller=seller, items=[])
    for filed in (world.file(buyer, order_id), world.file(buyer, without_lines, amount=100)):
        _read_for_a_write_as_the_orm_loads(services, buyer, filed["id"])


def _read_for_a_write_as_the_orm_loads(services: Services, buyer: str, dispute_id: str) -> None:
    with services.database.unit_of_work(read_only=True) as session:
        loaded = session.get(Dispute, dispute_id)
        assert loaded is not None
        expected = _columns(loaded), _items(loaded), loaded.order.id
        lines = [(item.listing_id, item.quantity, item.value) for item in loaded.items]
    with services.database.unit_of_work() as session:
        account = session.get(Account, buyer)
        assert account is not None
        dispute = disputes.get_dispute(session, caller=Caller(account), dispute_id=dispute_id)
        assert disputes.lines_read(session, dispute) == lines  # in the order of ``items``
        state = inspect(dispute)
        assert state.persistent and not state.modified
        assert not session.new and not session.dirty
        assert session.get(Dispute, dispute.id) is dispute
        # A second read in the same unit of work is the session's object, as Session.get's.
        assert disputes.get_dispute(session, caller=Caller(account), dispute_id=dispute.id) is (
            dispute
        )
        assert (_columns(dispute), _items(dispute), dispute.order.id) == expected
        with pytest.raises(disputes.NotFound):
            disputes.get_dispute(session, caller=Caller(account), dispute_id="dsp-none")


def test_a_staff_member_reading_a_dispute_for_a_write_learns_if_related_in_the_same_read(
    world: World, services: Services
) -> None:
    buyer, seller, order_id = world.parties(amount=7_000, status="shipped", items=LINES)
    filed = world.file(buyer, order_id)
    admin, cousin, other = (world.account(role) for role in ("admin", "arbitrator", "arbitrator"))
    assert world.call(admin, "PUT", f"/v1/accounts/{cousin}/related/{seller}").status_code == 201
    for staff_id, related in ((cousin, True), (other, False)):
        with services.database.unit_of_work() as session:
            account = session.get(Account, staff_id)
            assert account is not None
            dispute = disputes.get_dispute(session, caller=Caller(account), dispute_id=filed["id"])
            statements: list[str] = []
            event.listen(
                session.connection(), "before_execute", lambda *_, seen=statements: seen.append("")
            )
            assert disputes.is_conflicted(session, staff_id=staff_id, dispute=dispute) is related
            assert statements == []  # answered by the dispute's own read
