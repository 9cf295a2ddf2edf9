"""Profiles of the growth benchmark's worst cases, of the reads and of the writes, in process
through Flask's test client.

``python -m bench.profile [batch] [report] [report-all] [queue] [read] [file] [reject] [escalate]
[decide] [--disputes=300000] [--writes=200]``: pyinstrument (not a project dependency:
``.venv/bin/pip install pyinstrument``) over 30 filings into a batch of 10,000 open disputes, or 3
summary reports (of the default period, or of all time), or 3 first pages of the queue, on the
databases ``bench.growth`` builds; or (``read``) over the two reads of ``bench http``, a decided
dispute by its buyer and a seller's standing by the seller, 300 each; or over the writes
``bench.http_cost`` measures. Reads and writes are preceded by the SQL one of them runs, ``BEGIN``
and ``COMMIT`` included (``counted_statements``). The profiler's 1 ms sampling inflates the times;
the shape is the point.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyinstrument import Profiler
from sqlalchemy import Engine

from api.app import create_app
from api.config import Config
from arbitration.policy import load_policy
from bench.bare import create_bare_app, create_table
from bench.growth import build_database
from bench.http_cost import RULING, in_process
from bench.lifecycles import order_body
from bench.traced import counted_statements

FILINGS = 30
WRITES = ("file", "reject", "escalate", "decide")


def _profiled(work: Callable[[], None]) -> None:
    profiler = Profiler(interval=0.001)
    profiler.start()
    work()
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))


def batch(folder: Path) -> None:
    url, tokens = build_database(folder, 1, batches=True)
    client = create_app(
        Config(database_url=url, policy=load_policy(), evidence_dir=str(folder))
    ).test_client()
    platform = {"Authorization": f"Bearer {tokens['platform']}"}
    buyer = {"Authorization": f"Bearer {tokens['buyer-0']}"}
    order = order_body(0, "hot-10000") | {"buyer_id": "buyer-0", "seller_id": "seller-0"}
    for number in range(FILINGS + 5):
        response = client.put(f"/v1/orders/profile-{number}", json=order, headers=platform)
        assert response.status_code == 201, response.data

    def file(numbers: range) -> None:
        for number in numbers:
            filing = {
                "order_id": f"profile-{number}",
                "reason": "damaged",
                "remedy": "refund_only",
                "amount": 1_000,
            }
            response = client.post("/v1/disputes", json=filing, headers=buyer)
            assert response.status_code == 201, response.data

    file(range(5))  # warm
    print(f"{FILINGS} filings into a batch of 10,000 open disputes")
    _profiled(lambda: file(range(5, FILINGS + 5)))


def reads(folder: Path, disputes: int, names: list[str]) -> None:
    url, tokens = build_database(folder, disputes, batches=False)
    client = create_app(
        Config(database_url=url, policy=load_policy(), evidence_dir=str(folder))
    ).test_client()
    paths = {
        "report": ("/v1/reports/summary", "platform"),
        "report-all": ("/v1/reports/summary?since=2000-01-01T00:00:00Z", "platform"),
        "queue": ("/v1/queue", "arbitrator"),
    }
    for name in names:
        path, who = paths[name]
        headers = {"Authorization": f"Bearer {tokens[who]}"}

        def get(path: str = path, headers: dict[str, str] = headers) -> None:
            for _ in range(3):
                assert client.get(path, headers=headers).status_code == 200

        client.get(path, headers=headers)  # warm
        print(f"3 x GET {path} with {disputes:,} disputes")
        _profiled(get)


def writes(folder: Path, count: int, names: list[str]) -> None:
    """Profile each write ``bench.http_cost`` measures (``count`` of each), after counting the SQL
    statements the first of them runs."""
    served = in_process(folder)
    client, auth = served.client, served.auth
    engine: Engine = served.app.extensions["arbitration"].database.engine

    total = count + 1
    for number in range(total):
        order = order_body(number) | {"buyer_id": "buyer-0", "seller_id": "seller-0"}
        response = client.put(f"/v1/orders/wr-{number}", json=order, headers=auth("platform"))
        assert response.status_code == 201, response.data
    ids: list[str] = []
    filing = {"reason": "not_as_described", "remedy": "refund_only", "amount": 5_000}
    steps: list[tuple[str, str, str, dict[str, object]]] = [
        ("file", "buyer-0", "", filing),
        ("reject", "seller-0", "reject", {"reason": "Works as described."}),
        ("escalate", "buyer-0", "escalate", {"reason": "It does not."}),
        ("evidence-done", "buyer-0", "evidence-done", {}),
        ("evidence-done", "seller-0", "evidence-done", {}),
        ("claim", "arbitrator", "claim", {}),
        ("decide", "arbitrator", "decide", dict(RULING)),
    ]
    for name, who, action, body in steps:

        def send(
            number: int,
            name: str = name,
            who: str = who,
            action: str = action,
            body: dict[str, object] = body,
        ) -> None:
            if name == "file":
                response = client.post(
                    "/v1/disputes", json=body | {"order_id": f"wr-{number}"}, headers=auth(who)
                )
                assert response.status_code == 201, response.data
                ids.append(response.get_json()["id"])
            else:
                path = f"/v1/disputes/{ids[number]}/{action}"
                response = client.post(path, json=body, headers=auth(who))
                assert response.status_code == 200, response.data

        with counted_statements(engine) as statements:
            send(0)
        if name not in names:
            for number in range(1, total):
                send(number)
            continue
        print(f"{name}: {len(statements)} SQL statements")
        for statement in statements:
            print("   ", " ".join(statement.split())[:150])
        print(f"{count} x {name}")
        _profiled(lambda: [send(number) for number in range(1, total)] and None)


def decided_dispute_reads(folder: Path) -> None:
    """A dispute taken through a contested lifecycle to a ruling, then read by its buyer, and its
    seller's standing read by the seller: the two reads ``bench http`` times."""
    served = in_process(folder)
    client, auth, app = served.client, served.auth, served.app
    order = order_body(0, "lst-read") | {"buyer_id": "buyer-0", "seller_id": "seller-0"}
    assert (
        client.put("/v1/orders/ord-read", json=order, headers=auth("platform")).status_code == 201
    )
    filing = {"order_id": "ord-read", "reason": "damaged", "remedy": "refund_only", "amount": 500}
    response = client.post("/v1/disputes", json=filing, headers=auth("buyer-0"))
    assert response.status_code == 201, response.data
    dispute = response.get_json()["id"]
    for who, action, body in [
        ("seller-0", "reject", {"reason": "Works as described."}),
        ("buyer-0", "escalate", {"reason": "It does not."}),
        ("buyer-0", "evidence-done", {}),
        ("seller-0", "evidence-done", {}),
        ("arbitrator", "claim", {}),
        ("arbitrator", "decide", RULING),
    ]:
        response = client.post(f"/v1/disputes/{dispute}/{action}", json=body, headers=auth(who))
        assert response.status_code == 200, response.data
    reads = {
        "dispute": (f"/v1/disputes/{dispute}", auth("buyer-0")),
        "standing": ("/v1/sellers/seller-0/standing", auth("seller-0")),
    }
    engine = app.extensions["arbitration"].database.engine
    for path, headers in reads.values():
        with counted_statements(engine) as statements:
            assert client.get(path, headers=headers).status_code == 200
        print(f"GET {path}: {len(statements)} SQL statements")
        for statement in statements:
            print("   ", " ".join(statement.split())[:150])
    bare_url = f"sqlite:///{folder / 'bare.db'}"
    create_table(bare_url)
    bare = create_bare_app(bare_url).test_client()
    row = bare.post("/rows", json={"body": "x"}).get_json()["id"]
    timed = {**reads, "bare read": (f"/rows/{row}", {})}
    best: dict[str, float] = {}
    for _ in range(5):  # CPU time, the best of five rounds: the machine is shared
        for name, (path, headers) in timed.items():
            one = bare if name == "bare read" else client
            began = time.process_time()
            for _ in range(READS):
                assert one.get(path, headers=headers).status_code == 200
            each = (time.process_time() - began) / READS * 1000
            best[name] = min(best.get(name, each), each)
    for name, each in best.items():
        ratio = each / best["bare read"]
        print(f"in process, CPU time: {each:.2f} ms a {name} ({ratio:.2f} x the bare read)")
    for name, (path, headers) in reads.items():

        def get(path: str = path, headers: dict[str, str] = headers) -> None:
            for _ in range(READS):
                assert client.get(path, headers=headers).status_code == 200

        print(f"{READS} x GET {path} ({name})")
        _profiled(get)


READS = 300


def main(argv: list[str]) -> None:
    names = [arg for arg in argv if not arg.startswith("-")] or ["batch", "report", "queue"]
    disputes = 300_000
    count = 200
    for arg in argv:
        if arg.startswith("--disputes="):
            disputes = int(arg.split("=", 1)[1])
        if arg.startswith("--writes="):
            count = int(arg.split("=", 1)[1])
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        if "batch" in names:
            (folder / "batch").mkdir()
            batch(folder / "batch")
        write_names = [name for name in names if name in WRITES]
        if write_names:
            (folder / "writes").mkdir()
            writes(folder / "writes", count, write_names)
        if "read" in names:
            (folder / "read").mkdir()
            decided_dispute_reads(folder / "read")
        read_names = [name for name in names if name in ("report", "report-all", "queue")]
        if read_names:
            (folder / "reads").mkdir()
            reads(folder / "reads", disputes, read_names)


if __name__ == "__main__":
    main(sys.argv[1:])
