"""A row read or inserted as plain values joins the session through ``rows.as_loaded``, without
``Session.add``'s cascade walk: its object must then be what ``Session.get`` would have loaded,
persistent and clean, kept for the unit of work, its relationships loading lazily, and a later
change to it written by the next flush like any loaded row's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect

from api.wiring import Services
from arbitration import disputes
from arbitration.accounts import Caller
from arbitration.db import _KEPT
from arbitration.models import Account, Dispute
from tests.support.world import World


def _columns(dispute: Dispute) -> dict[str, Any]:
    return {column.key: getattr(dispute, column.key) for column in Dispute.__table__.columns}


def test_a_dispute_read_as_plain_values_is_the_one_the_orm_loads(
    world: World, services: Services
) -> None:
    filed, buyer, _ = world.dispute()
    with services.database.unit_of_work(read_only=True) as session:
        by_orm = session.get(Dispute, filed["id"])
        assert by_orm is not None
        expected = _columns(by_orm), [(i.listing_id, i.value) for i in by_orm.items]
        expected_order = by_orm.order.id
    with services.database.unit_of_work() as session:
        account = session.get(Account, buyer)
        assert account is not None
        dispute = disputes.get_dispute(session, caller=Caller(account), dispute_id=filed["id"])
        state = inspect(dispute)
        assert state.persistent and not state.modified and state.key is not None
        assert session.get(Dispute, filed["id"]) is dispute  # the identity map holds it
        assert dispute in session.info[_KEPT]  # kept alive for the unit of work
        assert not session.new and not session.dirty
        assert _columns(dispute) == expected[0]
        assert [(i.listing_id, i.value) for i in dispute.items] == expected[1]  # loads lazily
        assert dispute.order.id == expected_order
        dispute.description = "changed after it was read"
        assert dispute in session.dirty
        session.flush()
        assert not inspect(dispute).modified
    with services.database.unit_of_work(read_only=True) as session:
        stored = session.get(Dispute, filed["id"])
        assert stored is not None
        assert stored.description == "changed after it was read"
