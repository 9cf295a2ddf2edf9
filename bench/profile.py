"""Profiles of the growth benchmark's worst cases, in process through Flask's test client.

``python -m bench.profile [batch] [report] [report-all] [queue] [--disputes=300000]``:
pyinstrument (not a project dependency: ``.venv/bin/pip install pyinstrument``) over 30 filings
into a batch of 10,000 open disputes, or 3 summary reports (of the default period, or of all
time), or 3 first pages of the queue, on the databases
``bench.growth`` builds. The profiler's 1 ms sampling inflates the times; the shape is the point.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pyinstrument import Profiler

from api.app import create_app
from api.config import Config
from arbitration.policy import load_policy
from bench.growth import build_database
from bench.lifecycles import order_body

FILINGS = 30


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


def main(argv: list[str]) -> None:
    names = [arg for arg in argv if not arg.startswith("-")] or ["batch", "report", "queue"]
    disputes = 300_000
    for arg in argv:
        if arg.startswith("--disputes="):
            disputes = int(arg.split("=", 1)[1])
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        if "batch" in names:
            (folder / "batch").mkdir()
            batch(folder / "batch")
        read_names = [name for name in names if name in ("report", "report-all", "queue")]
        if read_names:
            (folder / "reads").mkdir()
            reads(folder / "reads", disputes, read_names)


if __name__ == "__main__":
    main(sys.argv[1:])
