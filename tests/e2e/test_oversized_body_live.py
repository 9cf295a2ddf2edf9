"""A real server keeps answering others at normal speed while one client streams a 24 MB order."""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import RunningEngine

pytestmark = pytest.mark.slow

LINES = 330_000  # the order that once held SQLite's write lock for over 30 s
CHUNK = 1 << 20
STREAM_SECONDS = 3.0


def _huge_order() -> bytes:
    lines = [
        {"listing_id": f"l{n}", "title": "Thing", "quantity": 1, "unit_price": 1}
        for n in range(LINES)
    ]
    body = {
        "buyer_id": "alice",
        "seller_id": "acme-gadgets",
        "amount": LINES,
        "currency": "USD",
        "status": "paid",
        "items": lines,
    }
    return json.dumps(body).encode()


def _connection(engine: RunningEngine) -> http.client.HTTPConnection:
    address = urlsplit(engine.url)
    return http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)


def _stream_slowly(engine: RunningEngine, body: bytes, result: dict[str, Any]) -> None:
    connection = _connection(engine)
    connection.putrequest("PUT", "/v1/orders/ord-huge")
    connection.putheader("Authorization", f"Bearer {engine.tokens['platform']}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders()
    pause = STREAM_SECONDS / (len(body) / CHUNK)
    try:
        for start in range(0, len(body), CHUNK):
            connection.send(body[start : start + CHUNK])
            time.sleep(pause)
        sent_at = time.monotonic()
    except OSError as error:  # the server may refuse before the last byte: that is fine too
        result["send_error"] = repr(error)
        sent_at = time.monotonic()
    response = connection.getresponse()
    result.update(
        status=response.status,
        body=json.loads(response.read()),
        seconds_after_sending=time.monotonic() - sent_at,
    )
    connection.close()


def _timed(engine: RunningEngine, method: str, path: str, body: Any = None) -> tuple[int, float]:
    connection = _connection(engine)
    started = time.monotonic()
    connection.request(
        method,
        path,
        body=json.dumps(body) if body is not None else None,
        headers={
            "Authorization": f"Bearer {engine.tokens['platform']}",
            "Content-Type": "application/json",
        },
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, time.monotonic() - started


def test_a_24mb_order_is_refused_while_others_are_answered_at_normal_speed(
    engine: RunningEngine,
) -> None:
    body = _huge_order()
    assert len(body) > 20 << 20
    small_order = {
        "buyer_id": "alice",
        "seller_id": "acme-gadgets",
        "amount": 100,
        "currency": "USD",
        "status": "paid",
        "items": [],
    }
    result: dict[str, Any] = {}
    streamer = threading.Thread(target=_stream_slowly, args=(engine, body, result))

    streamer.start()
    answers = []
    while streamer.is_alive() and len(answers) < 200:
        answers.append(_timed(engine, "GET", "/v1/disputes?limit=5"))
        answers.append(_timed(engine, "PUT", f"/v1/orders/ord-small-{len(answers)}", small_order))
    streamer.join(timeout=60)

    assert result["status"] == 413, result
    assert result["body"]["error"]["code"] == "payload_too_large"
    assert result["seconds_after_sending"] < 2
    assert len(answers) >= 10, "the others were not served while the body streamed"
    assert {status for status, _ in answers} <= {200, 201}
    slowest = max(seconds for _, seconds in answers)
    assert slowest < 1.0, sorted(seconds for _, seconds in answers)[-5:]
    status, _ = _timed(engine, "GET", "/v1/orders/ord-huge")
    assert status == 404
