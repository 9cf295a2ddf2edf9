"""Hostile or mistaken uploads are refused with a clear error and leave nothing behind: no bytes
on disk, no evidence row, no new link in the timeline."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from arbitration.policy import Policy, load_policy
from tests.support.assertions import assert_error, state
from tests.support.evidence import (
    HTML,
    JPEG,
    PDF,
    PNG,
    contested,
    evidence_rows,
    listed,
    statement,
    stored_files,
    upload,
)
from tests.support.world import World

MAX_FILE_BYTES = 1024
MAX_FILES_PER_PARTY = 3


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.toml"
    path.write_text(
        f"[evidence]\nmax_file_bytes = {MAX_FILE_BYTES}\n"
        f"max_files_per_party = {MAX_FILES_PER_PARTY}\n",
        encoding="utf-8",
    )
    return load_policy(path)


@contextmanager
def nothing_changes(world: World, who: str, dispute_id: str) -> Iterator[None]:
    """The dispute, its timeline, the evidence table and the evidence directory stay as they were."""
    before = (state(world, who, dispute_id), evidence_rows(world), stored_files(world))
    yield
    assert (state(world, who, dispute_id), evidence_rows(world), stored_files(world)) == before


REFUSALS: dict[str, tuple[Callable[[World, str, str], TestResponse], int, str, str]] = {
    "html named .png": (
        lambda world, who, dispute: upload(world, who, dispute, HTML, "photo.png"),
        415,
        "unsupported_media_type",
        "file",
    ),
    "html without a claimed type": (
        lambda world, who, dispute: upload(
            world, who, dispute, HTML, "scan", kind="document", content_type=""
        ),
        415,
        "unsupported_media_type",
        "file",
    ),
    "png declared as a jpeg": (
        lambda world, who, dispute: upload(
            world, who, dispute, PNG, "photo", content_type="image/jpeg"
        ),
        415,
        "unsupported_media_type",
        "file",
    ),
    "jpeg bytes named .png": (
        lambda world, who, dispute: upload(
            world, who, dispute, JPEG, "photo.png", content_type="application/octet-stream"
        ),
        415,
        "unsupported_media_type",
        "file",
    ),
    "an executable": (
        lambda world, who, dispute: upload(
            world, who, dispute, b"MZ\x90\x00\x03" + bytes(100), "setup.exe", kind="document"
        ),
        415,
        "unsupported_media_type",
        "file",
    ),
    "an empty file": (
        lambda world, who, dispute: upload(world, who, dispute, b"", "empty.png"),
        422,
        "validation_failed",
        "file",
    ),
    "a file over the size limit": (
        lambda world, who, dispute: upload(
            world, who, dispute, PNG + bytes(MAX_FILE_BYTES), "big.png"
        ),
        413,
        "file_too_large",
        "file",
    ),
    "a path-traversal name": (
        lambda world, who, dispute: upload(world, who, dispute, PNG, "../../etc/passwd"),
        422,
        "validation_failed",
        "file",
    ),
    "an absolute path": (
        lambda world, who, dispute: upload(world, who, dispute, PNG, "/etc/passwd"),
        422,
        "validation_failed",
        "file",
    ),
    "a bare ..": (
        lambda world, who, dispute: upload(world, who, dispute, PNG, ".."),
        422,
        "validation_failed",
        "file",
    ),
    "a name with a control character": (
        lambda world, who, dispute: upload(world, who, dispute, PNG, "a\x1bb.png"),
        422,
        "validation_failed",
        "file",
    ),
    "a name that hides its extension": (
        lambda world, who, dispute: upload(world, who, dispute, PNG, "photo\u202egnp.exe"),
        422,
        "validation_failed",
        "file",
    ),
    "a pdf sent as a photo": (
        lambda world, who, dispute: upload(world, who, dispute, PDF, "scan.pdf", kind="photo"),
        422,
        "validation_failed",
        "kind",
    ),
    "an unknown kind": (
        lambda world, who, dispute: upload(world, who, dispute, PNG, kind="selfie"),
        422,
        "validation_failed",
        "kind",
    ),
    "an unknown visibility": (
        lambda world, who, dispute: upload(world, who, dispute, PNG, visibility="public"),
        422,
        "validation_failed",
        "visibility",
    ),
    "a statement sent as a file": (
        lambda world, who, dispute: upload(
            world, who, dispute, b"words", "a.txt", kind="statement"
        ),
        422,
        "validation_failed",
        "kind",
    ),
    "a photo sent as json": (
        lambda world, who, dispute: world.call(
            who, "POST", f"/v1/disputes/{dispute}/evidence", json={"kind": "photo"}
        ),
        422,
        "validation_failed",
        "kind",
    ),
    "a blank statement": (
        lambda world, who, dispute: statement(world, who, dispute, "   "),
        422,
        "validation_failed",
        "text",
    ),
    "a statement with a control character": (
        lambda world, who, dispute: statement(world, who, dispute, "ring \x07 the bell"),
        422,
        "validation_failed",
        "text",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_uploads_leave_nothing_behind(world: World, case: str) -> None:
    send, status, code, field = REFUSALS[case]
    dispute_id, buyer, _seller = contested(world)
    with nothing_changes(world, buyer, dispute_id):
        details = assert_error(send(world, buyer, dispute_id), status, code)
    assert field in details, details


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    with nothing_changes(world, buyer, dispute_id):
        response = upload(world, buyer, dispute_id, PNG + bytes(200_000), "huge.png")
        assert_error(response, 413)


def test_one_file_over_the_count_limit_is_refused_and_leaves_nothing(world: World) -> None:
    dispute_id, buyer, seller = contested(world)
    for number in range(MAX_FILES_PER_PARTY):
        response = upload(world, buyer, dispute_id, PNG + bytes([number]), f"{number}.png")
        assert response.status_code == 201, response.json

    with nothing_changes(world, buyer, dispute_id):
        one_more = upload(world, buyer, dispute_id, PNG + b"new bytes", "one-more.png")
        details = assert_error(one_more, 422, "validation_failed")
    assert details["limit"] == MAX_FILES_PER_PARTY
    # The limit is per party: the seller may still answer.
    assert upload(world, seller, dispute_id, JPEG, "answer.jpg").status_code == 201
    assert len(listed(world, buyer, dispute_id)) == MAX_FILES_PER_PARTY + 1


def test_a_refused_upload_of_bytes_already_stored_keeps_the_earlier_blob(world: World) -> None:
    dispute_id, buyer, seller = contested(world)
    for number in range(MAX_FILES_PER_PARTY):
        assert upload(world, buyer, dispute_id, PNG + bytes([number])).status_code == 201
    seller_item = upload(world, seller, dispute_id, JPEG, "mine.jpg").json

    with nothing_changes(world, buyer, dispute_id):
        assert_error(upload(world, buyer, dispute_id, JPEG, "same.jpg"), 422)
    assert world.call(seller, "GET", seller_item["content_url"]).data == JPEG


def test_a_stranger_cannot_upload_and_nothing_is_stored(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    stranger = world.account("seller")
    with nothing_changes(world, buyer, dispute_id):
        assert_error(upload(world, stranger, dispute_id, PNG), 404, "not_found")
        assert_error(statement(world, stranger, dispute_id, "hello"), 404, "not_found")


def test_an_upload_in_another_content_type_is_refused(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    with nothing_changes(world, buyer, dispute_id):
        response = world.call(
            buyer,
            "POST",
            f"/v1/disputes/{dispute_id}/evidence",
            data=PNG,
            content_type="image/png",
        )
        assert_error(response, 415)


def test_two_files_in_one_upload_are_refused(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    with nothing_changes(world, buyer, dispute_id):
        response = world.call(
            buyer,
            "POST",
            f"/v1/disputes/{dispute_id}/evidence",
            data={
                "kind": "photo",
                "file": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(JPEG), "b.jpg")],
            },
            content_type="multipart/form-data",
        )
        details = assert_error(response, 422, "validation_failed")
    assert "file" in details
