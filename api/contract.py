"""What the OpenAPI document promises beyond what each view declares (DESIGN §9).

The edge, authentication and the database apply to every endpoint, so their refusals and headers
are documented here once, for every operation present and future: 400/413/415 wherever a body may
be sent, 401, 503 and ``On-Behalf-Of`` wherever a token is needed, ``Idempotency-Key`` on writes. An :class:`~api.schemas.common.Out` schema lists every property as required, and a
nullable enum is written so that generated clients still type it. What only a view knows
(403, 404, 409, 422 from the core) it declares with :func:`documents_errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
from apispec import APISpec, BasePlugin

from api.context import MAX_IDEMPOTENCY_KEY_LENGTH
from api.errors import BUSY_RETRY_AFTER_SECONDS
from api.schemas.common import ID_LENGTH, ErrorOut, Out

View = TypeVar("View", bound=Callable[..., Any])

OPENAPI_VERSION = "3.1.0"
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})

ERROR_DESCRIPTIONS = {
    400: "the body is not JSON we accept (syntax, nesting, number length, encoding)",
    401: "no valid token",
    403: "your role or account may not do this",
    404: "no such resource, or not one you may see",
    409: "not allowed now, or changed meanwhile; details say what is allowed",
    413: "the body is larger than the limit in details",
    415: "the body is not application/json",
    422: "some fields are invalid; details name them",
    503: "the database or the evidence store is busy or unreachable; retry after Retry-After seconds",
}

IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "the same key with the same body returns the first response; "
    "with another body, 409",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH},
}
ON_BEHALF_OF = {
    "in": "header",
    "name": "On-Behalf-Of",
    "required": False,
    "description": "the platform acts for one of its buyers or sellers (their account id)",
    "schema": {"type": "string", "minLength": 1, "maxLength": ID_LENGTH},
}


def error_response_name(status: int) -> str:
    """The component response documenting ``status`` in the error shape."""
    return f"Error{status}"


def documents_errors(blp: Blueprint, *statuses: int) -> Callable[[View], View]:
    """Document that a view may answer these statuses, each in the error shape.

    Put it under ``@blp.route``: ``@documents_errors(blp, 403, 404, 409)``. The edge's own
    statuses (400, 401, 413, 415, 503) need not be listed: every operation gets them.
    """

    def decorate(view: View) -> View:
        for status in statuses:
            view = blp.alt_response(status, response=error_response_name(status))(view)
        return view

    return decorate


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]  # flask-smorest is untyped
    """flask-smorest's blueprint, whose ``alt_response`` documents a view without wrapping it.

    flask-smorest wraps the view in a function that only calls it, to carry the documentation: a
    few calls a request per response documented (five on an action). The documentation goes on
    the view itself instead.
    """

    def alt_response(self, *args: Any, **kwargs: Any) -> Callable[[View], View]:
        documents = super().alt_response(*args, **kwargs)

        def decorate(view: View) -> View:
            view._apidoc = documents(view)._apidoc  # type: ignore[attr-defined]
            return view

        return decorate


class ContractPlugin(BasePlugin):
    """An apispec plugin: the edge's promises on every operation, required fields, typed nulls."""

    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec
        for status, description in ERROR_DESCRIPTIONS.items():
            response: dict[str, Any] = {
                "description": description,
                "content": {"application/json": {"schema": ErrorOut}},
            }
            if status == 503:
                response["headers"] = {
                    "Retry-After": {
                        "description": f"seconds to wait (usually {BUSY_RETRY_AFTER_SECONDS})",
                        "schema": {"type": "integer"},
                    }
                }
            spec.components.response(error_response_name(status), response, lazy=True)
        spec.components.parameter("IdempotencyKey", "header", dict(IDEMPOTENCY_KEY), lazy=True)
        spec.components.parameter("OnBehalfOf", "header", dict(ON_BEHALF_OF), lazy=True)

    def schema_helper(
        self, name: str, definition: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any] | None:
        properties = definition.get("properties", {})
        for prop in properties.values():
            _nullable_enum_as_any_of(prop)
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        if not issubclass(schema_class, Out):
            return None
        return {"required": list(properties)}

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if method not in {"get", "head", *WRITE_METHODS}:
                continue
            secured = operation.get("security") != []
            responses = operation.setdefault("responses", {})
            parameters = operation.setdefault("parameters", [])
            statuses = []
            if secured:  # authentication reads the database: 401, and 503 when it is busy
                statuses += [401, 503]
                parameters.append("OnBehalfOf")
            if method in WRITE_METHODS:
                statuses += [400, 413, 415]
                if secured:
                    parameters.append("IdempotencyKey")
            for status in statuses:
                responses.setdefault(str(status), error_response_name(status))
            if not parameters:
                del operation["parameters"]


def _nullable_enum_as_any_of(prop: dict[str, Any]) -> None:
    """``{type: [string, null], enum}`` → ``anyOf: [{type: string, enum}, {type: null}]``.

    Generators read the first form as three enums, or as a non-nullable one; the second is one
    enum or None.
    """
    kinds = prop.get("type")
    if isinstance(kinds, list) and "null" in kinds and "enum" in prop:
        enum = [value for value in prop.pop("enum") if value is not None]
        kind = next(kind for kind in kinds if kind != "null")
        prop.pop("type")
        prop["anyOf"] = [{"type": kind, "enum": enum}, {"type": "null"}]
    items = prop.get("items")
    if isinstance(items, dict):
        _nullable_enum_as_any_of(items)
