"""What a refund reads and writes without loading ORM objects: the order's amounts, the count on
the order (checked in the database), and whether the seller is frozen or banned."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from api.wiring import Services
from arbitration.errors import Conflict
from arbitration.models import Decision, Dispute, Order
from arbitration.refunds import AGREEMENT, instruct_refund, left_to_refund, reserve_refund
from penalties.buyers import PenaltiesStanding
from penalties.models import ACTIVE, REVOKED, Penalty
from tests.support.fairness import AGAINST_THE_SELLER, case_between, rule
from tests.support.world import World


def _penalty(
    seller_id: str,
    kind: str,
    at: datetime,
    *,
    status: str = ACTIVE,
    ends_at: datetime | None = None,
) -> Penalty:
    return Penalty(
        id=f"pen-{kind}-{status}-{ends_at is None}-{seller_id}",
        seller_id=seller_id,
        kind=kind,
        status=status,
        violation_ids=[],
        reason="test",
        rules_version="test",
        created_at=at,
        starts_at=at,
        ends_at=ends_at,
    )


def test_only_a_freeze_or_ban_in_force_stops_the_seller(world: World, services: Services) -> None:
    seller = world.account("seller")
    now = services.clock.now()
    standing = PenaltiesStanding()
    with services.database.unit_of_work() as session:
        session.add_all(
            [
                _penalty(seller, "warning", now),
                _penalty(seller, "account_freeze", now, status=REVOKED),
                _penalty(seller, "account_freeze", now, ends_at=now),
            ]
        )
    with services.database.unit_of_work() as session:
        assert not standing.seller_frozen_or_banned(session, seller_id=seller, at=now)
        earlier = now - timedelta(seconds=1)
        assert standing.seller_frozen_or_banned(session, seller_id=seller, at=earlier)


def test_a_ban_not_yet_written_is_seen(world: World, services: Services) -> None:
    seller = world.account("seller")
    now = services.clock.now()
    standing = PenaltiesStanding()
    with services.database.unit_of_work() as session:
        assert not standing.seller_frozen_or_banned(session, seller_id=seller, at=now)
        session.add(_penalty(seller, "permanent_ban", now))
        assert standing.seller_frozen_or_banned(session, seller_id=seller, at=now)
        ban = session.scalars(select(Penalty).where(Penalty.seller_id == seller)).one()
        ban.status = REVOKED
        assert not standing.seller_frozen_or_banned(session, seller_id=seller, at=now)


@pytest.mark.parametrize("loaded", [False, True])
def test_a_refund_is_counted_on_the_order_and_never_beyond_it(
    world: World, services: Services, loaded: bool
) -> None:
    filed, _, _ = world.dispute(amount=6_000)
    now, policy = services.clock.now(), services.policy
    with services.database.unit_of_work() as session:
        dispute = session.get(Dispute, filed["id"])
        assert dispute is not None
        order = session.get(Order, dispute.order_id) if loaded else None
        assert left_to_refund(session, dispute.order_id) == 6_000
        timers: list[dict[str, object]] = []
        instruct_refund(
            session,
            dispute=dispute,
            amount=4_000,
            ordered_by=AGREEMENT,
            policy=policy,
            at=now,
            timers=timers,
        )
        assert [timer["action"] for timer in timers] == ["refund-overdue"]
        assert left_to_refund(session, dispute.order_id) == 2_000
        if order is not None:
            assert order.refunded_amount == 4_000
        with pytest.raises(Conflict) as refused:
            instruct_refund(
                session,
                dispute=dispute,
                amount=2_001,
                ordered_by="dcs-x",
                policy=policy,
                at=now,
                timers=timers,
            )
        assert refused.value.code == "refund_exceeds_order"
        assert left_to_refund(session, dispute.order_id) == 2_000


@pytest.mark.parametrize(
    ("kind", "status", "ends_in", "funder"),
    [
        (None, None, None, "seller"),
        ("warning", ACTIVE, None, "seller"),
        ("account_freeze", REVOKED, None, "seller"),
        ("account_freeze", ACTIVE, timedelta(0), "seller"),  # ended at the ruling's moment
        ("account_freeze", ACTIVE, timedelta(days=1), "platform"),
        ("permanent_ban", ACTIVE, None, "platform"),
    ],
)
def test_a_ruling_asks_whether_the_seller_can_pay_as_it_counts_its_refund(
    world: World,
    services: Services,
    kind: str | None,
    status: str | None,
    ends_in: timedelta | None,
    funder: str,
) -> None:
    """The count on the order carries the frozen-or-banned question (one statement for both):
    the same answer as the port's own query, freezes that ended or were revoked not counting."""
    seller = world.account("seller")
    dispute_id = case_between(world, world.account("buyer"), seller)
    now = services.clock.now()
    if kind is not None and status is not None:
        with services.database.unit_of_work() as session:
            ends_at = None if ends_in is None else now + ends_in
            session.add(_penalty(seller, kind, now, status=status, ends_at=ends_at))
    with services.database.unit_of_work() as session:
        asked = PenaltiesStanding().seller_frozen_or_banned(session, seller_id=seller, at=now)
    assert asked == (funder == "platform")
    [refund] = rule(world, dispute_id, AGAINST_THE_SELLER)["refunds"]
    assert refund["funded_by"] == funder


@pytest.mark.parametrize("banned", [False, True])
def test_the_count_on_the_order_sees_a_ban_not_yet_written(
    world: World, services: Services, banned: bool
) -> None:
    filed, _, seller = world.dispute(amount=6_000)
    arbitrator = world.account("arbitrator")
    now, policy = services.clock.now(), services.policy
    with services.database.unit_of_work() as session:
        dispute = session.get(Dispute, filed["id"])
        assert dispute is not None
        if banned:
            session.add(_penalty(seller, "permanent_ban", now))
        session.add(
            Decision(
                id="dcs-pending",
                dispute_id=dispute.id,
                kind="ruling",
                outcome="buyer_partial_refund",
                refund_amount=4_000,
                responsibility="seller",
                rationale="test",
                arbitrator_id=arbitrator,
                decided_at=now,
            )
        )
        assert reserve_refund(
            session,
            dispute=dispute,
            amount=4_000,
            ordered_by="dcs-pending",
            responsibility="seller",
            policy=policy,
            at=now,
        )
        refund = instruct_refund(
            session,
            dispute=dispute,
            amount=4_000,
            ordered_by="dcs-pending",
            policy=policy,
            at=now,
            timers=[],
        )
        assert refund.funded_by == ("platform" if banned else "seller")
        assert left_to_refund(session, dispute.order_id) == 2_000
