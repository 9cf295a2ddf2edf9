"""Evidence helpers for the API tests: sample files, uploads, and what is on disk and in the table."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from werkzeug.test import TestResponse

from evidence.models import Evidence
from tests.support.world import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(200))
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def contested(world: World) -> tuple[str, str, str]:
    """A dispute the seller rejected and the buyer escalated: (dispute_id, buyer, seller)."""
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "reject", reason="the item matched its description")
    world.ok(buyer, dispute["id"], "escalate")
    return dispute["id"], buyer, seller


def _tick(world: World) -> None:
    """A second passes between submissions, so items list in the order they were added."""
    world.app.extensions["arbitration"].clock.advance(timedelta(seconds=1))


def upload(
    world: World,
    who: str,
    dispute_id: str,
    data: bytes,
    filename: str | None = "photo.png",
    *,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> TestResponse:
    """POST a file as multipart/form-data; ``kind`` defaults to photo."""
    _tick(world)
    part: tuple[Any, ...] = (io.BytesIO(data), filename or "")
    if content_type is not None:
        part = (*part, content_type)
    form: dict[str, Any] = {"kind": "photo", **fields, "file": part}
    return world.call(
        who,
        "POST",
        f"/v1/disputes/{dispute_id}/evidence",
        data=form,
        content_type="multipart/form-data",
        headers=headers or {},
    )


def statement(world: World, who: str, dispute_id: str, text: str, **fields: Any) -> TestResponse:
    _tick(world)
    body = {"kind": "statement", "text": text, **fields}
    return world.call(who, "POST", f"/v1/disputes/{dispute_id}/evidence", json=body)


def listed(world: World, who: str, dispute_id: str) -> list[dict[str, Any]]:
    response = world.call(who, "GET", f"/v1/disputes/{dispute_id}/evidence")
    assert response.status_code == 200, response.json
    return response.json["data"]


def download(world: World, who: str, evidence_id: str) -> TestResponse:
    return world.call(who, "GET", f"/v1/evidence/{evidence_id}/content")


def stored_files(world: World) -> set[Path]:
    """Every file under the evidence directory (blobs and any temporary leftovers)."""
    root = Path(world.app.extensions["arbitration"].config.evidence_dir)
    return {path.relative_to(root) for path in root.rglob("*") if path.is_file()}


def evidence_rows(world: World) -> int:
    with world.app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(Evidence)) or 0


def blob_path(world: World, sha256: str) -> Path:
    return world.app.extensions["arbitration"].storage.path_of(sha256)
