"""The edge (DESIGN §9): hostile input gets a clean 4xx before any work, and changes nothing."""

from __future__ import annotations

import gc
import io
import json
import sqlite3
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import pytest
from flask import Flask, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.test import EnvironBuilder, run_wsgi_app

from api.edge import MAX_JSON_DEPTH, MalformedJson, accepts_multipart, install_edge, parse_json_body
from api.errors import register_error_handlers
from arbitration import dialects
from arbitration.policy import load_policy
from tests.support.assertions import assert_error, state
from tests.support.world import World

MAX_JSON_BODY = load_policy().limits.max_json_body  # 1 MiB by default (DESIGN §9)


def _raw(world: World, who: str, path: str, data: bytes | str, **kwargs: Any) -> Any:
    kwargs.setdefault("content_type", "application/json")
    return world.call(who, "POST", path, data=data, **kwargs)


# Content type -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"{}", b"refund me"])
def test_a_text_body_on_an_action_needing_no_fields_is_a_415_and_changes_nothing(
    world: World, body: bytes
) -> None:
    dispute, _buyer, seller = world.dispute()
    before = state(world, seller, dispute["id"])

    response = _raw(
        world, seller, f"/v1/disputes/{dispute['id']}/accept", body, content_type="text/plain"
    )

    details = assert_error(response, 415, "unsupported_media_type")
    assert details["accepted"] == ["application/json"]
    assert state(world, seller, dispute["id"]) == before


def test_a_form_body_where_a_body_is_needed_is_a_415_not_a_missing_field(world: World) -> None:
    dispute, _buyer, seller = world.dispute()

    response = world.call(
        seller, "POST", f"/v1/disputes/{dispute['id']}/reject", data={"reason": "no"}
    )

    assert_error(response, 415, "unsupported_media_type")


def test_a_body_without_a_content_type_is_a_415(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    environ = {"CONTENT_TYPE": ""}

    response = world.call(
        seller,
        "POST",
        f"/v1/disputes/{dispute['id']}/accept",
        data=b"{}",
        environ_overrides=environ,
    )

    assert_error(response, 415, "unsupported_media_type")


def test_no_body_and_no_content_type_is_fine_for_an_action_needing_no_fields(world: World) -> None:
    dispute, _buyer, seller = world.dispute()

    response = world.call(seller, "POST", f"/v1/disputes/{dispute['id']}/accept")

    assert response.status_code == 200, response.json


def test_json_with_a_charset_is_json(world: World) -> None:
    dispute, _buyer, seller = world.dispute()

    response = _raw(
        world,
        seller,
        f"/v1/disputes/{dispute['id']}/reject",
        json.dumps({"reason": "not as described"}),
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 200, response.json


# Size ------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_and_changes_nothing(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    before = state(world, seller, dispute["id"])
    body = json.dumps({"reason": "x" * MAX_JSON_BODY})

    response = _raw(world, seller, f"/v1/disputes/{dispute['id']}/reject", body)

    details = assert_error(response, 413, "payload_too_large")
    assert details == {"max_bytes": MAX_JSON_BODY}
    assert state(world, seller, dispute["id"]) == before


class _Stream(io.RawIOBase):
    """An endless body that counts how much of it was read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = min(len(buffer), 65_536)
        buffer[:chunk] = b" " * chunk
        self.read_bytes += chunk
        return chunk


def test_a_chunked_body_is_read_no_further_than_the_limit(world: World) -> None:
    dispute, _buyer, seller = world.dispute()
    stream = _Stream()
    environ = EnvironBuilder(
        path=f"/v1/disputes/{dispute['id']}/reject",
        method="POST",
        headers={**world.headers(seller), "Transfer-Encoding": "chunked"},
        content_type="application/json",
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True})

    body, status, _headers = run_wsgi_app(world.app, environ, buffered=True)

    assert status.startswith("413")
    assert json.loads(b"".join(body))["error"]["code"] == "payload_too_large"
    assert stream.read_bytes <= MAX_JSON_BODY + 65_536


def test_the_limit_can_be_set_in_the_config(app: Flask, world: World) -> None:
    app.config["MAX_JSON_BODY"] = 100

    response = world.call(
        "platform", "PUT", "/v1/accounts/mkt-1", json={"role": "buyer", "display_name": "x" * 200}
    )

    assert assert_error(response, 413) == {"max_bytes": 100}


def test_an_order_of_more_than_1000_lines_is_refused_naming_the_items(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    lines = [
        {"listing_id": f"l{n}", "title": "T", "quantity": 1, "unit_price": 1} for n in range(1001)
    ]
    body = {
        "buyer_id": buyer,
        "seller_id": seller,
        "amount": 5_000,
        "currency": "USD",
        "status": "paid",
        "items": lines,
    }

    response = world.call("platform", "PUT", "/v1/orders/ord-big", json=body)

    assert "items" in assert_error(response, 422, "validation_failed")
    assert_error(world.call("platform", "GET", "/v1/orders/ord-big"), 404)


def test_an_order_of_1000_lines_is_taken(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    lines = [
        {"listing_id": f"l{n}", "title": "T" * 500, "quantity": 1, "unit_price": 1}
        for n in range(1000)
    ]
    body = {
        "buyer_id": buyer,
        "seller_id": seller,
        "amount": 5_000,
        "currency": "USD",
        "status": "paid",
        "items": lines,
    }

    response = world.call("platform", "PUT", "/v1/orders/ord-1000", json=body)

    assert response.status_code == 201, response.json
    assert len(response.json["items"]) == 1000


def test_a_refused_body_is_let_go_with_its_answer_not_at_the_next_collection(world: World) -> None:
    """The servers collect cyclic garbage seldom (``api.server.tune_interpreter``): a 422 must leave
    no cycle holding the request's frames (and its body among their locals) behind it."""
    buyer, _seller, order_id = world.parties()
    filing = {"order_id": order_id, "reason": "damaged", "remedy": "refund_only", "amount": 100}
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        response = world.call(
            buyer, "POST", "/v1/disputes", json=filing | {"description": "x" * 100_000}
        )
        assert_error(response, 422, "validation_failed")
        gc.collect()
        held = [o for o in gc.garbage if isinstance(o, FrameType | TracebackType)]
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()
    assert held == []


# Parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000, id="100k-open-brackets"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="100k-deep-array"),
        pytest.param('{"a":' * 5_000 + "1" + "}" * 5_000, id="5k-deep-object"),
        pytest.param(
            "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), id="just-past-the-limit"
        ),
        pytest.param('{"reason": ' + "9" * 5_000 + "}", id="5000-digit-number"),
        pytest.param('{"reason": 1' + "0" * 400 + ".5}", id="400-digit-float"),
        pytest.param('{"reason": NaN}', id="nan"),
        pytest.param('{"reason": -Infinity}', id="infinity"),
        pytest.param(b'{"reason": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b'\xef\xbb\xbf{"reason": "bom"}', id="utf8-bom"),
    ],
)
def test_json_no_parser_should_take_is_a_400_and_changes_nothing(
    world: World, body: str | bytes
) -> None:
    dispute, _buyer, seller = world.dispute()
    before = state(world, seller, dispute["id"])

    response = _raw(world, seller, f"/v1/disputes/{dispute['id']}/reject", body)

    assert_error(response, 400, "malformed_json")
    assert state(world, seller, dispute["id"]) == before


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('\ufeff{"reason": "bom"}', id="utf8-bom"),
        pytest.param('{"reason": }', id="no-value"),
        pytest.param('{"reason": "x"', id="unclosed"),
        pytest.param('{"reason": "x"} []', id="extra-data"),
    ],
)
def test_a_malformed_body_is_described_as_the_standard_parser_describes_it(text: str) -> None:
    try:
        json.loads(text)
    except ValueError as error:
        expected = f"the body is not valid JSON: {error}"

    with pytest.raises(MalformedJson) as refused:
        parse_json_body(text.encode())

    assert refused.value.description == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param('{"reason": "no \\udc80"}', "reason", id="lone-surrogate"),
        pytest.param('{"reason": "no \\ud800 way"}', "reason", id="high-surrogate"),
        pytest.param('{"reason": "no\\u0000pe"}', "reason", id="nul"),
        pytest.param('{"\\udc80": "x"}', "\\udc80", id="surrogate-in-a-key"),
    ],
)
def test_strings_no_database_can_store_are_a_422_naming_the_field(
    world: World, body: str, field: str
) -> None:
    dispute, _buyer, seller = world.dispute()
    before = state(world, seller, dispute["id"])

    response = _raw(world, seller, f"/v1/disputes/{dispute['id']}/reject", body)

    assert field in assert_error(response, 422, "validation_failed")
    assert state(world, seller, dispute["id"]) == before


def test_a_bad_string_deep_in_a_body_is_named_by_its_path(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    line = {"listing_id": "l1", "title": "bad\udc80", "quantity": 1, "unit_price": 1}
    body = {
        "buyer_id": buyer,
        "seller_id": seller,
        "amount": 10,
        "currency": "USD",
        "status": "paid",
        "items": [line],
    }
    raw = json.dumps(body)  # ensure_ascii writes the surrogate as an escape, as an attacker would

    response = world.call(
        "platform", "PUT", "/v1/orders/ord-bad", data=raw, content_type="application/json"
    )

    details = assert_error(response, 422, "validation_failed")
    assert details == {"items": {"0": {"title": ["must be valid Unicode (no lone surrogates)"]}}}


def test_a_nul_in_a_query_string_is_a_422(world: World) -> None:
    response = world.call("platform", "GET", "/v1/disputes?seller_id=a%00b")

    assert "seller_id" in assert_error(response, 422, "validation_failed")


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", 2**64), ("amount", 10**15 + 1), ("amount", -1), ("amount", 1.5)],
)
def test_money_beyond_the_bound_is_a_422_naming_the_field(
    world: World, field: str, value: Any
) -> None:
    buyer, _seller, order_id = world.parties()
    body = {"order_id": order_id, "reason": "damaged", "remedy": "refund_only", field: value}

    response = world.call(buyer, "POST", "/v1/disputes", json=body)

    assert field in assert_error(response, 422, "validation_failed")
    assert world.call(buyer, "GET", "/v1/disputes").json["data"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", 2**64), ("quantity", 10**7), ("unit_price", 2**63), ("unit_price", 10**16)],
)
def test_order_line_numbers_beyond_the_bound_are_a_422_naming_the_field(
    world: World, field: str, value: int
) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")
    line = {"listing_id": "l1", "title": "T", "quantity": 1, "unit_price": 1, field: value}
    body = {
        "buyer_id": buyer,
        "seller_id": seller,
        "amount": 10**15,
        "currency": "USD",
        "status": "paid",
        "items": [line],
    }

    response = world.call("platform", "PUT", "/v1/orders/ord-n", json=body)

    assert field in assert_error(response, 422)["items"]["0"]
    assert_error(world.call("platform", "GET", "/v1/orders/ord-n"), 404)


def test_the_largest_amount_is_taken(world: World) -> None:
    buyer, seller = world.account("buyer"), world.account("seller")

    world.order(buyer=buyer, seller=seller, amount=10**15, order_id="ord-max")

    assert world.call("platform", "GET", "/v1/orders/ord-max").json["amount"] == 10**15


def test_an_idempotency_key_replays_through_the_edge(world: World) -> None:
    """The body the edge parsed is the one the idempotency fingerprint reads."""
    dispute, _buyer, seller = world.dispute()
    path = f"/v1/disputes/{dispute['id']}/reject"
    headers = {"Idempotency-Key": "k-1"}

    first = world.call(seller, "POST", path, json={"reason": "no"}, headers=headers)
    again = world.call(seller, "POST", path, json={"reason": "no"}, headers=headers)
    other = world.call(seller, "POST", path, json={"reason": "other"}, headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    assert_error(other, 409)


# Declared multipart endpoints ------------------------------------------------------------------


@pytest.fixture
def upload_app() -> Flask:
    """A bare app with the edge and one upload view, as the evidence endpoint will be."""
    app = Flask(__name__)
    register_error_handlers(app)
    install_edge(app, max_json_body=MAX_JSON_BODY)

    @app.post("/upload")
    @accepts_multipart(max_body=10_000)
    def upload() -> Any:
        body = request.get_json() if request.is_json else None
        return jsonify(files=sorted(request.files), json=body)

    @app.post("/json-only")
    def json_only() -> Any:
        return jsonify(json=request.get_json())

    return app


def test_a_declared_upload_takes_multipart(upload_app: Flask) -> None:
    client = upload_app.test_client()

    response = client.post("/upload", data={"file": (io.BytesIO(b"png"), "a.png")})

    assert response.status_code == 200, response.json
    assert response.json["files"] == ["file"]


def test_a_declared_upload_still_takes_json(upload_app: Flask) -> None:
    response = upload_app.test_client().post("/upload", json={"kind": "statement"})

    assert response.json["json"] == {"kind": "statement"}


def test_a_declared_upload_over_its_limit_is_a_413(upload_app: Flask) -> None:
    client = upload_app.test_client()

    response = client.post("/upload", data={"file": (io.BytesIO(b"x" * 20_000), "a.bin")})

    assert assert_error(response, 413) == {"max_bytes": 10_000}


def test_multipart_elsewhere_is_a_415(upload_app: Flask) -> None:
    client = upload_app.test_client()

    response = client.post("/json-only", data={"file": (io.BytesIO(b"png"), "a.png")})

    assert assert_error(response, 415)["accepted"] == ["application/json"]


def test_text_on_an_upload_is_a_415_naming_both_types(upload_app: Flask) -> None:
    response = upload_app.test_client().post("/upload", data="hi", content_type="text/plain")

    accepted = assert_error(response, 415)["accepted"]
    assert accepted == ["application/json", "multipart/form-data"]


# A busy database ---------------------------------------------------------------------------------


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Wait 50 ms for SQLite's write lock instead of 30 s (set before the app's engine exists)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("holds SQLite's write lock")
    monkeypatch.setattr(dialects, "SQLITE_BUSY_TIMEOUT_MS", 50)


def test_a_locked_database_is_a_503_with_retry_after(
    short_busy_timeout: None, database_url: str, world: World
) -> None:
    dispute, _buyer, seller = world.dispute()
    holder = sqlite3.connect(Path(database_url.removeprefix("sqlite:///")), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = world.call(
            seller, "POST", f"/v1/disputes/{dispute['id']}/reject", json={"reason": "no"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    details = assert_error(response, 503, "database_busy")
    assert response.headers["Retry-After"] == "1"
    assert details == {"retry_after_seconds": 1}
    assert world.read(seller, dispute["id"])["status"] == "awaiting_seller"


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("could not serialize access")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("orig", "busy"),
    [
        (_PgError("40001"), True),  # serialization_failure
        (_PgError("40P01"), True),  # deadlock_detected
        (_PgError("55P03"), True),  # lock_not_available
        (_PgError("42P01"), False),  # undefined_table: our bug, a 500
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("no such table: disputes"), False),
    ],
)
def test_only_contention_counts_as_busy(orig: Exception, busy: bool) -> None:
    assert dialects.is_busy(OperationalError("UPDATE …", {}, orig)) is busy


@pytest.mark.parametrize(
    ("message", "status"), [("database is locked", 503), ("no such table: x", 500)]
)
def test_database_errors_are_503_only_when_busy(message: str, status: int) -> None:
    app = Flask(__name__)
    register_error_handlers(app)

    @app.get("/write")
    def write() -> Any:
        raise OperationalError("UPDATE", {}, sqlite3.OperationalError(message))

    response = app.test_client().get("/write")

    assert_error(response, status)
