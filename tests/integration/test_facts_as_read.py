"""``disputes.facts_for`` reads a loaded dispute's columns from the object's dict (``_as_read``); a
dispute missing one of them (expired) is read through the ORM, which loads it: the facts are the
same either way."""

from __future__ import annotations

from api.wiring import Services
from arbitration import lifecycle
from arbitration.disputes import facts_for
from arbitration.models import Dispute
from tests.support.world import World


def test_the_facts_are_the_same_whether_the_columns_are_held_or_loaded(
    world: World, services: Services
) -> None:
    filed, _, seller = world.dispute()
    world.ok(seller, filed["id"], "reject", reason="Works as described.")
    with services.database.unit_of_work(read_only=True) as session:
        dispute = session.get(Dispute, filed["id"])
        assert dispute is not None
        held = facts_for(dispute, lifecycle.SELLER, seller)
        session.expire(dispute, ["seller_evidence_done", "remedy"])
        loaded = facts_for(dispute, lifecycle.SELLER, seller)
        assert "remedy" in dispute.__dict__  # the ORM loaded it back to answer
    assert held == loaded
    assert held.actor == lifecycle.SELLER and held.remedy == filed["remedy"]
