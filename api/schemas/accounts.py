from __future__ import annotations

from marshmallow import Schema, fields, validate

from arbitration.accounts import ROLES


class AccountIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AccountOut(Schema):
    id = fields.String()
    role = fields.String()
    display_name = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TokenOut(Schema):
    account_id = fields.String()
    token = fields.String(metadata={"description": "shown once; store it now"})
