"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

Id = fields.String(required=True, validate=validate.Length(min=1, max=64))


def money(**kwargs: Any) -> fields.Integer:
    """Integer minor units (cents): never floats."""
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kwargs)


class ErrorBody(Schema):
    code = fields.String(metadata={"description": "machine-readable, e.g. action_not_allowed"})
    message = fields.String(metadata={"description": "for people"})
    details = fields.Dict(metadata={"description": "fields and their problems, or context"})


class ErrorOut(Schema):
    """Every error the API returns."""

    error = fields.Nested(ErrorBody)


class EmptyIn(Schema):
    """No fields: an empty body and ``{}`` are both fine."""
