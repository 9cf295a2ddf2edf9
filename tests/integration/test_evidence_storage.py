"""Bytes are stored before the transaction and kept only if a committed row references them, even
when two uploads of the same bytes race (one failing, one committing)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

import pytest

from api.wiring import Services
from arbitration.accounts import Caller, authenticate
from evidence import intake, keeping, service
from evidence.storage import BlobStore
from tests.support.evidence import PNG, contested
from tests.support.world import World


class Boom(Exception):
    pass


def services_of(world: World) -> Services:
    return world.app.extensions["arbitration"]


def caller_of(world: World, account_id: str) -> Caller:
    with services_of(world).database.lookup() as connection:
        return authenticate(connection, token=world.tokens[account_id], on_behalf_of=None)


def checked(world: World) -> intake.CheckedFile:
    return intake.check_upload(
        io.BytesIO(PNG),
        filename="p.png",
        declared_type=None,
        kind="photo",
        policy=services_of(world).policy.evidence,
    )


def record(world: World, who: Caller, dispute_id: str, upload: intake.CheckedFile) -> str:
    """Add the evidence row in its own committed unit of work; returns its id."""
    services = services_of(world)
    with services.database.unit_of_work() as session:
        item = service.add_file(
            session,
            caller=who,
            dispute_id=dispute_id,
            kind="photo",
            visibility="parties",
            note=None,
            stored=upload,
            policy=services.policy.evidence,
            at=services.clock.now(),
        )
        return item.id


class RacingStore:
    """A store whose ``delete`` lets a concurrent upload of the same bytes commit right after."""

    def __init__(self, inner: BlobStore, on_delete: Callable[[], object]) -> None:
        self.inner = inner
        self.on_delete = on_delete

    def put(self, source: BinaryIO) -> str:
        return self.inner.put(source)

    def open(self, sha256: str) -> BinaryIO:
        return self.inner.open(sha256)

    def exists(self, sha256: str) -> bool:
        return self.inner.exists(sha256)

    def delete(self, sha256: str) -> None:
        self.inner.delete(sha256)
        self.on_delete()


def test_a_failed_unit_of_work_leaves_no_bytes(world: World) -> None:
    services = services_of(world)
    upload = checked(world)
    with pytest.raises(Boom), keeping.holding(services.database, services.storage, upload):
        assert services.storage.exists(upload.sha256)  # stored before the transaction
        raise Boom
    assert not services.storage.exists(upload.sha256)


def test_a_committed_upload_keeps_its_bytes(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    services = services_of(world)
    upload = checked(world)
    with keeping.holding(services.database, services.storage, upload):
        record(world, caller_of(world, buyer), dispute_id, upload)
    assert services.storage.exists(upload.sha256)


def test_bytes_removed_by_a_failing_twin_are_put_back_for_the_committed_one(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    services = services_of(world)
    winner, loser = checked(world), checked(world)
    who = caller_of(world, buyer)

    # The loser fails, finds no row and deletes; only then does the winner's row commit.
    racing = RacingStore(services.storage, lambda: record(world, who, dispute_id, winner))
    with pytest.raises(Boom), keeping.holding(services.database, racing, loser):
        raise Boom
    assert services.storage.exists(winner.sha256)


def test_the_committed_upload_restores_bytes_deleted_after_its_commit(world: World) -> None:
    dispute_id, buyer, _seller = contested(world)
    services = services_of(world)
    upload = checked(world)
    with keeping.holding(services.database, services.storage, upload):
        record(world, caller_of(world, buyer), dispute_id, upload)
        services.storage.delete(upload.sha256)  # a failing twin's delete, just after our commit
    with services.storage.open(upload.sha256) as blob:
        assert blob.read() == PNG
