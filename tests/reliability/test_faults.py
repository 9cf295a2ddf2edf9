"""Faults from outside the engine: the database server restarts mid-request, the evidence disk
fills up, the SQLite file is read-only. Each is a clear refusal in the one error shape (or a
one-line error at start), nothing half-written, and service resumes when the fault is gone.

(A worker killed mid-sweep is in ``test_sweep_exactly_once.py``.)
"""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from api.app import create_app
from api.config import Config
from api.errors import register_error_handlers
from api.wiring import upgrade_schema
from arbitration.audit import verify_chains
from arbitration.clock import ManualClock
from arbitration.events import TimelineEventAppended
from arbitration.models import Event
from arbitration.policy import load_policy
from evidence import storage as storage_module
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.assertions import assert_error, state
from tests.support.evidence import PNG, contested, evidence_rows, stored_files, upload
from tests.support.world import World

ARBITRATION = str(Path(sys.executable).parent / "arbitration")


def _assert_retry_later(response: Any, code: str) -> None:
    """A 503 in the error shape, with a Retry-After that agrees with its details."""
    details = assert_error(response, 503, code)
    assert int(response.headers["Retry-After"]) == details["retry_after_seconds"] > 0


# The PostgreSQL server restarted mid-request ----------------------------------------------------


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server of this test's own (as scripts/with-postgres starts one), so stopping
    it disturbs nothing else the suite runs against."""

    bin: Path
    folder: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@/postgres?host={self.folder}"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-A", "trust", "-U",
            "postgres", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        # Durable, unlike the suite's server: an immediate stop is a crash, and a commit must
        # survive it (synchronous_commit=off would lose the last ones, rightly).
        options = f"-c listen_addresses='' -c unix_socket_directories={self.folder}"
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-l",
            str(self.folder / "server.log"), "-w", "start", "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """As a crash would: no checkpoint, every connection cut."""
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w",
            "stop",
        )  # fmt: skip


@pytest.fixture
def own_postgres() -> Iterator[ThrowawayPostgres]:
    if not POSTGRES_ADMIN_URL:
        pytest.skip("PostgreSQL only: runs in make test's PostgreSQL pass (scripts/with-postgres)")
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not binaries or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("starts its own PostgreSQL server: needs /usr/lib/postgresql and root")
    folder = Path(tempfile.mkdtemp(prefix="arbitration-pg-fault-"))
    shutil.chown(folder, "postgres")
    server = ThrowawayPostgres(Path(binaries[-1]), folder)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _events(world: World, dispute_id: str) -> int:
    database = world.app.extensions["arbitration"].database
    with database.unit_of_work(read_only=True) as session:
        count = session.scalar(
            select(func.count()).select_from(Event).where(Event.dispute_id == dispute_id)
        )
    return int(count or 0)


@pytest.mark.slow
def test_postgres_restarted_mid_request_is_a_clean_503_and_the_same_app_serves_again(
    own_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    upgrade_schema(own_postgres.url)
    config = Config(
        database_url=own_postgres.url,
        policy=load_policy(),
        clock=ManualClock(),
        testing=True,
        evidence_dir=str(tmp_path / "evidence"),
    )
    app = create_app(config)
    database = app.extensions["arbitration"].database
    world = World(app, app.test_client())
    dispute, buyer, seller = world.dispute()
    dispute_id = dispute["id"]
    before = state(world, buyer, dispute_id)

    # The server dies after the seller's rejection was written, before it commits.
    died: list[TimelineEventAppended] = []

    def crash_before_commit(session: Session, event: TimelineEventAppended) -> None:
        if not died:
            session.flush()  # the rows are on the server, in the open transaction
            own_postgres.stop()
            died.append(event)

    database.handlers.on(TimelineEventAppended, crash_before_commit)
    headers = {"Idempotency-Key": "reject-once"}
    reject = {"reason": "the item matched its description"}
    response = world.call(
        seller, "POST", f"/v1/disputes/{dispute_id}/reject", json=reject, headers=headers
    )
    assert died, "the crash did not land in the request"
    _assert_retry_later(response, "database_unavailable")

    # While it is down, every request is the same clean 503: reads, writes, authentication.
    for response in (
        world.call(buyer, "GET", f"/v1/disputes/{dispute_id}"),
        world.act(buyer, dispute_id, "withdraw"),
        world.call(seller, "POST", f"/v1/disputes/{dispute_id}/reject", json=reject),
    ):
        _assert_retry_later(response, "database_unavailable")

    # Back up: the same app (its pool holds only dead connections) serves again, and nothing of
    # the interrupted rejection was kept.
    own_postgres.start()
    assert state(world, buyer, dispute_id) == before
    with database.unit_of_work(read_only=True) as session:
        report = verify_chains(session)
    assert report.ok, report.broken

    # The client's retry with the same key applies the rejection, once.
    events = _events(world, dispute_id)
    for _ in range(2):
        response = world.call(
            seller, "POST", f"/v1/disputes/{dispute_id}/reject", json=reject, headers=headers
        )
        assert response.status_code == 200, response.json
    assert world.read(buyer, dispute_id)["status"] != before[0]["status"]
    assert _events(world, dispute_id) == events + 1
    with database.unit_of_work(read_only=True) as session:
        assert verify_chains(session).ok
    database.dispose()


# A full evidence disk -----------------------------------------------------------------------------


class _FillingFile:
    """A file on a disk with ``room`` bytes left: writes beyond them fail with ENOSPC."""

    def __init__(self, target: IO[bytes], room: int, full: list[str]) -> None:
        self._target = target
        self._room = room
        self._full = full

    def write(self, chunk: bytes) -> int:
        if len(chunk) > self._room:
            self._target.write(chunk[: self._room])
            self._room = 0
            self._full.append(self._target.name if isinstance(self._target.name, str) else "")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(chunk)
        return self._target.write(chunk)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._target.close()


def _fill_store_disk_after(patched: pytest.MonkeyPatch, store: Path, room: int) -> list[str]:
    """The disk under ``store`` fills up after ``room`` bytes of each file written there; returns
    the list of files that hit the wall (other files, the request's own spooling, are spared)."""
    real_fdopen = os.fdopen
    full: list[str] = []

    def fdopen(descriptor: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        target = real_fdopen(descriptor, mode, *args, **kwargs)
        path = Path(os.readlink(f"/proc/self/fd/{descriptor}"))
        if "w" in mode and path.is_relative_to(store.resolve()):
            return _FillingFile(target, room, full)
        return target

    patched.setattr(os, "fdopen", fdopen)  # the module the store writes through
    return full


def test_a_full_evidence_disk_is_a_clean_503_and_records_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispute_id, buyer, _seller = contested(world)
    photo = PNG + bytes(300 * 1024)  # a 300 KiB photo: more than the disk has room for
    before = state(world, buyer, dispute_id)
    files_before = stored_files(world)

    store = Path(world.app.extensions["arbitration"].config.evidence_dir)
    with monkeypatch.context() as patched:
        # The store writes 64 KiB chunks: the second fails half-written, as on a real full disk.
        full = _fill_store_disk_after(patched, store, room=100 * 1024)
        response = upload(world, buyer, dispute_id, photo, "scratch.png")

    assert full, "the disk did not fill during the upload"
    _assert_retry_later(response, "storage_unavailable")
    assert evidence_rows(world) == 0
    assert state(world, buyer, dispute_id)[1] == before[1]  # no timeline event
    assert stored_files(world) == files_before  # no blob, no half-written temporary file

    # Room again: the same upload is taken whole.
    response = upload(world, buyer, dispute_id, photo, "scratch.png")
    assert response.status_code == 201, response.json
    assert response.get_json()["size"] == len(photo)
    assert evidence_rows(world) == 1


@pytest.mark.parametrize("errno_", [errno.ENOSPC, errno.EDQUOT, errno.EROFS])
def test_the_store_says_unavailable_for_a_full_or_read_only_disk_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_: int
) -> None:
    store = storage_module.FilesystemBlobStore(tmp_path / "store")

    def fsync(_descriptor: int) -> None:
        raise OSError(errno_, os.strerror(errno_))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(storage_module.StorageUnavailable) as raised:
        store.put(io.BytesIO(b"evidence"))
    assert isinstance(raised.value.__cause__, OSError)
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []


# A read-only SQLite file ------------------------------------------------------------------------


def _without_root_privileges() -> list[str]:
    """A command prefix under which file modes bind: root ignores them unless it drops its
    CAP_DAC_OVERRIDE (``setpriv``), as the unprivileged user a deployment runs as would be."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file modes cannot be made to bind")
    dropped = "-dac_override,-dac_read_search"
    return ["setpriv", f"--bounding-set={dropped}", f"--inh-caps={dropped}", "--"]


@pytest.fixture
def read_only_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite file in ``folder/``; ``file`` makes the file 0444, ``folder`` makes the
    folder 0555 (SQLite cannot create the -wal and -shm files it writes beside the database)."""
    if POSTGRES_ADMIN_URL:
        pytest.skip("SQLite only: ran in the SQLite pass")
    folder = tmp_path / "folder"
    folder.mkdir()
    path = folder / "arbitration.db"
    upgrade_schema(f"sqlite:///{path}")
    if request.param == "file":
        path.chmod(0o444)
    else:
        folder.chmod(0o555)
    try:
        yield path
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("read_only_database", "command"),
    [
        ("file", ["serve", "--port", "1"]),  # a port it could never bind: it must not get there
        ("folder", ["serve", "--port", "1"]),
        ("file", ["worker"]),
        ("file", ["db", "upgrade"]),
    ],
    indirect=["read_only_database"],
)
def test_a_read_only_sqlite_file_is_refused_at_start_in_one_line(
    read_only_database: Path, command: list[str], tmp_path: Path
) -> None:
    env = {**os.environ, "ARBITRATION_DATABASE_URL": f"sqlite:///{read_only_database}"}
    finished = subprocess.run(
        [*_without_root_privileges(), ARBITRATION, *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode != 0
    assert "Traceback" not in finished.stderr + finished.stdout
    assert "listening" not in finished.stdout.lower()
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert str(read_only_database) in lines[0]
    assert "read-only" in lines[0]
    # Nothing was written, not even the start-up probe.
    with sqlite3.connect(f"file:{read_only_database}?mode=ro", uri=True) as connection:
        assert not connection.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '%probe%'"
        ).fetchall()


# Which database errors mean "unavailable" -------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (  # pool_pre_ping found the connection dead and could not open another
            OperationalError("SELECT 1", {}, psycopg.OperationalError("connection failed")),
            503,
            "database_unavailable",
        ),
        (InterfaceError("SELECT 1", {}, psycopg.InterfaceError("the connection is closed")), 503,
         "database_unavailable"),
        (OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating")), 503,
         "database_unavailable"),
        (OperationalError("SELECT 1", {}, psycopg.errors.CannotConnectNow("starting up")), 503,
         "database_unavailable"),
        (DisconnectionError("the pool's connection is dead"), 503, "database_unavailable"),
        (OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")), 503,
         "database_unavailable"),
        (OperationalError("SELECT 1", {}, psycopg.errors.SerializationFailure("race")), 503,
         "database_busy"),
        # Our bugs stay 500s.
        (ProgrammingError("SELECT", {}, psycopg.errors.UndefinedTable("no table")), 500,
         "internal_error"),
        (OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")), 500,
         "internal_error"),
    ],
)  # fmt: skip
def test_only_an_unreachable_database_is_database_unavailable(
    error: Exception, status: int, code: str
) -> None:
    app = Flask(__name__)
    register_error_handlers(app)

    @app.get("/work")
    def work() -> Any:
        raise error

    response = app.test_client().get("/work")

    assert_error(response, status, code)
    if status == 503:
        _assert_retry_later(response, code)
