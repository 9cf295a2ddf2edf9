"""Orders: the platform's snapshot of what was bought, from whom, for how much."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.context import caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas.orders import OrderIn, OrderOut
from arbitration import orders

blp = Blueprint("orders", __name__, url_prefix="/v1", description="Order snapshots")


@blp.route("/orders/<order_id>", methods=["PUT"])
@blp.arguments(OrderIn())
@blp.alt_response(200, schema=OrderOut, success=True, description="updated")
@blp.alt_response(201, schema=OrderOut, success=True, description="created")
@documents_errors(blp, 403, 422)
def put_order(order_in: dict[str, Any], order_id: str) -> ResponseReturnValue:
    """Register or update an order snapshot (platform only)."""
    who = caller()
    snapshot = orders.OrderIn(
        buyer_id=order_in["buyer_id"],
        seller_id=order_in["seller_id"],
        amount=order_in["amount"],
        currency=order_in["currency"],
        status=order_in["status"],
        items=tuple(orders.LineIn(**line) for line in order_in["items"]),
    )

    def work(session: Session) -> Any:
        order, created = orders.put_order(
            session, caller=who, order_id=order_id, order_in=snapshot, at=services().clock.now()
        )
        return OrderOut().dump(order), 201 if created else 200

    return perform(work)


@blp.route("/orders/<order_id>", methods=["GET"])
@blp.alt_response(200, schema=OrderOut, success=True)
@documents_errors(blp, 404)
def get_order(order_id: str) -> ResponseReturnValue:
    """Read an order snapshot (its parties, the platform and staff)."""
    who = caller()
    return read(lambda s: OrderOut().dump(orders.get_order(s, caller=who, order_id=order_id))), 200
