"""Evidence over HTTP: upload a file or write a statement, list a dispute's evidence, fetch bytes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import request, send_file
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from api.context import caller, perform, read, services
from api.contract import Blueprint
from api.edge import MULTIPART, accepts_multipart
from api.errors import error_response
from api.schemas.common import ErrorOut
from api.schemas.evidence import (
    EvidenceFormIn,
    EvidenceListOut,
    EvidenceOut,
    EvidenceUploadIn,
    StatementIn,
)
from arbitration.errors import ValidationFailed
from evidence import intake, keeping, service
from evidence.errors import PayloadTooLarge, UnsupportedMediaType
from evidence.models import FILE_KINDS, STATEMENT, Evidence

blp = Blueprint("evidence", __name__, url_prefix="/v1", description="Evidence on a dispute")

# Room in a multipart body for the form fields and part headers around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
# Served inline (shown in the page); everything else is a download.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
_UNSAFE_IN_QUOTES = re.compile(r"[^A-Za-z0-9 ._()+,=@-]")

FORM = EvidenceFormIn()
STATEMENT_IN = StatementIn()
ITEM_OUT = EvidenceOut()
LIST_OUT = EvidenceListOut()


@blp.errorhandler(PayloadTooLarge)
def _too_large(error: PayloadTooLarge) -> ResponseReturnValue:
    return error_response(413, error.code, error.message, error.details)


@blp.errorhandler(UnsupportedMediaType)
def _unsupported(error: UnsupportedMediaType) -> ResponseReturnValue:
    return error_response(415, error.code, error.message, error.details)


def _upload_limit() -> int:
    return services().policy.evidence.max_file_bytes + FORM_OVERHEAD_BYTES


@blp.route("/disputes/<dispute_id>/evidence", methods=["POST"])
@accepts_multipart(_upload_limit)
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            MULTIPART: {"schema": EvidenceUploadIn},
            "application/json": {"schema": StatementIn},
        },
    }
)
@blp.alt_response(201, schema=EvidenceOut, success=True, description="added")
@blp.alt_response(404, schema=ErrorOut, description="no such dispute that you may see")
@blp.alt_response(409, schema=ErrorOut, description="evidence is closed in this state")
@blp.alt_response(413, schema=ErrorOut, description="the file is over the size limit")
@blp.alt_response(415, schema=ErrorOut, description="the bytes are not an accepted type")
@blp.alt_response(422, schema=ErrorOut, description="bad fields, an empty file, too many items")
def add_evidence(dispute_id: str) -> ResponseReturnValue:
    """Add a file (multipart/form-data) or a written statement (JSON) to a dispute."""
    who = caller()
    policy = services().policy.evidence
    at = services().clock.now()
    if request.mimetype != MULTIPART:
        statement = _statement_in()

        def record_statement(session: Session) -> tuple[dict[str, Any], int]:
            item = service.add_statement(
                session, caller=who, dispute_id=dispute_id, policy=policy, at=at, **statement
            )
            return ITEM_OUT.dump(item), 201

        return perform(record_statement)

    # Refuse who may not add evidence now before the body is parsed, let alone stored.
    read(lambda session: service.check_may_add(session, caller=who, dispute_id=dispute_id))
    form, upload = _upload_in()
    checked = intake.check_upload(
        upload.stream,
        filename=upload.filename,
        declared_type=upload.content_type,
        kind=form["kind"],
        policy=policy,
    )

    def record_file(session: Session) -> tuple[dict[str, Any], int]:
        item = service.add_file(
            session,
            caller=who,
            dispute_id=dispute_id,
            stored=checked,
            policy=policy,
            at=at,
            **form,
        )
        return ITEM_OUT.dump(item), 201

    with keeping.holding(services().database, services().storage, checked):
        return perform(record_file)


@blp.route("/disputes/<dispute_id>/evidence", methods=["GET"])
@blp.alt_response(200, schema=EvidenceListOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="neither a party nor staff")
@blp.alt_response(404, schema=ErrorOut, description="no such dispute that you may see")
def list_evidence(dispute_id: str) -> ResponseReturnValue:
    """List a dispute's evidence you may see, oldest first (parties and staff)."""
    who = caller()

    def work(session: Session) -> dict[str, Any]:
        items = service.list_evidence(session, caller=who, dispute_id=dispute_id)
        dumped: dict[str, Any] = LIST_OUT.dump({"data": items})
        return dumped

    return read(work), 200


@blp.route("/evidence/<evidence_id>/content", methods=["GET"])
@blp.alt_response(
    200,
    success=True,
    description="the bytes, typed as sniffed at upload",
    content_type="application/octet-stream",
)
@blp.alt_response(404, schema=ErrorOut, description="no such evidence that you may see")
@blp.alt_response(409, schema=ErrorOut, description="evidence_corrupted: the bytes are altered")
@blp.alt_response(
    410, schema=ErrorOut, description="evidence_removed: the privacy purge removed it"
)
def evidence_content(evidence_id: str) -> Response:
    """Download an item's bytes, checked against the SHA-256 in the audit chain."""
    who = caller()
    item: Evidence = read(
        lambda session: service.get_evidence(session, caller=who, evidence_id=evidence_id)
    )
    content = service.verified_content(services().storage, item)
    response = send_file(
        content, mimetype=item.media_type, etag=item.sha256, conditional=False, max_age=None
    )
    response.content_length = item.size
    # 304 for a cached copy, 206 for a byte range (a video player seeking).
    response.make_conditional(request.environ, accept_ranges=True, complete_length=item.size)
    response.headers["Content-Disposition"] = _disposition(item)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# Reading the request ------------------------------------------------------------------------------


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
        return loaded
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_body": error.messages}
        raise ValidationFailed("the request has invalid fields", details=messages) from None


def _statement_in() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if isinstance(body, Mapping) and body.get("kind") in FILE_KINDS:
        raise ValidationFailed(
            "files are uploaded as multipart/form-data; JSON takes only statements",
            details={"kind": [f"send a {body['kind']} as multipart/form-data with a 'file' part"]},
        )
    statement = _load(STATEMENT_IN, body if body is not None else {})
    del statement["kind"]
    return statement


def _upload_in() -> tuple[dict[str, Any], FileStorage]:
    """The form fields (each at most once) and the one ``file`` part of a multipart upload."""
    repeated = [name for name, values in request.form.lists() if len(values) > 1]
    repeated += [name for name, values in request.files.lists() if len(values) > 1]
    if repeated:
        raise ValidationFailed(
            "send each field once", details={name: ["sent more than once"] for name in repeated}
        )
    fields = request.form.to_dict()
    if fields.get("kind") == STATEMENT:
        raise ValidationFailed(
            "a statement is sent as JSON, not as a file",
            details={"kind": ["send statements as application/json with a 'text' field"]},
        )
    extra_files = sorted(set(request.files) - {"file"})
    if extra_files:
        raise ValidationFailed(
            "only one file, in the 'file' part",
            details={name: ["unknown file part; use 'file'"] for name in extra_files},
        )
    form = _load(FORM, fields)
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("no file was sent", details={"file": ["required"]})
    return form, upload


def _disposition(item: Evidence) -> str:
    """``inline`` for allow-listed images, else ``attachment``; the name is quoted safely."""
    disposition = "inline" if item.media_type in INLINE_TYPES else "attachment"
    name = item.display_name or f"{item.id}{EXTENSIONS.get(item.media_type, '')}"
    plain = _UNSAFE_IN_QUOTES.sub("_", name)
    header = f'{disposition}; filename="{plain}"'
    if plain != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header
