"""What a request works with: the engine's services, the caller, and one unit of work per request.

``perform`` is where a view's work runs: one transaction, with the ``Idempotency-Key`` claimed
inside it, so the key, the change and the stored response commit or vanish together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from api.edge import MULTIPART
from api.wiring import Services
from arbitration import idempotency
from arbitration.accounts import Caller, authenticate
from arbitration.errors import ValidationFailed

EXTENSION_KEY = "arbitration"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
FINGERPRINT_CHUNK_BYTES = 64 * 1024


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found


def caller() -> Caller:
    """The authenticated caller of this request (401 without a valid token)."""
    if "caller" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        with services().database.unit_of_work(read_only=True) as session:
            g.caller = authenticate(
                session,
                token=token.strip() if scheme.lower() == "bearer" else None,
                on_behalf_of=request.headers.get("On-Behalf-Of"),
            )
    who: Caller = g.caller
    return who


def read(work: Callable[[Session], Any]) -> Any:
    """Run read-only work in a deferred transaction that never blocks writers."""
    with services().database.unit_of_work(read_only=True) as session:
        return work(session)


def perform(work: Callable[[Session], tuple[Any, int]]) -> tuple[Any, int]:
    """Run a change in one unit of work, honouring ``Idempotency-Key`` (DESIGN §9)."""
    who = caller()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValidationFailed(
            "bad Idempotency-Key", details={"Idempotency-Key": ["1 to 255 characters"]}
        )
    at = services().clock.now()
    with services().database.unit_of_work() as session:
        if key is not None:
            earlier = idempotency.claim(
                session,
                account_id=who.id,
                key=key,
                request_fingerprint=idempotency.fingerprint(
                    request.method, request.path, _fingerprinted_body()
                ),
                at=at,
            )
            if earlier is not None:
                return earlier.response, earlier.status_code or 200
        response, status = work(session)
        if key is not None:
            idempotency.remember(
                session, account_id=who.id, key=key, status_code=status, body=response
            )
    return response, status


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
