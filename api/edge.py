"""The edge every request crosses before any work is done (DESIGN §9, STYLE.md "HTTP").

A request that carries a body must say it is JSON (or ``multipart/form-data`` on a view declared
with :func:`accepts_multipart`): anything else is a 415, even on an action that needs no fields.
The body is capped before it is read (413, ``Content-Length`` or not), parsed once with bounds on
nesting and number length (400 ``malformed_json``), and every string in it is checked for lone
surrogates and NUL (422 naming the field). The views and webargs then reuse the parsed value.
Nothing here touches the database, so a refusal changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Request, current_app, request
from flask_smorest import Blueprint
from marshmallow import missing
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.local import LocalProxy
from werkzeug.wsgi import get_content_length

from api.schemas.common import text_problem
from arbitration.errors import ValidationFailed

MAX_JSON_BODY_CONFIG = "MAX_JSON_BODY"  # set from the policy's limits.max_json_body
MAX_JSON_DEPTH = 32  # our deepest body (an order line in an order) is 3
MAX_NUMBER_LENGTH = 100  # characters in one JSON number; money needs 16

JSON = "application/json"
MULTIPART = "multipart/form-data"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

View = TypeVar("View", bound=Callable[..., Any])
_MULTIPART_ATTRIBUTE = "edge_multipart_max_body"
_REQUEST = cast("LocalProxy[Request]", request)


class MalformedJson(BadRequest):
    """The body is not JSON we are willing to parse."""

    error_code = "malformed_json"


def accepts_multipart(max_body: int | Callable[[], int]) -> Callable[[View], View]:
    """Let a view take ``multipart/form-data`` (a file upload) of at most ``max_body`` bytes.

    Put it under ``@blp.route``; ``max_body`` may be a callable read per request (e.g. from the
    policy). JSON bodies stay accepted and capped as everywhere else.
    """

    def mark(view: View) -> View:
        setattr(view, _MULTIPART_ATTRIBUTE, max_body)
        return view

    return mark


class EdgeRequest(Request):
    """A request whose JSON body the edge has already read, bounded and parsed, exactly once."""

    edge_body: Any = None
    edge_parsed: bool = False

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if self.edge_parsed:
            return None if self.edge_body is missing else self.edge_body
        return super().get_json(force=force, silent=silent, cache=cache)


def install_edge(app: Flask, *, max_json_body: int) -> None:
    """Put the edge in front of every endpoint of ``app``, present and future."""
    app.request_class = EdgeRequest
    app.config[MAX_JSON_BODY_CONFIG] = max_json_body
    # First of all hooks: the edge is cheaper than authentication and needs no database.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_hostile_input)
    # flask-smorest's one webargs parser reads JSON through the edge instead of parsing again.
    Blueprint.ARGUMENTS_PARSER.location_loader("json")(_load_json)


def refuse_hostile_input() -> None:
    """Check the content type and size, then read and parse the body once (or refuse it)."""
    # Once: each use of the proxy costs a look-up.
    req: Request = _REQUEST._get_current_object()
    if req.routing_exception is not None or req.method not in BODY_METHODS:
        return  # unknown routes and wrong methods get their 404/405; GET bodies are never read
    assert isinstance(req, EdgeRequest)
    # The usual header is the bare type: taken as is, without werkzeug parsing its parameters.
    mimetype = JSON if req.environ.get("CONTENT_TYPE") == JSON else req.mimetype
    if mimetype != JSON:  # JSON is taken everywhere: only another type asks the view
        multipart_limit = _multipart_limit(req)
        if mimetype == MULTIPART and multipart_limit is not None:
            _cap(req, multipart_limit)
            return  # werkzeug's form parser streams it, within the cap
        if mimetype or _has_body(req):
            accepted = [JSON] + ([MULTIPART] if multipart_limit is not None else [])
            raise _unsupported(req.headers.get("Content-Type", ""), accepted)
    limit = current_app.config[MAX_JSON_BODY_CONFIG]
    _cap(
        req, limit, overread=1
    )  # one byte past the limit tells a long chunked body from a full one
    data = req.get_data(cache=True)
    if len(data) > limit:
        raise _too_large(limit)
    req.edge_body = parse_json_body(data)
    req.edge_parsed = True


def parse_json_body(data: bytes) -> Any:
    """Parse a request body: ``missing`` when empty, else bounded JSON with every string checked."""
    if not data.strip():
        return missing
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJson(f"the body is not UTF-8 (byte {error.start})") from None
    try:
        if text.startswith("\ufeff"):  # as ``json.loads`` refuses it (``decode`` does not)
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except RecursionError:
        raise MalformedJson(f"the body nests too deep (at most {MAX_JSON_DEPTH} levels)") from None
    except ValueError as error:  # JSONDecodeError, and our own refusals below
        raise MalformedJson(f"the body is not valid JSON: {error}") from None
    if _may_need_checking(text):
        _check_tree(value)
    return value


def _may_need_checking(text: str) -> bool:
    """Could the value parsed from ``text`` nest too deep or hold a NUL or a lone surrogate?

    Only a ``\\u`` escape can put either character in a string: the text is valid UTF-8 (which
    encodes no surrogate) and the parser refuses raw control characters in strings. No more
    brackets than the depth allowed cannot nest past it. Most bodies pass both: no walk needed.
    """
    return "\\u" in text or text.count("{") + text.count("[") > MAX_JSON_DEPTH


# Content type and size ---------------------------------------------------------------------------


def _has_body(req: Request) -> bool:
    chunked = "chunked" in req.headers.get("Transfer-Encoding", "").lower()
    return chunked or bool(req.content_length)


def _multipart_limit(req: Request) -> int | None:
    view = current_app.view_functions.get(req.endpoint or "")
    limit = getattr(view, _MULTIPART_ATTRIBUTE, None)
    return limit() if callable(limit) else limit


def _cap(req: Request, limit: int, overread: int = 0) -> None:
    """Refuse a declared length over ``limit`` now; stop reading a chunked body just past it."""
    # ``req.content_length``, read from the environ as werkzeug's stream reads it (its headers
    # object would look both headers up again by name).
    declared = get_content_length(req.environ)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    req.max_content_length = limit + overread


def _too_large(limit: int) -> RequestEntityTooLarge:
    error = RequestEntityTooLarge(f"the body is larger than {limit} bytes")
    error.details = {"max_bytes": limit}  # type: ignore[attr-defined]
    return error


def _unsupported(content_type: str, accepted: list[str]) -> UnsupportedMediaType:
    shown = content_type or "none"
    error = UnsupportedMediaType(f"send the body as {' or '.join(accepted)}, not {shown[:100]}")
    error.details = {"content_type": shown[:100], "accepted": accepted}  # type: ignore[attr-defined]
    return error


# Parsing -----------------------------------------------------------------------------------------


def _parse_int(digits: str) -> int:
    if len(digits) > MAX_NUMBER_LENGTH:
        raise ValueError(f"a number longer than {MAX_NUMBER_LENGTH} characters")
    return int(digits)


def _parse_float(digits: str) -> float:
    if len(digits) > MAX_NUMBER_LENGTH:
        raise ValueError(f"a number longer than {MAX_NUMBER_LENGTH} characters")
    return float(digits)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# Built once: ``json.loads`` with hooks builds a decoder per call. Shared by every thread, as
# ``json.loads`` shares its own: decoding keeps no state between calls.
_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
)


def _check_tree(value: Any) -> None:
    """Refuse nesting past ``MAX_JSON_DEPTH`` (400) and strings no database can store (422)."""
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(value, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            _check_text(node, path)
            continue
        if isinstance(node, dict):
            children = list(node.items())
            for key, _ in children:
                _check_text(key, (*path, _printable(key)))
        elif isinstance(node, list):
            children = [(str(index), item) for index, item in enumerate(node)]
        else:
            continue
        if depth >= MAX_JSON_DEPTH:
            raise MalformedJson(f"the body nests too deep (at most {MAX_JSON_DEPTH} levels)")
        stack.extend((child, depth + 1, (*path, _printable(key))) for key, child in children)


def _check_text(text: str, path: tuple[str, ...]) -> None:
    problem = text_problem(text)
    if problem is None:
        return
    details: Any = [problem]
    for key in reversed(path or ("_body",)):
        details = {key: details}
    raise ValidationFailed("the request has invalid fields", details=details)


def _printable(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")[:100]


def _load_json(req: Request, _schema: Any) -> Any:
    """webargs' JSON location: the body the edge parsed (parsing here only off the edge's path)."""
    if isinstance(req, LocalProxy):  # webargs hands over Flask's proxy: one look-up, not three
        req = req._get_current_object()
    if isinstance(req, EdgeRequest) and req.edge_parsed:
        return req.edge_body
    if req.mimetype != JSON:
        return missing
    return parse_json_body(req.get_data(cache=True))
