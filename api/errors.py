"""The one place errors become HTTP: ``{"error": {"code", "message", "details"}}`` (DESIGN §9)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from arbitration.db import is_busy
from arbitration.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)

log = logging.getLogger(__name__)

STATUS_OF: dict[type[DomainError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    ValidationFailed: 422,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "service_unavailable",
}

# Seconds a client should wait before retrying when the database is busy.
BUSY_RETRY_AFTER_SECONDS = 1


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


def _database_error(error: DBAPIError) -> ResponseReturnValue:
    """A locked or contended database is a moment's wait (503), not our failure (500)."""
    if not is_busy(error):
        return _unexpected(error)
    log.warning("database busy: %s", error.orig)
    return error_response(
        503,
        "database_busy",
        "the database is busy; retry shortly",
        {"retry_after_seconds": BUSY_RETRY_AFTER_SECONDS},
        headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
    )


def _unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "internal_error", "something went wrong on our side")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(Exception, _unexpected)
