"""The application's own Flask: it answers "is this a coroutine function?" as Flask does."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from flask import Flask

from api.app import EngineFlask


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
