"""HTTP cost: what the engine adds to what Flask and the database cost anyway (issue 13, item 1).

Two servers run side by side, each as ``arbitration serve`` runs (waitress, 8 threads, one
process; ``--workers=N``: gunicorn, N processes): the engine over its own database, and the bare
app of ``bench.bare`` over another, both SQLite files or (``--pg``) both PostgreSQL databases.
Four keep-alive clients (separate processes, so the client never shares a GIL with another client)
send each operation's requests as fast as they are answered:

- writes: filing, rejecting, escalating and deciding a dispute, each against the bare
  insert-and-commit endpoint (goal: at most 3x its cost, and a p99 at most 5x the median);
- reads: a dispute and a seller's standing, each against the bare select-by-id (goal: at most 2x).

A ratio is the baseline's requests per second divided by the operation's. The baselines are
measured before and after the engine's operations and the better of the two is kept, so noise on a
shared machine can only make the engine look worse. Every request must answer its success status:
one that does not stops the benchmark.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import databases
from bench.servers import server_name, start_both, stop

CLIENTS = 4
WRITE_GOAL, READ_GOAL, TAIL_GOAL = 3.0, 2.0, 5.0
RULING = {
    "outcome": "buyer_full_refund",
    "responsibility": "seller",
    "rationale": "The photos show the crack.",
}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    token: str | None = None
    body: dict[str, object] | None = None
    expect: int = 200


@dataclass(frozen=True)
class Figure:
    name: str
    per_second: float
    p50_ms: float
    p99_ms: float


def _send_all(port: int, calls: Sequence[Call]) -> list[float]:
    """One client: its calls in order over one keep-alive connection; the latency of each."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies = []
    for call in calls:
        headers = {"Authorization": f"Bearer {call.token}"} if call.token else {}
        payload = None
        if call.body is not None:
            payload = json.dumps(call.body).encode()
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        connection.request(call.method, call.path, body=payload, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - began)
        if response.status != call.expect:
            raise RuntimeError(f"{call.method} {call.path}: {response.status} {answer[:300]!r}")
    connection.close()
    return latencies


def _client(arguments: tuple[int, list[Call]]) -> list[float]:
    return _send_all(*arguments)


def run(pool: multiprocessing.pool.Pool, name: str, port: int, calls: Sequence[Call]) -> Figure:
    """Send ``calls`` from the clients (call i goes to client i mod 4) and time the whole."""
    shares = [(port, list(calls[i::CLIENTS])) for i in range(CLIENTS)]
    began = time.perf_counter()
    latencies = [latency for share in pool.map(_client, shares) for latency in share]
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return Figure(name, len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000)


def prepare_engine(url: str, sellers: int) -> dict[str, str]:
    """Migrate the engine database and add a platform, an arbitrator, and buyers and sellers."""
    return databases.with_accounts(
        url,
        [
            ("platform", "platform"),
            ("arbitrator", "arbitrator"),
            *[("buyer", f"buyer-{i}") for i in range(sellers)],
            *[("seller", f"seller-{i}") for i in range(sellers)],
        ],
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench http")
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--disputes", type=int, help="disputes per write operation")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: waitress)")
    databases.add_options(parser)
    args = parser.parse_args(argv)
    disputes = args.disputes or (200 if args.quick else 800)
    reads = disputes * 3
    sellers = 50

    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        print(f"preparing an engine database with {sellers} buyers and sellers...", flush=True)
        url = databases.new_database(folder, "engine", postgres=args.pg)
        bare_url = databases.new_database(folder, "bare", postgres=args.pg)
        tokens = prepare_engine(url, sellers)
        print(f"servers: {server_name(args.workers)} each", flush=True)
        engine, bare = start_both(folder, url, bare_url, args.workers)
        try:
            figures = measure(engine[1], bare[1], tokens, disputes, reads, sellers)
        finally:
            stop(engine, bare)
            databases.discard(url)
            databases.discard(bare_url)
    report(figures)


def measure(
    engine: int, bare: int, tokens: dict[str, str], disputes: int, reads: int, sellers: int
) -> dict[str, Figure]:
    platform, arbitrator = tokens["platform"], tokens["arbitrator"]
    buyer = [tokens[f"buyer-{i % sellers}"] for i in range(disputes)]
    seller = [tokens[f"seller-{i % sellers}"] for i in range(disputes)]
    figures: dict[str, Figure] = {}
    context = multiprocessing.get_context("fork")
    with context.Pool(CLIENTS) as pool:
        warm = [Call("GET", "/v1/openapi.json")] * CLIENTS * 5
        run(pool, "warm", engine, warm)

        def bare_baselines(round_: int) -> None:
            write = run(
                pool,
                "bare write",
                bare,
                [Call("POST", "/rows", body={"body": "x"}, expect=201)] * disputes,
            )
            ids = _bare_ids(bare, 50)
            read = run(
                pool, "bare read", bare, [Call("GET", f"/rows/{ids[i % 50]}") for i in range(reads)]
            )
            for figure in (write, read):
                best = figures.get(figure.name)
                if best is None or figure.per_second > best.per_second:
                    figures[figure.name] = figure
            print(f"baselines measured (round {round_})", flush=True)

        bare_baselines(1)
        print(f"placing {disputes} orders...", flush=True)
        orders = [f"ord-{i}" for i in range(disputes)]
        run(
            pool,
            "orders",
            engine,
            [
                Call(
                    "PUT",
                    f"/v1/orders/{order}",
                    platform,
                    {
                        "buyer_id": f"buyer-{i % sellers}",
                        "seller_id": f"seller-{i % sellers}",
                        "amount": 10_000,
                        "currency": "USD",
                        "status": "delivered",
                        "items": [
                            {
                                "listing_id": f"lst-{i}",
                                "title": "Kettle",
                                "quantity": 1,
                                "unit_price": 10_000,
                            }
                        ],
                    },
                    expect=201,
                )
                for i, order in enumerate(orders)
            ],
        )
        filing = [
            Call(
                "POST",
                "/v1/disputes",
                buyer[i],
                {
                    "order_id": order,
                    "reason": "not_as_described",
                    "remedy": "refund_only",
                    "amount": 5_000,
                },
                expect=201,
            )
            for i, order in enumerate(orders)
        ]
        figures["file"] = run(pool, "file", engine, filing)
        ids = _dispute_ids(engine, platform, disputes)

        def act(who: list[str], action: str, **body: object) -> list[Call]:
            return [
                Call("POST", f"/v1/disputes/{d}/{action}", who[i], body) for i, d in enumerate(ids)
            ]

        figures["reject"] = run(
            pool, "reject", engine, act(seller, "reject", reason="Works as described.")
        )
        figures["escalate"] = run(
            pool, "escalate", engine, act(buyer, "escalate", reason="It does not.")
        )
        print("evidence done and cases claimed...", flush=True)
        run(pool, "evidence-done", engine, act(buyer, "evidence-done"))
        run(pool, "evidence-done", engine, act(seller, "evidence-done"))
        run(pool, "claim", engine, act([arbitrator] * disputes, "claim"))
        figures["decide"] = run(
            pool, "decide", engine, act([arbitrator] * disputes, "decide", **RULING)
        )
        figures["read dispute"] = run(
            pool,
            "read dispute",
            engine,
            [
                Call("GET", f"/v1/disputes/{ids[i % disputes]}", buyer[i % disputes])
                for i in range(reads)
            ],
        )
        figures["read standing"] = run(
            pool,
            "read standing",
            engine,
            [
                Call(
                    "GET",
                    f"/v1/sellers/seller-{i % sellers}/standing",
                    tokens[f"seller-{i % sellers}"],
                )
                for i in range(reads)
            ],
        )
        bare_baselines(2)
    return figures


def _bare_ids(port: int, count: int) -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    ids = []
    for _ in range(count):
        connection.request(
            "POST", "/rows", body=b'{"body": "x"}', headers={"Content-Type": "application/json"}
        )
        ids.append(json.loads(connection.getresponse().read())["id"])
    return ids


def _dispute_ids(port: int, platform: str, count: int) -> list[str]:
    """Every dispute's id, in the order of the orders it is about (``ord-<i>``)."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    by_order: dict[str, str] = {}
    cursor = None
    while True:
        path = "/v1/disputes?limit=100" + (f"&cursor={cursor}" if cursor else "")
        connection.request("GET", path, headers={"Authorization": f"Bearer {platform}"})
        page = json.loads(connection.getresponse().read())
        by_order.update((item["order_id"], item["id"]) for item in page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if len(by_order) != count:
        raise RuntimeError(f"expected {count} disputes, listed {len(by_order)}")
    return [by_order[f"ord-{i}"] for i in range(count)]


def report(figures: dict[str, Figure]) -> None:
    print(
        f"{'operation':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'cost x':>9}{'p99/p50':>9}  verdict"
    )
    for name, figure in figures.items():
        write = name in ("file", "reject", "escalate", "decide")
        baseline = figures["bare write" if write or name == "bare write" else "bare read"]
        cost = baseline.per_second / figure.per_second
        tail = figure.p99_ms / figure.p50_ms
        if name.startswith("bare"):
            verdict = "baseline"
        else:
            goal = WRITE_GOAL if write else READ_GOAL
            misses = [f"cost > {goal:g}x"] if cost > goal else []
            if write and tail > TAIL_GOAL:
                misses.append(f"p99 > {TAIL_GOAL:g}x p50")
            verdict = "ok" if not misses else "ABOVE GOAL: " + ", ".join(misses)
        print(
            f"{name:<16}{figure.per_second:>9.0f}{figure.p50_ms:>9.1f}{figure.p99_ms:>9.1f}"
            f"{cost:>9.2f}{tail:>9.1f}  {verdict}"
        )
