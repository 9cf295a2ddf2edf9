"""A row read or inserted as plain values joins the session through ``rows.as_loaded``, without
``Session.add``'s cascade walk: its object must then be what ``Session.get`` would have loaded,
persistent and clean, kept for the unit of work, its relationships loading lazily, and a later
change to it written by the next flush like any loaded row's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import InstanceState, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from api.wiring import Services
from arbitration import disputes
from arbitration.accounts import Caller
from arbitration.db import _KEPT
from arbitration.models import Account, Decision, Dispute
from arbitration.rows import Rows, as_loaded
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


def _joined(session: Session, row: Decision, *, through_orm: bool) -> InstanceState[Decision]:
    if through_orm:  # what ``as_loaded`` did for every row: SQLAlchemy's own steps
        make_transient_to_detached(row)
        session._update_impl(instance_state(row))
    else:
        as_loaded(session, row)
    return instance_state(row)


def test_a_row_made_as_rows_makes_it_joins_the_session_as_the_orm_would_put_it(
    services: Services,
) -> None:
    """``as_loaded`` gives a row made by ``Rows.new`` only its key: the state must be the one
    ``make_transient_to_detached`` leaves, and a row with a column left out takes that path (the
    column expired, loaded on first use)."""
    rows = Rows(Decision)
    terms = {"dispute_id": "dsp_x", "kind": "ruling", "outcome": "seller_favored"}
    with services.database.unit_of_work() as session:  # writes nothing: the rows stay clean
        made = [rows.new(id=f"dcs_{name}", **terms) for name in ("fast", "orm")]
        fast = _joined(session, made[0], through_orm=False)
        orm = _joined(session, made[1], through_orm=True)
        for state in (fast, orm):
            assert state.persistent and not state.modified and not state.expired
            assert state.obj() in session.info[_KEPT]
            assert session.get(Decision, state.key[1][0]) is state.obj()
        assert fast.key == (Decision, ("dcs_fast",), None)
        assert not fast.committed_state and not orm.committed_state
        assert fast.expired_attributes == orm.expired_attributes == set()
        assert fast.dict.keys() == orm.dict.keys()

        partial = rows.new(id="dcs_partial", **terms)
        del partial.__dict__["rationale"]
        as_loaded(session, partial)
        assert inspect(partial).persistent
        assert inspect(partial).expired_attributes == {"rationale"}
