"""Many disputes at once, through the real use cases, for tests that need volume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arbitration import accounts, filing, orders
from arbitration.accounts import Caller
from arbitration.db import Database
from arbitration.policy import Policy


def seed_disputes(
    database: Database,
    *,
    policy: Policy,
    count: int,
    at: datetime,
    prefix: str = "seed",
    order_status: str = "delivered",
) -> list[str]:
    """``count`` disputes awaiting one seller, filed at ``at`` (their deadlines run from then)."""
    with database.unit_of_work() as session:
        platform, _ = accounts.create_account(
            session,
            role="platform",
            display_name="Platform",
            account_id=f"{prefix}-platform",
            at=at,
        )
        buyer, _ = accounts.create_account(
            session, role="buyer", display_name="Buyer", account_id=f"{prefix}-buyer", at=at
        )
        accounts.create_account(
            session, role="seller", display_name="Seller", account_id=f"{prefix}-seller", at=at
        )
        ids = []
        for number in range(count):
            order_id = f"{prefix}-order-{number}"
            orders.put_order(
                session,
                caller=Caller(platform),
                order_id=order_id,
                order_in=orders.OrderIn(
                    buyer_id=buyer.id,
                    seller_id=f"{prefix}-seller",
                    amount=1_000,
                    currency="USD",
                    status=order_status,
                    items=(orders.LineIn(f"{prefix}-lst-{number}", "Thing", 1, 1_000),),
                ),
                at=at,
            )
            dispute = filing.file_dispute(
                session,
                caller=Caller(buyer),
                dispute_in=filing.DisputeIn(order_id, "damaged", "refund_only", 1_000),
                policy=policy,
                at=at,
            )
            ids.append(dispute.id)
    return ids


def account_row(account_id: str, *, display_name: str, at: datetime) -> dict[str, Any]:
    """A buyer's ``accounts`` row, as a statement inserts it."""
    return {
        "id": account_id,
        "role": "buyer",
        "display_name": display_name,
        "created_at": at,
        "updated_at": at,
    }
