"""Locking a seller's standing row reads it as plain values: the session's copy must be the row as
locked, made from it the first time and refreshed with it after, as the ORM's ``get`` did."""

from __future__ import annotations

from sqlalchemy import inspect, update

from api.wiring import Services
from penalties.ledger import lock_standing, period_of
from penalties.models import SellerStanding
from tests.support.world import World


def test_the_first_lock_makes_a_clean_zeroed_standing(world: World, services: Services) -> None:
    seller = world.account("seller")
    rules, now = services.policy.penalties, services.clock.now()
    with services.database.unit_of_work() as session:
        standing = lock_standing(session, seller_id=seller, policy=rules, at=now)
        assert session.get(SellerStanding, seller) is standing
        state = inspect(standing)
        assert state.persistent and not state.modified
        assert (standing.period, standing.general_points, standing.severe_points) == (
            period_of(now, rules),
            0,
            0,
        )
        assert (standing.event_count, standing.last_event_hash, standing.updated_at) == (
            0,
            "0" * 64,
            now,
        )


def test_locking_again_writes_the_sessions_changes_and_refreshes_its_copy(
    world: World, services: Services
) -> None:
    seller = world.account("seller")
    rules, now = services.policy.penalties, services.clock.now()
    with services.database.unit_of_work() as session:
        first = lock_standing(session, seller_id=seller, policy=rules, at=now)
        first.general_points += 3
        again = lock_standing(session, seller_id=seller, policy=rules, at=now)
        assert again is first and again.general_points == 3
        session.execute(
            update(SellerStanding)
            .where(SellerStanding.seller_id == seller)
            .values(severe_points=7)
            .execution_options(synchronize_session=False)
        )
        assert first.severe_points == 0  # the session's copy has not seen it
        refreshed = lock_standing(session, seller_id=seller, policy=rules, at=now)
        assert refreshed is first
        assert (refreshed.general_points, refreshed.severe_points) == (3, 7)
        assert not inspect(refreshed).modified
    with services.database.unit_of_work() as session:
        stored = session.get(SellerStanding, seller)
        assert stored is not None
        assert (stored.general_points, stored.severe_points) == (3, 7)
