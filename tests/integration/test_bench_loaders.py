"""The benchmarks' bulk loaders clone rows in SQL that differs between SQLite and PostgreSQL
(``bench.databases.numbered``): the copies they make are the rows the benchmarks measure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from api.config import Config
from api.wiring import build
from arbitration import accounts
from arbitration.clock import ManualClock
from arbitration.db import Database
from arbitration.models import Deadline, Decision, Dispute, DisputeItem, Order
from arbitration.policy import Policy
from bench import growth, sweep
from tests.support.seed import seed_disputes


@pytest.fixture
def database(database_url: str, policy: Policy, clock: ManualClock) -> Iterator[Database]:
    database = build(Config(database_url=database_url, policy=policy, clock=clock)).database
    yield database
    database.dispose()


def test_growth_clones_disputes_over_the_statuses_and_into_a_flagged_batch(
    database: Database, policy: Policy, clock: ManualClock
) -> None:
    (template,) = seed_disputes(database, policy=policy, count=1, at=clock.now(), prefix="t")
    with database.unit_of_work() as session:
        for role, account_id in (("seller", "big-seller"), ("arbitrator", "arb")):
            accounts.create_account(
                session, role=role, display_name=account_id, at=clock.now(), account_id=account_id
            )

    growth._clone_disputes(
        database.engine, template, "fill", 20, None, growth._status_case(), "big-seller"
    )
    growth._clone_disputes(database.engine, template, "b5", 5, "hot-5", "'awaiting_seller'")
    growth._rule(database.engine, "fill", "arb")

    with database.unit_of_work(read_only=True) as session:
        by_status = dict(
            session.execute(
                select(Dispute.status, func.count())
                .where(Dispute.id.like("fill-d-%"))
                .group_by(Dispute.status)
            ).all()
        )
        assert by_status == {
            "closed": 10,
            "awaiting_seller": 2,
            "seller_rejected": 2,
            "gathering_evidence": 2,
            "awaiting_decision": 2,
            "decided": 2,
        }
        closed = session.scalars(select(Dispute).where(Dispute.status == "closed")).all()
        assert all(d.open_order_id is None and d.closed_at is not None for d in closed)
        batch = session.scalars(select(Dispute).where(Dispute.id.like("b5-d-%"))).all()
        assert len(batch) == 5
        assert all(d.systemic and d.scope == "batch" for d in batch)
        listings = session.scalars(
            select(DisputeItem.listing_id).where(DisputeItem.dispute_id.like("b5-d-%"))
        ).all()
        assert listings == ["hot-5"] * 5
        orders = session.scalar(select(func.count()).where(Order.id.like("fill-o-%")))
        assert orders == 20
        sellers = session.execute(
            select(Dispute.seller_id, Order.seller_id)
            .join(Order, Order.id == Dispute.order_id)
            .where(Dispute.id.like("fill-d-%"))
        ).all()
        assert set(sellers) == {("big-seller", "big-seller")}
        assert {d.seller_id for d in batch} == {"t-seller"}  # the template's, by default
        # Every decided clone and one closed clone in five carry a ruling, theirs.
        ruled = session.execute(
            select(Dispute.status, func.count())
            .join(Decision, Decision.id == Dispute.decision_id)
            .where(Dispute.id.like("fill-d-%"), Decision.dispute_id == Dispute.id)
            .group_by(Dispute.status)
        ).all()
        assert dict(ruled) == {"decided": 2, "closed": 10 // growth.RULED_OF_CLOSED}


def test_sweep_clones_open_disputes_with_their_deadlines(
    database: Database, policy: Policy, clock: ManualClock
) -> None:
    (template,) = seed_disputes(database, policy=policy, count=1, at=clock.now(), prefix="tpl")
    engine = database.engine
    with database.unit_of_work(read_only=True) as session:
        per_dispute = session.scalar(select(func.count()).where(Deadline.dispute_id == template))

    sweep._clone(engine, Order.__table__, "t.id = 'tpl-order-0'", 30, {"id": "'fill-o-' || i"})
    sweep._clone(
        engine,
        Dispute.__table__,
        f"t.id = '{template}'",
        30,
        {"id": "'fill-d-' || i", "order_id": "'fill-o-' || i", "open_order_id": "'fill-o-' || i"},
    )
    sweep._clone(
        engine,
        Deadline.__table__,
        f"t.dispute_id = '{template}'",
        30,
        {"dispute_id": "'fill-d-' || i"},
    )

    with database.unit_of_work(read_only=True) as session:
        disputes = session.scalar(select(func.count()).where(Dispute.id.like("fill-d-%")))
        deadlines = session.scalar(select(func.count()).where(Deadline.dispute_id.like("fill-d-%")))
    assert disputes == 30
    assert per_dispute and deadlines == 30 * per_dispute
