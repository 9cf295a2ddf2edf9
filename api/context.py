"""What a request works with: the engine's services, the caller, and one unit of work per request.

``perform`` is where a view's work runs: one transaction, with the ``Idempotency-Key`` claimed
inside it, so the key, the change and the stored response commit or vanish together. A body that
can wait (a :class:`Later`) is built after the commit, outside the writer lock, unless the key stores
it with the change.

A read finds its caller inside its own unit of work: on a request that changes nothing (``GET``,
``HEAD``), :func:`caller` opens the request's read-only unit of work, authenticates in it and leaves
it open for the view's :func:`read`, so the token check and the read share one transaction and one
connection. A write finds its caller with one statement outside any transaction, before its body is
read, and takes the writer lock only in :func:`perform`, whose unit of work runs on the connection
that found the caller on PostgreSQL (one checkout a request), on the pool's writer connection on
SQLite (``arbitration.dialects.WriterKeepingPool``). Nothing about a token outlives the request: a
revoked token fails on the next one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

from flask import Flask, Request, current_app, g, request
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.local import LocalProxy

from api.edge import MULTIPART
from api.wiring import Services
from arbitration import idempotency
from arbitration.accounts import Caller, authenticate
from arbitration.errors import ValidationFailed

EXTENSION_KEY = "arbitration"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
FINGERPRINT_CHUNK_BYTES = 64 * 1024


# Flask's globals, each resolved once where it is used: every attribute read through a proxy
# resolves it again (four or five calls), and these are used several times a request.
_APP = cast("LocalProxy[Flask]", current_app)
_G = cast("LocalProxy[Any]", g)
_REQUEST = cast("LocalProxy[Request]", request)


def services() -> Services:
    found: Services = _APP._get_current_object().extensions[EXTENSION_KEY]
    return found


# Methods whose views only read: their caller is found in the unit of work the view reads in.
READ_METHODS = frozenset({"GET", "HEAD"})
_OPEN_READ = "arbitration_open_read"
# A write's connection, which found its caller, kept for perform()'s unit of work.
_LOOKED_UP = "arbitration_looked_up"


class _OpenRead:
    """A read-only unit of work opened by :func:`caller`, waiting for the view's :func:`read`."""

    def __init__(self) -> None:
        self._unit: AbstractContextManager[Session] = services().database.unit_of_work(
            read_only=True
        )
        self.session = self._unit.__enter__()

    def close(self, error: BaseException | None = None) -> None:
        """End the transaction: as a ``with`` block would, rolled back if ``error`` is given."""
        if error is None:
            self._unit.__exit__(None, None, None)
        else:
            self._unit.__exit__(type(error), error, error.__traceback__)


def caller() -> Caller:
    """The authenticated caller of this request (401 without a valid token)."""
    request_globals = _G._get_current_object()
    who: Caller | None = request_globals.get("caller")
    if who is None:
        who = request_globals.caller = _authenticate()
    return who


def _authenticate() -> Caller:
    req = _REQUEST._get_current_object()  # once: each use of the proxy costs a look-up
    # The headers' WSGI keys, read as ``req.headers`` would read them, without its look-up by name.
    environ = req.environ
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else None
    on_behalf_of = environ.get("HTTP_ON_BEHALF_OF")
    if req.method not in READ_METHODS:
        # Outside the write's unit of work: no writer lock while the body is validated or an
        # upload streams in; perform() opens the transaction when the work is ready, on
        # PostgreSQL on this same connection (one checkout a request: each pings the server).
        connection = services().database.lookup()
        try:
            who = authenticate(connection, token=bearer, on_behalf_of=on_behalf_of)
        except BaseException:
            connection.close()
            raise
        setattr(_G._get_current_object(), _LOOKED_UP, connection)
        return who
    unit = _OpenRead()
    try:
        who = authenticate(unit.session.connection(), token=bearer, on_behalf_of=on_behalf_of)
    except BaseException as error:
        unit.close(error)
        raise
    setattr(_G._get_current_object(), _OPEN_READ, unit)  # the view's read() goes on in it
    return who


@contextmanager
def _reading() -> Iterator[Session]:
    """The request's open read-only unit of work if the caller left one, else a new one."""
    unit: _OpenRead | None = _G._get_current_object().pop(_OPEN_READ, None)
    if unit is None:
        unit = _OpenRead()
    try:
        yield unit.session
    except BaseException as error:
        unit.close(error)
        raise
    unit.close()


def read(work: Callable[[Session], Any]) -> Any:
    """Run read-only work in a deferred transaction that never blocks writers."""
    with _reading() as session:
        return work(session)


def close_request_work(error: BaseException | None = None) -> None:
    """End a unit of work the request opened and no view took (a refusal, a view that never
    read), and give back a write's connection no unit of work took (a body refused): registered
    as a teardown, so no transaction or connection outlives its request."""
    request_globals = _G._get_current_object()
    unit: _OpenRead | None = request_globals.pop(_OPEN_READ, None)
    if unit is not None:
        unit.close(error)
    connection: Connection | None = request_globals.pop(_LOOKED_UP, None)
    if connection is not None:
        connection.close()


class Later:
    """A response body whose building waits for :func:`perform` to say when: built in the unit of
    work when an ``Idempotency-Key`` stores it with the change, after the commit otherwise (what
    it builds from is read in the unit of work: building it reads nothing)."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build


def _built(body: Any) -> Any:
    return body.build() if type(body) is Later else body


def perform(work: Callable[[Session], tuple[Any, int]]) -> tuple[Any, int]:
    """Run a change in one unit of work, honouring ``Idempotency-Key`` (DESIGN §9); ``work``
    answers its body (or a :class:`Later`) and status."""
    who = caller()
    request_globals = _G._get_current_object()
    unit: _OpenRead | None = request_globals.pop(_OPEN_READ, None)
    if unit is not None:
        unit.close()  # a view that read first: its snapshot ends before the write begins
    req = _REQUEST._get_current_object()
    key = req.environ.get("HTTP_IDEMPOTENCY_KEY")  # the header, as ``req.headers`` reads it
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValidationFailed(
            "bad Idempotency-Key", details={"Idempotency-Key": ["1 to 255 characters"]}
        )
    looked_up: Connection | None = request_globals.pop(_LOOKED_UP, None)
    try:
        return _perform(work, who, req, key, looked_up)
    finally:
        if looked_up is not None:
            looked_up.close()


def _perform(
    work: Callable[[Session], tuple[Any, int]],
    who: Caller,
    req: Request,
    key: str | None,
    connection: Connection | None,
) -> tuple[Any, int]:
    engine = services()
    at = engine.clock.now()
    with engine.database.unit_of_work(on=connection) as session:
        if key is not None:
            earlier = idempotency.claim(
                session,
                account_id=who.id,
                key=key,
                request_fingerprint=idempotency.fingerprint(
                    req.method, req.path, _fingerprinted_body()
                ),
                at=at,
            )
            if earlier is not None:
                return earlier.response, earlier.status_code or 200
        response, status = work(session)
        if key is not None:
            response = _built(response)
            idempotency.remember(
                session, account_id=who.id, key=key, status_code=status, body=response
            )
    return _built(response), status


def _fingerprinted_body() -> Any:
    """What "the same body" means for ``Idempotency-Key``: the JSON value (empty is ``{}``), or a
    multipart body's fields and, for each file, its name, declared type and SHA-256."""
    if request.mimetype == MULTIPART:
        return {
            "form": dict(request.form.lists()),
            "files": {
                name: [_file_identity(upload) for upload in uploads]
                for name, uploads in request.files.lists()
            },
        }
    body = request.get_json(silent=True)
    return {} if body is None else body


def _file_identity(upload: FileStorage) -> dict[str, Any]:
    """The file's name, declared type and content hash; the stream is left where it was."""
    stream = upload.stream
    position = stream.tell()
    stream.seek(0)
    digest = hashlib.sha256()
    while chunk := stream.read(FINGERPRINT_CHUNK_BYTES):
        digest.update(chunk)
    stream.seek(position)
    return {
        "filename": upload.filename,
        "content_type": upload.content_type,
        "sha256": digest.hexdigest(),
    }
