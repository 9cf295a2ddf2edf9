"""The one place errors become HTTP: ``{"error": {"code", "message", "details"}}`` (DESIGN §9)."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import psycopg
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, DisconnectionError
from werkzeug.exceptions import HTTPException

from arbitration.dialects import is_busy
from arbitration.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from evidence.storage import StorageUnavailable

log = logging.getLogger(__name__)

STATUS_OF: dict[type[DomainError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    ValidationFailed: 422,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "service_unavailable",
}

# Seconds a client should wait before retrying when the database is busy.
BUSY_RETRY_AFTER_SECONDS = 1
# ... when the database cannot be reached (a restart, a failover): long enough for it to come back.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5
# ... when the evidence store is full: someone has to free space, so not in a second.
STORAGE_RETRY_AFTER_SECONDS = 60

# PostgreSQL states that mean "the server is not there (now)", not "your statement is wrong":
# connection_exception (08xxx), admin/crash shutdown and "starting up" (57P01-57P03),
# too_many_connections, and a full disk (disk_full).
_POSTGRES_UNAVAILABLE_CLASSES = ("08",)
_POSTGRES_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300", "53100"})
_SQLITE_UNAVAILABLE_MESSAGES = ("database or disk is full",)


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return jsonify(body), status, headers or {}


def _domain_error(error: DomainError) -> ResponseReturnValue:
    status = next(code for kind, code in STATUS_OF.items() if isinstance(error, kind))
    return error_response(status, error.code, error.message, error.details)


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    refused = getattr(error, "exc", None)  # webargs's: the schema's ValidationError
    if isinstance(refused, BaseException):
        _let_go(refused)
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")  # webargs puts schema errors here, keyed by location
    if status == 400 and messages and "json" in messages:
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    if status == 422 and messages:
        details: dict[str, Any] = {}
        for by_field in messages.values():
            details.update(by_field)
        return error_response(422, "validation_failed", "the request has invalid fields", details)
    code = getattr(error, "error_code", None) or HTTP_CODES.get(status, "error")
    allow = error.get_response().headers.get("Allow")  # a 405 says which methods exist
    return error_response(
        status,
        code,
        error.description or code,
        getattr(error, "details", None),  # the edge says what it refused (limits, content type)
        headers={"Allow": allow} if allow else None,
    )


def _let_go(error: BaseException) -> None:
    """Free what ``error``'s traceback holds (the request's frames, its body among their locals)
    now rather than at the collector's next pass: marshmallow raises a ValidationError it keeps
    in a local of the frame it raises from, a cycle only the collector breaks, and the servers
    collect the youngest generation seldom (``api.server.tune_interpreter``), so a stream of
    refused megabyte bodies would otherwise pile up."""
    traceback.clear_frames(error.__traceback__)
    error.__traceback__ = None


def is_unavailable(error: DBAPIError) -> bool:
    """True when the database could not be reached or dropped the connection (a restart, a
    failover, a full disk): the request was not applied, and may succeed once it is back.

    A psycopg error without a SQLSTATE is the client library's own (connection refused, the
    server closed the connection); errors the server sends carry one, and only the states above
    mean it is unavailable. Everything else (a bad statement, a missing table) stays a 500.
    """
    if error.connection_invalidated:
        return True
    orig = error.orig
    if isinstance(orig, psycopg.Error):
        state = orig.sqlstate
        if state is None:
            return isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError)
        return state.startswith(_POSTGRES_UNAVAILABLE_CLASSES) or (
            state in _POSTGRES_UNAVAILABLE_STATES
        )
    message = str(orig).lower()
    return any(unavailable in message for unavailable in _SQLITE_UNAVAILABLE_MESSAGES)


def _database_error(error: DBAPIError) -> ResponseReturnValue:
    """A locked or contended database is a moment's wait (503), an unreachable one a longer wait
    (503), neither our failure (500). The unit of work rolled back: nothing was applied."""
    if is_busy(error):
        log.warning("database busy: %s", error.orig)
        return _retry_later(
            "database_busy", "the database is busy; retry shortly", BUSY_RETRY_AFTER_SECONDS
        )
    if is_unavailable(error):
        return _database_unavailable(error)
    return _unexpected(error)


def _database_unavailable(error: Exception) -> ResponseReturnValue:
    log.error("database unavailable: %s", getattr(error, "orig", None) or error)
    return _retry_later(
        "database_unavailable",
        "the database is unavailable; nothing was changed, retry shortly",
        UNAVAILABLE_RETRY_AFTER_SECONDS,
    )


def _storage_unavailable(error: StorageUnavailable) -> ResponseReturnValue:
    """The evidence store refused the bytes (full, read-only): nothing was recorded (503, not 507,
    so clients need only the one retryable status the contract documents everywhere)."""
    log.error("evidence storage unavailable: %s", error.__cause__ or error)
    return _retry_later(
        "storage_unavailable",
        "the evidence store cannot take files now; nothing was recorded, retry later",
        STORAGE_RETRY_AFTER_SECONDS,
    )


def _retry_later(code: str, message: str, seconds: int) -> ResponseReturnValue:
    return error_response(
        503,
        code,
        message,
        {"retry_after_seconds": seconds},
        headers={"Retry-After": str(seconds)},
    )


def _unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "internal_error", "something went wrong on our side")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_error)
    # The pool's own "this connection is dead" when it cannot get a live one.
    app.register_error_handler(DisconnectionError, _database_unavailable)
    app.register_error_handler(StorageUnavailable, _storage_unavailable)
    app.register_error_handler(Exception, _unexpected)
