from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import money
from arbitration.orders import ORDER_STATUSES


class OrderLineIn(Schema):
    listing_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    unit_price = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))


class OrderIn(Schema):
    buyer_id = fields.String(required=True)
    seller_id = fields.String(required=True)
    amount = money(required=True)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    status = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))
    items = fields.List(fields.Nested(OrderLineIn), load_default=list)


class OrderLineOut(Schema):
    listing_id = fields.String()
    title = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()


class OrderOut(Schema):
    id = fields.String()
    buyer_id = fields.String()
    seller_id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()
    refunded_amount = fields.Integer()
    items = fields.List(fields.Nested(OrderLineOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
