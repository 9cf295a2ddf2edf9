"""``arbitration serve --workers 3`` and two ``arbitration worker``s on one database, under load.

On PostgreSQL when ``ARBITRATION_TEST_POSTGRES_URL`` is set (a database of its own), else on a
SQLite file. Concurrent requests from many threads land on several gunicorn workers (told apart by
the pid in gunicorn's access log); each race has exactly one winner; a deadline swept by two
worker processes fires exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.e2e.conftest import ARBITRATION, free_port, wait_until_up

pytestmark = pytest.mark.slow

POSTGRES_ADMIN_URL = os.environ.get("ARBITRATION_TEST_POSTGRES_URL")
WEB_WORKERS = 3
# Unshipped orders give the seller two seconds, so the sweep has something to race for; shipped
# and delivered ones keep their five days, so the sweep stays out of the races below.
FAST_UNSHIPPED_POLICY = """
[deadlines]
seller_response_unshipped = "2s"
"""
ACCESS_LOG = "--access-logfile - --access-logformat 'pid=%(p)s %(m)s %(U)s %(s)s'"


@dataclass
class Layout:
    url: str
    tokens: dict[str, str]
    access_log: Path

    def call(self, who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.tokens[who]}"}
            | ({"Content-Type": "application/json"} if body is not None else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def worker_pids(self) -> set[str]:
        lines = self.access_log.read_text().splitlines()
        return {line.split()[0] for line in lines if line.startswith("pid=")}


def _in_parallel(calls: list[Callable[[], tuple[int, Any]]]) -> list[tuple[int, Any]]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not POSTGRES_ADMIN_URL:
        yield f"sqlite:///{tmp_path / 'arbitration.db'}"
        return
    name = f"arbitration_many_processes_{os.getpid()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def layout(tmp_path: Path, database_url: str) -> Iterator[Layout]:
    """The production layout in miniature: three web processes, two sweepers, one database."""
    policy = tmp_path / "fast.toml"
    policy.write_text(FAST_UNSHIPPED_POLICY)
    env = {
        **os.environ,
        "ARBITRATION_DATABASE_URL": database_url,
        "ARBITRATION_POLICY": str(policy),
        "ARBITRATION_SCHEDULER_INTERVAL": "0.2",
        "ARBITRATION_EVIDENCE_DIR": str(tmp_path / "evidence"),
    }
    for step in (["db", "upgrade"], ["demo"]):
        subprocess.run([ARBITRATION, *step], cwd=tmp_path, env=env, check=True, capture_output=True)
    port = free_port()
    access_log = tmp_path / "access.log"
    processes: list[subprocess.Popen[str]] = []

    def start(args: list[str], log: Path, extra_env: dict[str, str]) -> subprocess.Popen[str]:
        with log.open("w") as output:
            process = subprocess.Popen(
                [ARBITRATION, *args],
                cwd=tmp_path,
                env=env | extra_env,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
            )
        processes.append(process)
        return process

    try:
        web = start(
            ["serve", "--workers", str(WEB_WORKERS), "--port", str(port)],
            access_log,
            {"GUNICORN_CMD_ARGS": ACCESS_LOG},
        )
        for number in (1, 2):
            start(["worker"], tmp_path / f"worker-{number}.log", {})
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, web)
        tokens = json.loads((tmp_path / "arbitration-demo-tokens.json").read_text())
        yield Layout(url, tokens, access_log)
        assert all(process.poll() is None for process in processes), "a process died"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _order(layout: Layout, order_id: str, *, buyer: str, seller: str, status: str) -> None:
    """The marketplace sends an order (done before the races, one at a time)."""
    code, body = layout.call(
        "platform",
        "PUT",
        f"/v1/orders/{order_id}",
        {
            "buyer_id": buyer,
            "seller_id": seller,
            "amount": 2500,
            "currency": "USD",
            "status": status,
            "items": [
                {
                    "listing_id": f"lst-{order_id}",
                    "quantity": 1,
                    "title": "Desk lamp",
                    "unit_price": 2500,
                }
            ],
        },
    )
    assert code in (200, 201), body


def _filing(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "reason": "damaged", "remedy": "refund_only", "amount": 2500}


def test_a_worker_pool_and_two_sweepers_serve_one_database(layout: Layout) -> None:
    buyers, sellers = ("alice", "bob", "chen"), ("acme-gadgets", "bright-home")
    orders = {f"ord-mp-{n}": (buyers[n % 3], sellers[n % 2]) for n in range(30)}
    for order_id, (buyer, seller) in orders.items():
        _order(layout, order_id, buyer=buyer, seller=seller, status="delivered")

    # 30 buyers file at once, each on their own order: 30 disputes, none lost.
    filed = _in_parallel(
        [
            lambda order_id=order_id, buyer=buyer: layout.call(
                buyer, "POST", "/v1/disputes", _filing(order_id)
            )
            for order_id, (buyer, _) in orders.items()
        ]
    )
    assert [code for code, _ in filed] == [201] * 30, filed
    disputes = {body["order_id"]: body for _, body in filed}
    assert len({body["id"] for body in disputes.values()}) == 30

    # 30 sellers answer at once, every other one accepting and the rest rejecting.
    answers = _in_parallel(
        [
            lambda n=n, order_id=order_id, seller=seller: layout.call(
                seller,
                "POST",
                f"/v1/disputes/{disputes[order_id]['id']}/{'accept' if n % 2 else 'reject'}",
                None if n % 2 else {"reason": "The lamp left our warehouse intact."},
            )
            for n, (order_id, (_, seller)) in enumerate(orders.items())
        ]
    )
    assert [code for code, _ in answers] == [200] * 30, answers
    assert [body["status"] for _, body in answers] == [
        "closed" if n % 2 else "seller_rejected" for n in range(30)
    ]

    # Ten filings on one order at once: one dispute, nine refusals.
    _order(layout, "ord-mp-race", buyer="alice", seller="acme-gadgets", status="delivered")
    filings = _in_parallel(
        [lambda: layout.call("alice", "POST", "/v1/disputes", _filing("ord-mp-race"))] * 10
    )
    assert sorted(code for code, _ in filings) == [201] + [409] * 9, filings
    (race,) = [body for code, body in filings if code == 201]

    # Ten accepts of that dispute at once: one refund, nine refusals.
    accepts = _in_parallel(
        [lambda: layout.call("acme-gadgets", "POST", f"/v1/disputes/{race['id']}/accept")] * 10
    )
    assert sorted(code for code, _ in accepts) == [200] + [409] * 9, accepts
    _, timeline = layout.call("alice", "GET", f"/v1/disputes/{race['id']}/events")
    assert [event["action"] for event in timeline["data"]].count("accept") == 1
    _, order = layout.call("platform", "GET", "/v1/orders/ord-mp-race")
    assert order["refunded_amount"] == 2500

    # More than one web process answered.
    assert len(layout.worker_pids()) > 1, layout.access_log.read_text()

    # Five silent sellers on unshipped orders: both sweepers race for each deadline; it fires once.
    silent = [f"ord-mp-silent-{n}" for n in range(5)]
    for order_id in silent:
        _order(layout, order_id, buyer="bob", seller="bright-home", status="paid")
    waiting = _in_parallel(
        [
            lambda order_id=order_id: layout.call("bob", "POST", "/v1/disputes", _filing(order_id))
            for order_id in silent
        ]
    )
    assert [code for code, _ in waiting] == [201] * 5, waiting
    give_up = time.monotonic() + 60
    for _, dispute in waiting:
        while dispute["status"] != "closed" and time.monotonic() < give_up:
            time.sleep(0.2)
            _, dispute = layout.call("bob", "GET", f"/v1/disputes/{dispute['id']}")
        assert (dispute["status"], dispute["outcome"]) == ("closed", "refunded")
    time.sleep(1)  # a few more sweeps by each worker: a second firing would show by now
    for _, dispute in waiting:
        _, timeline = layout.call("bob", "GET", f"/v1/disputes/{dispute['id']}/events")
        accepts = [event for event in timeline["data"] if event["action"] == "accept"]
        assert [event["actor"] for event in accepts] == ["system"], timeline
