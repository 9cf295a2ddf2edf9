"""HTTP cost: what the engine adds to what Flask and the database cost anyway (issue 13, item 1).

Two servers run side by side, each as ``arbitration serve`` runs (waitress, 8 threads, one
process; ``--workers=N``: gunicorn, N processes): the engine over its own database, and the bare
app of ``bench.bare`` over another, both SQLite files or (``--pg``) both PostgreSQL databases.
Four keep-alive clients (separate processes, so the client never shares a GIL with another client)
send each operation's requests as fast as they are answered:

- writes: filing, rejecting, escalating and deciding a dispute, each against the bare
  insert-and-commit endpoint (goal: at most 3x its cost, and a p99 at most 5x the median);
- reads: a dispute and a seller's standing, each against the bare select-by-id (goal: at most 2x).

The engine is set up as a marketplace runs it, with a webhook endpoint for every event
(``databases.register_webhook_endpoint``): each write's webhook events wait for the delivery
job, which fans them out to it. After the rounds, that fan-out is timed too, in this process, so
the work the writes no longer do is in the report (``report_fan_out``).

The run is split into rounds (``--rounds``, 3 by default), each over its own share of the disputes.
In every round each operation is measured right after its baseline (the bare write before a write,
the bare read before a read), and the round's cost is the baseline's requests per second divided
by the operation's. The cost printed is the median of the rounds, beside their lowest and highest:
a baseline taken seconds before its operation, on the same machine in the same state, so a shared
machine's drift (figures moved by 20 % and more between minutes) cancels out instead of landing on
one side. Every request must answer its success status: one that does not stops the benchmark.

Beside the cost, each operation's server CPU time per request (user and system, read from
``/proc`` on Linux, pooled over the rounds) and its ratio to its baseline's. Under four clients
each server keeps about one core busy (one Python process, its threads taking turns on the GIL),
so the two ratios come out close; the CPU one counts what each request cost the server, not how
long it waited for the machine. On PostgreSQL it is the web process's CPU only, not the database
server's.
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

from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from api.config import Config
from arbitration.policy import load_policy
from bench import databases
from bench.servers import Server, cpu_seconds, server_name, start_both, stop

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
class Sample:
    """One timed run of one kind of request; the server's CPU time over it, where readable."""

    per_second: float
    latencies: list[float]
    cpu_seconds: float | None = None


@dataclass(frozen=True)
class Figure:
    """An operation over every round: its throughput and tail over all its requests, and its
    cost against the baseline run just before it in each round (median, lowest, highest)."""

    name: str
    per_second: float
    p50_ms: float
    p99_ms: float
    costs: tuple[float, ...] = ()
    cpu_ms: float | None = None  # the server's CPU time per request, over every round
    cpu_cost: float | None = None  # ``cpu_ms`` against the baselines' (theirs over every round)

    @property
    def cost(self) -> float:
        return statistics.median(self.costs) if self.costs else 1.0


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


def run(pool: multiprocessing.pool.Pool, port: int, calls: Sequence[Call]) -> Sample:
    """Send ``calls`` from the clients (call i goes to client i mod 4) and time the whole."""
    shares = [(port, list(calls[i::CLIENTS])) for i in range(CLIENTS)]
    began = time.perf_counter()
    latencies = [latency for share in pool.map(_client, shares) for latency in share]
    return Sample(len(latencies) / (time.perf_counter() - began), latencies)


def timed_run(pool: multiprocessing.pool.Pool, server: Server, calls: Sequence[Call]) -> Sample:
    """``run``, with the server's CPU time over it."""
    process, port = server
    before = cpu_seconds(process)
    sample = run(pool, port, calls)
    after = cpu_seconds(process)
    if before is None or after is None:
        return sample
    return Sample(sample.per_second, sample.latencies, after - before)


def figure(name: str, samples: list[Sample], baselines: list[Sample] | None = None) -> Figure:
    """Pool an operation's rounds; with ``baselines`` (one per round), its cost in each round."""
    latencies = [latency for sample in samples for latency in sample.latencies]
    elapsed = sum(len(sample.latencies) / sample.per_second for sample in samples)
    cuts = statistics.quantiles(latencies, n=100)
    costs = (
        tuple(
            baseline.per_second / sample.per_second
            for sample, baseline in zip(samples, baselines, strict=True)
        )
        if baselines is not None
        else ()
    )
    cpu_ms = _cpu_ms(samples)
    baseline_cpu_ms = _cpu_ms(baselines) if baselines is not None else None
    cpu_cost = cpu_ms / baseline_cpu_ms if cpu_ms is not None and baseline_cpu_ms else None
    return Figure(
        name, len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, costs, cpu_ms, cpu_cost
    )


def _cpu_ms(samples: list[Sample]) -> float | None:
    """The server's CPU time per request over ``samples``; None if any was not read."""
    spent = [sample.cpu_seconds for sample in samples if sample.cpu_seconds is not None]
    if not samples or len(spent) < len(samples):
        return None
    requests = sum(len(sample.latencies) for sample in samples)
    return 1000 * sum(spent) / requests


def prepare_engine(url: str, sellers: int) -> dict[str, str]:
    """Migrate the engine database and add a platform, an arbitrator, and buyers and sellers, and
    a webhook endpoint (``databases.as_a_marketplace``)."""
    return databases.as_a_marketplace(
        url,
        [
            ("platform", "platform"),
            ("arbitrator", "arbitrator"),
            *[("buyer", f"buyer-{i}") for i in range(sellers)],
            *[("seller", f"seller-{i}") for i in range(sellers)],
        ],
    )


@dataclass(frozen=True)
class InProcess:
    """The engine over a SQLite file with one party of each kind, called through Flask's test
    client (``bench.profile``, ``bench.calls``): what a request costs without a server."""

    app: Flask
    client: FlaskClient
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def in_process(folder: Path) -> InProcess:
    url = f"sqlite:///{folder / 'engine.db'}"
    tokens = prepare_engine(url, 1)
    app = create_app(Config(database_url=url, policy=load_policy(), evidence_dir=str(folder)))
    return InProcess(app, app.test_client(), tokens)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench http")
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--disputes", type=int, help="disputes per write operation")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each with its baselines")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: waitress)")
    databases.add_options(parser)
    args = parser.parse_args(argv)
    disputes = args.disputes or (240 if args.quick else 960)
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
            figures = measure(engine, bare, tokens, disputes, args.rounds, sellers)
            fanned = databases.fan_out(url)  # the servers idle now
        finally:
            stop(engine, bare)
            databases.discard(url)
            databases.discard(bare_url)
    report(figures)
    report_fan_out(fanned)


WRITES = ("file", "reject", "escalate", "decide")
READS = ("read dispute", "read standing")


def measure(
    engine_server: Server,
    bare_server: Server,
    tokens: dict[str, str],
    disputes: int,
    rounds: int,
    sellers: int,
) -> dict[str, Figure]:
    """``disputes`` orders placed, then ``rounds`` rounds, each taking its share of them through
    the writes and reading as many disputes and standings three times over."""
    engine, bare = engine_server[1], bare_server[1]  # their ports
    platform, arbitrator = tokens["platform"], tokens["arbitrator"]
    per_round = disputes // rounds
    samples: dict[str, list[Sample]] = {name: [] for name in (*WRITES, *READS)}
    baselines: dict[str, list[Sample]] = {name: [] for name in (*WRITES, *READS)}
    context = multiprocessing.get_context("fork")
    with context.Pool(CLIENTS) as pool:
        run(pool, engine, [Call("GET", "/v1/openapi.json")] * CLIENTS * 5)  # warm
        bare_rows = _bare_ids(bare, 50)
        print(f"placing {disputes} orders...", flush=True)
        run(pool, engine, [_order(i, sellers, platform) for i in range(disputes)])
        filed: list[tuple[str, str]] = []  # (dispute, its buyer's token)
        for number in range(rounds):
            chosen = range(number * per_round, (number + 1) * per_round)
            buyer = {i: tokens[f"buyer-{i % sellers}"] for i in chosen}
            seller = {i: tokens[f"seller-{i % sellers}"] for i in chosen}

            def timed(name: str, calls: list[Call]) -> None:
                if name in WRITES:
                    baseline = [Call("POST", "/rows", body={"body": "x"}, expect=201)] * len(calls)
                else:
                    baseline = [
                        Call("GET", f"/rows/{bare_rows[i % 50]}") for i in range(len(calls))
                    ]
                baselines[name].append(timed_run(pool, bare_server, baseline))
                samples[name].append(timed_run(pool, engine_server, calls))

            timed("file", [_filing(i, buyer[i]) for i in chosen])
            ids = _dispute_ids(engine, platform, [f"ord-{i}" for i in chosen])
            filed.extend((ids[i], buyer[i]) for i in chosen)

            timed("reject", _acts(ids, seller, "reject", reason="Works as described."))
            timed("escalate", _acts(ids, buyer, "escalate", reason="It does not."))
            run(pool, engine, _acts(ids, buyer, "evidence-done"))
            run(pool, engine, _acts(ids, seller, "evidence-done"))
            run(pool, engine, _acts(ids, dict.fromkeys(chosen, arbitrator), "claim"))
            timed("decide", _acts(ids, dict.fromkeys(chosen, arbitrator), "decide", **RULING))
            reads = 3 * per_round
            timed(
                "read dispute",
                [
                    Call(
                        "GET", f"/v1/disputes/{filed[i % len(filed)][0]}", filed[i % len(filed)][1]
                    )
                    for i in range(reads)
                ],
            )
            timed(
                "read standing",
                [
                    Call(
                        "GET",
                        f"/v1/sellers/seller-{i % sellers}/standing",
                        tokens[f"seller-{i % sellers}"],
                    )
                    for i in range(reads)
                ],
            )
            print(f"round {number + 1} of {rounds} measured", flush=True)
    bare_writes = [sample for name in WRITES for sample in baselines[name]]
    bare_reads = [sample for name in READS for sample in baselines[name]]
    return {
        "bare write": figure("bare write", bare_writes),
        "bare read": figure("bare read", bare_reads),
        **{name: figure(name, samples[name], baselines[name]) for name in (*WRITES, *READS)},
    }


def _order(i: int, sellers: int, platform: str) -> Call:
    return Call(
        "PUT",
        f"/v1/orders/ord-{i}",
        platform,
        {
            "buyer_id": f"buyer-{i % sellers}",
            "seller_id": f"seller-{i % sellers}",
            "amount": 10_000,
            "currency": "USD",
            "status": "delivered",
            "items": [
                {"listing_id": f"lst-{i}", "title": "Kettle", "quantity": 1, "unit_price": 10_000}
            ],
        },
        expect=201,
    )


def _acts(ids: dict[int, str], who: dict[int, str], action: str, **body: object) -> list[Call]:
    """``action`` on each dispute of ``ids``, by ``who`` of the same ``i``."""
    return [Call("POST", f"/v1/disputes/{ids[i]}/{action}", who[i], body) for i in ids]


def _filing(i: int, buyer: str) -> Call:
    body = {"order_id": f"ord-{i}", "reason": "not_as_described", "remedy": "refund_only"}
    return Call("POST", "/v1/disputes", buyer, body | {"amount": 5_000}, expect=201)


def _bare_ids(port: int, count: int) -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    ids = []
    for _ in range(count):
        connection.request(
            "POST", "/rows", body=b'{"body": "x"}', headers={"Content-Type": "application/json"}
        )
        ids.append(json.loads(connection.getresponse().read())["id"])
    return ids


def _dispute_ids(port: int, platform: str, orders: list[str]) -> dict[int, str]:
    """The disputes about ``orders`` (``ord-<i>``), by ``i``."""
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
    missing = [order for order in orders if order not in by_order]
    if missing:
        raise RuntimeError(f"no dispute listed about {missing[:5]} ({len(missing)} in all)")
    return {int(order.removeprefix("ord-")): by_order[order] for order in orders}


def report(figures: dict[str, Figure]) -> None:
    print(
        f"{'operation':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'cost x':>9}{'rounds':>13}"
        f"{'p99/p50':>9}{'cpu ms':>8}{'cpu x':>7}  verdict"
    )
    for name, measured in figures.items():
        write = name in WRITES
        tail = measured.p99_ms / measured.p50_ms
        spread = f"{min(measured.costs):.2f}-{max(measured.costs):.2f}" if measured.costs else ""
        if name.startswith("bare"):
            verdict = "baseline"
        else:
            goal = WRITE_GOAL if write else READ_GOAL
            misses = [f"cost > {goal:g}x"] if measured.cost > goal else []
            if write and tail > TAIL_GOAL:
                misses.append(f"p99 > {TAIL_GOAL:g}x p50")
            verdict = "ok" if not misses else "ABOVE GOAL: " + ", ".join(misses)
        cpu_ms = "" if measured.cpu_ms is None else f"{measured.cpu_ms:.2f}"
        cpu_cost = "" if measured.cpu_cost is None else f"{measured.cpu_cost:.2f}"
        if name.startswith("bare") and measured.cpu_ms is not None:
            cpu_cost = "1.00"
        print(
            f"{name:<16}{measured.per_second:>9.0f}{measured.p50_ms:>9.1f}{measured.p99_ms:>9.1f}"
            f"{measured.cost:>9.2f}{spread:>13}{tail:>9.1f}{cpu_ms:>8}{cpu_cost:>7}  {verdict}"
        )
    print("(cost: the median of the rounds' costs, each against the baseline run just before it;")
    print(" cpu: the server's CPU time per request over the rounds, and against its baselines')")


def report_fan_out(fanned: databases.FanOut) -> None:
    """What the delivery job then does with the events the writes stored (off every request's
    path): its CPU time an event, and a ruling's three events', to set beside the ruling's."""
    print(
        f"fan-out afterwards (the delivery job's first step, in this process): {fanned.events} "
        f"events, {fanned.deliveries} deliveries in {fanned.seconds:.2f} s; "
        f"{fanned.cpu_us_an_event:.0f} us of CPU an event "
        f"(a ruling's three: {3 * fanned.cpu_us_an_event / 1000:.2f} ms)"
    )
