"""The ruling in force, read as a plain row when the session does not hold it (an appeal's ruling,
finality): the same object the ORM's ``get`` would give, clean and the session's own copy."""

from __future__ import annotations

from sqlalchemy import inspect

from api.wiring import Services
from arbitration.models import Decision, Dispute
from arbitration.rulings import current_decision
from tests.support.world import World


def test_the_ruling_in_force_is_read_as_the_orm_would_load_it(
    world: World, services: Services
) -> None:
    dispute, _, _ = world.under_appeal()
    columns = [column.key for column in Decision.__table__.columns]
    with services.database.unit_of_work(read_only=True) as session:
        by_orm = session.get(Dispute, dispute["id"])
        assert by_orm is not None and by_orm.decision_id is not None
        expected = session.get(Decision, by_orm.decision_id)
        assert expected is not None
        expected_values = {key: getattr(expected, key) for key in columns}
    with services.database.unit_of_work() as session:
        disputed = session.get(Dispute, dispute["id"])
        assert disputed is not None
        decision = current_decision(session, disputed)
        assert {key: getattr(decision, key) for key in columns} == expected_values
        assert decision.compensation == expected.compensation
        state = inspect(decision)
        assert state.persistent and not state.modified
        assert session.get(Decision, decision.id) is decision
        assert current_decision(session, disputed) is decision
