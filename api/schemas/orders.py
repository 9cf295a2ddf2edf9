"""Order payloads: the platform's snapshot of what was bought, bounded so one write stays short."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas.common import In, Out, choice, count, identifier, lines, money, title_text
from arbitration.orders import ORDER_STATUSES

Currency = validate.Regexp(r"^[A-Z]{3}$")


class OrderLineIn(In):
    listing_id = identifier(required=True)
    title = title_text(required=True)
    quantity = count(required=True)
    unit_price = money(required=True, minimum=0)


class OrderIn(In):
    buyer_id = identifier(required=True)
    seller_id = identifier(required=True)
    amount = money(required=True)
    currency = fields.String(required=True, validate=Currency)
    status = choice(ORDER_STATUSES, required=True)
    items = lines(OrderLineIn, load_default=list)


class OrderLineOut(Out):
    listing_id = fields.String()
    title = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()


class OrderOut(Out):
    id = fields.String()
    buyer_id = fields.String()
    seller_id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = choice(ORDER_STATUSES)
    refunded_amount = fields.Integer()
    items = fields.List(fields.Nested(OrderLineOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
