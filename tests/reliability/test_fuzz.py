"""Fuzzing the HTTP edge (DESIGN §9): whatever arrives, a 4xx in the error shape, never a 5xx.

Two halves. Schemathesis reads /v1/openapi.json and throws valid and invalid requests at every
operation with a token of each role, checking that nothing is a server error and that every answer
conforms to the document. Then a table of hand-made hostile bodies goes to every route that takes
one, found in the app's URL map so that routes added later are covered without touching this file:
each must be refused in the error shape with the database exactly as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import MetaData, select

from arbitration.accounts import ROLES
from tests.support.assertions import assert_error
from tests.support.world import World

# Thousands of generated requests: make test runs it, the quick loop does not.
pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
TWO_MIB = 2 << 20


@pytest.fixture
def marketplace(world: World) -> dict[str, Any]:
    """One dispute between a buyer and a seller, and a token for every role."""
    dispute, buyer, seller = world.dispute()
    callers = {"buyer": buyer, "seller": seller, "platform": "platform"}
    for role in ROLES:
        callers.setdefault(role, world.account(role))
    return {
        "callers": callers,
        "ids": {
            "dispute_id": dispute["id"],
            "order_id": dispute["order_id"],
            "account_id": buyer,
        },
    }


def snapshotter(app: Flask) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table: what a refused request must leave exactly as it was."""
    engine = app.extensions["arbitration"].database.engine
    metadata = MetaData()
    metadata.reflect(engine)

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with engine.connect() as connection:
            return {
                name: sorted(map(tuple, connection.execute(select(table))), key=repr)
                for name, table in metadata.tables.items()
            }

    return snapshot


# Schemathesis ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("role", ROLES)
def test_fuzzed_requests_from_every_role_get_no_server_error(
    app: Flask, marketplace: dict[str, Any], world: World, role: str, mode: str
) -> None:
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    token = world.tokens[marketplace["callers"][role]]
    generation_mode = schemathesis.GenerationMode(mode)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations

    for operation in operations:
        strategy = operation.as_strategy(
            generation_mode=generation_mode, headers={"Authorization": f"Bearer {token}"}
        )

        @given(case=strategy, real_ids=st.booleans())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any, real_ids: bool) -> None:
            if real_ids:  # half the time, ids that exist: the view gets past its 404
                for name, value in marketplace["ids"].items():
                    if name in (case.path_parameters or {}):
                        case.path_parameters[name] = value
            response = case.call()
            case.validate_response(response, checks=CHECKS)

        try:
            exercise()
        except Unsatisfiable:
            assert mode == "negative", operation.label  # nothing in this operation to get wrong


# Hand-made hostile bodies ----------------------------------------------------------------------


def write_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(method, rule, OpenAPI path) for every write route under /v1, from the URL map."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes += [
            (method, rule.rule, path) for method in sorted(rule.methods & set(WRITE_METHODS))
        ]
    return sorted(routes)


def _json_body_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any] | None:
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return _resolve(spec, schema) if schema else None


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _fill(spec: dict[str, Any], schema: dict[str, Any], leaf: Callable[[str], Any]) -> Any:
    """A body shaped like ``schema`` whose every leaf of a type ``leaf`` knows is hostile."""
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return _fill(spec, schema[key][0], leaf)
    kind = schema.get("type", "object")
    kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
    if kind == "object":
        return {
            name: _fill(spec, prop, leaf) for name, prop in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [_fill(spec, schema.get("items", {}), leaf)]
    return leaf(kind)


def _leaves(body: Any) -> list[Any]:
    if isinstance(body, dict):
        return [leaf for value in body.values() for leaf in _leaves(value)]
    if isinstance(body, list):
        return [leaf for value in body for leaf in _leaves(value)]
    return [body]


def _schema_bodies(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, str]:
    """Bodies of the route's own shape, each with one kind of poison in every fitting field."""
    bodies = {}
    plausible = {"integer": 1, "number": 1, "boolean": True, "string": "x"}
    poisons: dict[str, Callable[[str], Any]] = {
        "2^64-in-every-integer": lambda kind: 2**64 if kind == "integer" else plausible.get(kind),
        "-2^63-1-in-every-integer": lambda kind: (
            -(2**63) - 1 if kind == "integer" else plausible.get(kind)
        ),
        "lone-surrogate-in-every-string": lambda kind: (
            "\udc80" if kind == "string" else plausible.get(kind)
        ),
        "nul-in-every-string": lambda kind: "a\x00b" if kind == "string" else plausible.get(kind),
        "5001-chars-in-every-string": lambda kind: (
            "é" * 5001 if kind == "string" else plausible.get(kind)
        ),
        "wrong-type-everywhere": lambda kind: {"not": kind},
    }
    for name, poison in poisons.items():
        body = _fill(spec, schema, poison)
        clean = _fill(spec, schema, plausible.get)
        if body != clean and _leaves(body):
            bodies[name] = json.dumps(body)  # ensure_ascii: a surrogate travels as \udc80
    return bodies


RAW_BODIES: dict[str, tuple[bytes | str, str]] = {
    "100k-open-brackets": ("[" * 100_000, "application/json"),
    "100k-deep-object": ('{"a":' * 100_000 + "1" + "}" * 100_000, "application/json"),
    "5000-digit-number": ('{"amount": ' + "7" * 5_000 + "}", "application/json"),
    "nan": ('{"amount": NaN}', "application/json"),
    "invalid-utf8": (b'{"reason": "\xc3\x28"}', "application/json"),
    "truncated": ('{"reason": "no', "application/json"),
    "2-mib": (json.dumps({"reason": "x" * TWO_MIB}), "application/json"),
    "text-plain": ("refund me", "text/plain"),
    "form-urlencoded": ("amount=1", "application/x-www-form-urlencoded"),
    "xml": ("<amount>1</amount>", "application/xml"),
}


def _caller(rule: str, callers: dict[str, str]) -> str:
    """Someone who may use the route, so a refusal is the body's doing, not the role's."""
    if rule.startswith(("/v1/accounts", "/v1/orders")) or rule.endswith("refund-confirmation"):
        return callers["platform"]
    if rule.startswith("/v1/queue") or rule.endswith(("claim", "decide", "request-info")):
        return callers["arbitrator"]
    return callers["buyer"]


def _url(rule: str, ids: dict[str, str]) -> str:
    fresh = {"account_id": "acct-hostile", "order_id": "ord-hostile"}
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: fresh.get(m[1], ids.get(m[1], "x")), rule)


def test_every_write_route_refuses_every_hostile_body_and_changes_nothing(
    app: Flask, marketplace: dict[str, Any], world: World
) -> None:
    spec = app.test_client().get("/v1/openapi.json").json
    routes = write_routes(app)
    assert ("PUT", "/v1/orders/<order_id>", "/v1/orders/{order_id}") in routes
    snapshot = snapshotter(app)
    before = snapshot()
    tried = 0

    for method, rule, path in routes:
        bodies = dict(RAW_BODIES)
        schema = _json_body_schema(spec, path, method)
        if schema is not None:
            bodies.update(
                (name, (body, "application/json"))
                for name, body in _schema_bodies(spec, schema).items()
            )
        who = _caller(rule, marketplace["callers"])
        for name, (body, content_type) in bodies.items():
            response = world.call(
                who, method, _url(rule, marketplace["ids"]), data=body, content_type=content_type
            )
            context = f"{method} {rule} with {name}: {response.get_data(as_text=True)[:300]}"
            assert 400 <= response.status_code < 500, context
            assert_error(response, response.status_code)
            assert snapshot() == before, context
            tried += 1

    assert tried >= len(RAW_BODIES) * len(routes)
