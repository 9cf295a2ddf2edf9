"""Evidence over HTTP: both sides add photos and statements, see what they may, download safely."""

from __future__ import annotations

import hashlib

from tests.support.assertions import assert_error, state
from tests.support.evidence import (
    JPEG,
    PDF,
    PNG,
    blob_path,
    contested,
    download,
    evidence_rows,
    listed,
    statement,
    stored_files,
    upload,
)
from tests.support.world import World


def test_both_sides_add_a_photo_and_a_statement_after_escalation(world: World) -> None:
    dispute_id, buyer, seller = contested(world)

    photo = upload(world, buyer, dispute_id, PNG, "scratch.png", note="the scratch on the lid")
    words = statement(world, buyer, dispute_id, "It arrived scratched.")
    counter = upload(world, seller, dispute_id, JPEG, "packing.jpg", kind="shipping_proof")
    reply = statement(world, seller, dispute_id, "It left our warehouse intact.")

    for response in (photo, words, counter, reply):
        assert response.status_code == 201, response.json
    assert photo.json["kind"] == "photo"
    assert photo.json["media_type"] == "image/png"
    assert photo.json["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert photo.json["size"] == len(PNG)
    assert photo.json["display_name"] == "scratch.png"
    assert photo.json["note"] == "the scratch on the lid"
    assert photo.json["author_role"] == "buyer"
    assert photo.json["visibility"] == "parties"
    assert words.json["text"] == "It arrived scratched."
    assert counter.json["media_type"] == "image/jpeg"

    ids = [r.json["id"] for r in (photo, words, counter, reply)]
    assert [item["id"] for item in listed(world, buyer, dispute_id)] == ids
    assert [item["id"] for item in listed(world, seller, dispute_id)] == ids
    arbitrator = world.account("arbitrator")
    assert [item["id"] for item in listed(world, arbitrator, dispute_id)] == ids


def test_each_item_is_a_link_in_the_audit_chain_with_its_sha256(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    before = world.read(buyer, dispute_id)
    photo = upload(world, buyer, dispute_id, PNG).json

    _dispute, events = state(world, buyer, dispute_id)
    last = events[-1]
    assert last["action"] == "add-evidence"
    assert last["actor"] == buyer
    assert last["from_status"] == last["to_status"] == before["status"]
    assert last["payload"]["evidence_id"] == photo["id"]
    assert last["payload"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert last["payload"]["size"] == len(PNG)
    assert last["payload"]["media_type"] == "image/png"
    assert world.read(buyer, dispute_id)["status"] == before["status"]


def test_the_platform_acting_for_a_party_is_named_in_the_chain(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    response = upload(world, "platform", dispute_id, PNG, headers={"On-Behalf-Of": buyer})
    assert response.status_code == 201, response.json
    assert response.json["author_id"] == buyer
    _dispute, events = state(world, buyer, dispute_id)
    assert events[-1]["payload"]["via"] == "platform"


def test_the_same_bytes_twice_share_one_stored_blob(world: World) -> None:
    dispute_id, buyer, seller = contested(world)
    first = upload(world, buyer, dispute_id, PNG, "a.png")
    second = upload(world, seller, dispute_id, PNG, "b.png")
    assert first.status_code == second.status_code == 201
    assert first.json["id"] != second.json["id"]
    assert len(stored_files(world)) == 1


def test_arbitrators_only_items_are_hidden_from_the_other_party(world: World) -> None:
    dispute_id, buyer, seller = contested(world)
    arbitrator = world.account("arbitrator")
    hidden = upload(world, buyer, dispute_id, PNG, visibility="arbitrators_only").json
    note = statement(
        world, arbitrator, dispute_id, "Buyer history checked.", visibility="arbitrators_only"
    ).json

    assert hidden["visibility"] == "arbitrators_only"
    assert [item["id"] for item in listed(world, seller, dispute_id)] == []
    assert [item["id"] for item in listed(world, buyer, dispute_id)] == [hidden["id"]]
    assert [item["id"] for item in listed(world, arbitrator, dispute_id)] == [
        hidden["id"],
        note["id"],
    ]
    assert_error(download(world, seller, hidden["id"]), 404, "not_found")
    assert_error(download(world, buyer, note["id"]), 404, "not_found")
    assert download(world, buyer, hidden["id"]).status_code == 200
    assert download(world, arbitrator, hidden["id"]).status_code == 200


def test_strangers_and_the_platform_itself_see_no_evidence(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    item = upload(world, buyer, dispute_id, PNG).json
    stranger = world.account("buyer")

    assert_error(world.call(stranger, "GET", f"/v1/disputes/{dispute_id}/evidence"), 404)
    assert_error(download(world, stranger, item["id"]), 404, "not_found")
    assert_error(world.call("platform", "GET", f"/v1/disputes/{dispute_id}/evidence"), 403)
    assert_error(download(world, "platform", item["id"]), 404, "not_found")
    assert_error(download(world, buyer, "evd_nope"), 404, "not_found")


def test_an_image_is_served_inline_with_defensive_headers(world: World) -> None:
    dispute_id, buyer, seller = contested(world)
    item = upload(world, buyer, dispute_id, PNG, "lid.png").json

    response = download(world, seller, item["id"])
    assert response.status_code == 200
    assert response.data == PNG
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["Content-Disposition"] == 'inline; filename="lid.png"'
    assert response.headers["Content-Length"] == str(len(PNG))


def test_other_files_are_downloads_under_a_safe_name(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    pdf = upload(world, buyer, dispute_id, PDF, "reçu (final).pdf", kind="document").json
    text = upload(world, buyer, dispute_id, b"10:02 seller: sent", "chat.txt", kind="chat_log").json
    words = statement(world, buyer, dispute_id, "It never worked.").json

    response = download(world, buyer, pdf["id"])
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition == (
        "attachment; filename=\"re_u (final).pdf\"; filename*=UTF-8''re%C3%A7u%20%28final%29.pdf"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    response = download(world, buyer, text["id"])
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == 'attachment; filename="chat.txt"'

    response = download(world, buyer, words["id"])
    assert response.data == b"It never worked."
    assert response.headers["Content-Disposition"] == f'attachment; filename="{words["id"]}.txt"'


def test_a_stored_file_altered_on_disk_is_refused_not_served(world: World) -> None:
    dispute_id, buyer, seller = contested(world)
    item = upload(world, buyer, dispute_id, PNG).json
    blob_path(world, item["sha256"]).write_bytes(PNG[:-1] + b"!")

    details = assert_error(download(world, seller, item["id"]), 409, "evidence_corrupted")
    assert details["evidence_id"] == item["id"]


def test_a_stored_file_gone_from_disk_is_refused(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    item = upload(world, buyer, dispute_id, PNG).json
    blob_path(world, item["sha256"]).unlink()
    assert_error(download(world, buyer, item["id"]), 409, "evidence_corrupted")


def test_a_retried_upload_with_the_same_key_and_file_replays(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    key = {"Idempotency-Key": "upload-1"}
    first = upload(world, buyer, dispute_id, PNG, headers=key)
    again = upload(world, buyer, dispute_id, PNG, headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert len(listed(world, buyer, dispute_id)) == 1
    assert len(stored_files(world)) == 1


def test_the_same_key_with_another_file_or_field_is_refused(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    key = {"Idempotency-Key": "upload-2"}
    first = upload(world, buyer, dispute_id, PNG, headers=key)
    files_before = stored_files(world)

    other_file = upload(world, buyer, dispute_id, JPEG, "photo.jpg", headers=key)
    other_note = upload(world, buyer, dispute_id, PNG, headers=key, note="changed my mind")
    other_name = upload(world, buyer, dispute_id, PNG, "other.png", headers=key)

    for response in (other_file, other_note, other_name):
        assert_error(response, 409, "idempotency_key_reused")
    assert [item["id"] for item in listed(world, buyer, dispute_id)] == [first.json["id"]]
    assert stored_files(world) == files_before
    assert evidence_rows(world) == 1


def test_evidence_is_refused_once_the_dispute_is_closed(world: World) -> None:
    dispute, buyer, seller = world.dispute()
    world.ok(seller, dispute["id"], "reject", reason="no")
    world.ok(buyer, dispute["id"], "withdraw")
    before = state(world, buyer, dispute["id"])

    details = assert_error(upload(world, buyer, dispute["id"], PNG), 409, "action_not_allowed")
    assert details["status"] == "closed"
    assert_error(statement(world, seller, dispute["id"], "too late"), 409, "action_not_allowed")
    assert state(world, buyer, dispute["id"]) == before
    assert stored_files(world) == set()
    assert evidence_rows(world) == 0


def _decided(world: World) -> tuple[str, str, str]:
    """A contested dispute ruled fully for the buyer: (dispute_id, buyer, seller)."""
    dispute_id, buyer, seller = contested(world)
    world.ok(buyer, dispute_id, "evidence-done")
    world.ok(seller, dispute_id, "evidence-done")
    arbitrator = world.account("arbitrator")
    world.ok(arbitrator, dispute_id, "claim")
    world.ok(
        arbitrator,
        dispute_id,
        "decide",
        outcome="buyer_full_refund",
        responsibility="seller",
        rationale="the photo shows the damage",
    )
    return dispute_id, buyer, seller


def test_evidence_is_refused_once_decided_and_reopens_during_an_appeal(world: World) -> None:
    dispute_id, buyer, seller = _decided(world)
    before = state(world, buyer, dispute_id)

    details = assert_error(upload(world, seller, dispute_id, JPEG, "late.jpg"), 409)
    assert details["status"] == "decided"
    assert_error(statement(world, buyer, dispute_id, "thank you"), 409, "action_not_allowed")
    assert state(world, buyer, dispute_id) == before
    assert stored_files(world) == set()

    world.ok(seller, dispute_id, "appeal", reason="the photo is of another parcel")
    response = upload(world, seller, dispute_id, JPEG, "our-parcel.jpg", kind="shipping_proof")
    assert response.status_code == 201, response.json


def test_downloads_answer_ranges_and_cached_copies(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    item = upload(world, buyer, dispute_id, PNG).json

    part = world.call(buyer, "GET", item["content_url"], headers={"Range": "bytes=0-7"})
    assert part.status_code == 206
    assert part.data == PNG[:8]
    assert part.headers["Content-Range"] == f"bytes 0-7/{len(PNG)}"
    assert part.headers["X-Content-Type-Options"] == "nosniff"

    etag = f'"{item["sha256"]}"'
    cached = world.call(buyer, "GET", item["content_url"], headers={"If-None-Match": etag})
    assert cached.status_code == 304
