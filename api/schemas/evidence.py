"""Evidence payloads: an upload's form fields, a JSON statement, and the item as listed."""

from __future__ import annotations

import re

from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields, validate

from api.schemas.common import In, Out, Text, choice
from evidence.models import FILE_KINDS, KINDS, PARTIES, STATEMENT, VISIBILITIES

NOTE_LENGTH = 2000
STATEMENT_LENGTH = 20_000
# Control characters other than tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


def _no_control_characters(text: str) -> None:
    if _CONTROL.search(text):
        raise ValidationError("must not contain control characters")


def _words(max_length: int, **kwargs: object) -> Text:
    return Text(max_length=max_length, validate=_no_control_characters, **kwargs)  # type: ignore[arg-type]


class EvidenceFormIn(In):
    """The form fields of a ``multipart/form-data`` upload (the file itself is the ``file`` part)."""

    kind = choice(FILE_KINDS, required=True)
    note = _words(NOTE_LENGTH, load_default=None, metadata={"description": "what the file shows"})
    visibility = choice(
        VISIBILITIES,
        load_default=PARTIES,
        metadata={"description": "arbitrators_only hides it from the other party"},
    )


class EvidenceFileIn(In):
    """The file part of an upload."""

    file = Upload(
        required=True,
        metadata={
            "description": "JPEG, PNG, WebP, GIF, MP4, PDF or plain text; typed by its bytes"
        },
    )


class EvidenceUploadIn(EvidenceFormIn, EvidenceFileIn):
    """A file upload (``multipart/form-data``), as documented."""


class StatementIn(In):
    """A written statement (``application/json``)."""

    kind = fields.String(required=True, validate=validate.Equal(STATEMENT))
    text = _words(STATEMENT_LENGTH, required=True, min_length=1)
    visibility = choice(VISIBILITIES, load_default=PARTIES)


class EvidenceOut(Out):
    id = fields.String()
    dispute_id = fields.String()
    kind = choice(KINDS)
    author_id = fields.String()
    author_role = fields.String(
        metadata={"description": "buyer, seller, arbitrator or senior_arbitrator"}
    )
    visibility = choice(VISIBILITIES)
    media_type = fields.String(metadata={"description": "sniffed from the bytes"})
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String(metadata={"description": "as recorded in the audit chain"})
    display_name = fields.String(allow_none=True, metadata={"description": "the uploaded name"})
    note = fields.String(allow_none=True)
    text = fields.String(allow_none=True, metadata={"description": "a statement's words"})
    created_at = fields.DateTime()
    purged_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "when the privacy purge removed its name, note, words and bytes "
            "(its content is then 410 evidence_removed); null while kept"
        },
    )
    content_url = fields.Function(lambda item: f"/v1/evidence/{item.id}/content")


class EvidenceListOut(Out):
    data = fields.List(fields.Nested(EvidenceOut))
