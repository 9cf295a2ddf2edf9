"""The application's own Flask: it answers "is this a coroutine function?" as Flask does, and makes
a response as Flask would with the same JSON provider (``EngineJSONProvider``)."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from flask import Flask

from api.app import EngineFlask, EngineJSONProvider


def plain() -> str:
    return "plain"


async def coroutine() -> str:
    return "coroutine"


class Holder:
    def method(self) -> str:
        return "method"


@pytest.mark.parametrize(
    "func",
    [plain, Holder().method, functools.partial(plain), functools.wraps(plain)(lambda: "wrapped")],
    ids=["function", "method", "partial", "wrapped"],
)
def test_a_plain_callable_is_returned_as_it_is(func: Any) -> None:
    app = EngineFlask(__name__)
    assert app.ensure_sync(func) is func
    assert Flask(__name__).ensure_sync(func) is func


@pytest.mark.parametrize(
    "func", [coroutine, functools.partial(coroutine)], ids=["coroutine", "partial"]
)
def test_a_coroutine_function_goes_to_flask(func: Any) -> None:
    """Flask wraps it to run (or, without the ``async`` extra, says so): never returned as is."""
    try:
        expected: Any = type(Flask(__name__).ensure_sync(func))
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match=re.escape(str(error))):
            EngineFlask(__name__).ensure_sync(func)
    else:
        assert type(EngineFlask(__name__).ensure_sync(func)) is expected


def _answer(app: Flask, rv: Any) -> tuple[str, list[tuple[str, str]], bytes]:
    with app.test_request_context("/"):
        response = app.make_response(rv)
    return response.status, list(response.headers.items()), response.get_data()


class FlaskWithOurJson(Flask):
    """Flask's own ``make_response``, with the engine's JSON provider."""

    json_provider_class = EngineJSONProvider


def _apps(**options: Any) -> tuple[Flask, Flask]:
    apps = EngineFlask(__name__), FlaskWithOurJson(__name__)
    for app in apps:
        for name, value in options.items():
            if name == "debug":
                app.debug = value
            else:
                setattr(app.json, name, value)
    return apps


BODY = {"id": "d-1", "é": "ünïcode", "at": None, "items": [{"n": 1}], "b": True}


@pytest.mark.parametrize(
    "rv",
    [
        (BODY, 200),
        (BODY, 201),
        ([BODY, 1], 200),
        ({}, 299),
        (BODY, "202 ACCEPTED"),
        (BODY, {"X-Extra": "1"}),
        (BODY, 200, {"X-Extra": "1"}),
        BODY,
        ("text", 200),
    ],
    ids=["200", "201", "list", "unknown-status", "status-text", "headers", "three", "bare", "text"],
)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"debug": True},
        {"compact": False},
        {"compact": True, "debug": True},
        {"sort_keys": True},
    ],
    ids=["default", "debug", "not-compact", "compact-in-debug", "sorted"],
)
def test_a_response_is_made_as_flask_makes_it(rv: Any, options: dict[str, Any]) -> None:
    ours, flasks = _apps(**options)
    assert _answer(ours, rv) == _answer(flasks, rv)


def test_a_json_body_and_a_status_skip_flasks_own_making(monkeypatch: pytest.MonkeyPatch) -> None:
    ours, _ = _apps()

    def refuse(_app: Flask, _rv: Any) -> None:
        raise AssertionError("went the long way")

    monkeypatch.setattr(Flask, "make_response", refuse)
    status, headers, data = _answer(ours, (BODY, 201))
    assert status == "201 CREATED"
    assert headers == [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
