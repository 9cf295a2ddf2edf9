"""Account payloads: the platform provisions parties, an admin provisions staff."""

from __future__ import annotations

from marshmallow import fields

from api.schemas.common import In, Out, Text, choice, identifier
from arbitration.accounts import ROLES

DISPLAY_NAME_LENGTH = 200


class AccountIn(In):
    role = choice(ROLES, required=True)
    display_name = Text(required=True, min_length=1, max_length=DISPLAY_NAME_LENGTH)


class AccountOut(Out):
    id = fields.String()
    role = choice(ROLES)
    display_name = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TokenOut(Out):
    account_id = identifier()
    token = fields.String(metadata={"description": "shown once; store it now"})


class RelationOut(Out):
    staff_id = fields.String()
    related_id = fields.String()
