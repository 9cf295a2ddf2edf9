"""A server's resident memory stays flat under load (issue 13, item 6).

One ``arbitration serve`` process (waitress, SQLite; ``--pg``: PostgreSQL) under two phases, its
resident size (VmRSS from ``/proc/<pid>/status``) sampled every second:

1. sustained mixed load for ten minutes (``--quick``: two): two clients (separate processes,
   keep-alive) each loop over placing an order, a full contested lifecycle, reading the dispute,
   the queue's first page and the seller's standing, and listing disputes. The baseline is the
   second minute's mean RSS (the first is warm-up: imports, caches, the pool filling); the figure is
   the last minute's, and the goal is a ratio within 10 %.
2. a stream of near-limit request bodies, just under ``limits.max_json_body`` (1 MiB): filings
   padded with JSON whitespace (valid, answered 201) alternating with filings whose description is
   a 1 MiB string (refused by the schema, 422). The baseline is the RSS before the stream; the
   figures are the peak during it and the RSS after it.

Every request must answer its expected status: one that does not stops the benchmark.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import threading
import time
from pathlib import Path

from arbitration.policy import load_policy
from bench import databases
from bench.lifecycles import Client, lifecycle, order_body, prepare
from bench.servers import start_engine, stop

CLIENTS = 2
GOAL = 1.10


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class Sampler(threading.Thread):
    """Records ``(seconds since start, RSS KiB)`` of a process every second until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self.stopped = threading.Event()
        self.began = time.monotonic()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append((time.monotonic() - self.began, rss_kib(self.pid)))
            self.stopped.wait(1.0)

    def mean_between(self, start: float, end: float) -> float:
        return statistics.fmean(kib for at, kib in self.samples if start <= at < end)


def _mixed_load(args: tuple[int, dict[str, str], int, float]) -> int:
    """One client's loop until ``until`` (monotonic): what a busy marketplace sends."""
    port, tokens, index, until = args
    client = Client(port)
    number = index
    while time.monotonic() < until:
        party = number % 50
        client.send(
            "PUT", f"/v1/orders/ord-{number}", tokens["platform"], order_body(number), expect=201
        )
        lifecycle(client, tokens, number, tokens[f"arbitrator-{index}"])
        client.send(
            "GET",
            f"/v1/disputes?buyer_id=buyer-{party}&limit=20",
            tokens["platform"],
        )
        client.send("GET", "/v1/queue", tokens[f"arbitrator-{index}"])
        client.send("GET", f"/v1/sellers/seller-{party}/standing", tokens[f"seller-{party}"])
        number += CLIENTS
    return len(client.latencies)


def _near_limit_stream(port: int, tokens: dict[str, str], count: int, limit: int) -> None:
    client = Client(port)
    for i in range(count):
        number = 1_000_000 + i
        party = number % 50
        client.send(
            "PUT", f"/v1/orders/ord-{number}", tokens["platform"], order_body(number), expect=201
        )
        filing = {
            "order_id": f"ord-{number}",
            "reason": "damaged",
            "remedy": "refund_only",
            "amount": 1_000,
        }
        body = json.dumps(filing).encode()
        if i % 2:
            filing["description"] = ""
            body = json.dumps(filing).encode()
            body = body.replace(b'""', b'"' + b"x" * (limit - 64 - len(body)) + b'"')
            expect = 422
        else:
            body = body[:-1] + b" " * (limit - 64 - len(body)) + b"}"
            expect = 201
        assert limit - 128 < len(body) < limit, len(body)
        client.send("POST", "/v1/disputes", tokens[f"buyer-{party}"], raw=body, expect=expect)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench memory")
    parser.add_argument("--quick", action="store_true", help="two minutes of load, not ten")
    parser.add_argument("--minutes", type=float, help="minutes of sustained load (default 10)")
    parser.add_argument("--bodies", type=int, default=200, help="near-limit bodies (default 200)")
    databases.add_options(parser)
    args = parser.parse_args(argv)
    minutes = args.minutes or (2 if args.quick else 10)
    limit = load_policy().limits.max_json_body
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        print("preparing an engine database...", flush=True)
        url = databases.new_database(folder, "engine", postgres=args.pg)
        tokens = prepare(url, CLIENTS)
        server, port = start_engine(folder, url)
        try:
            sampler = Sampler(server.pid)
            sampler.start()
            seconds = minutes * 60
            print(f"sustained mixed load for {minutes:g} minute(s)...", flush=True)
            until = time.monotonic() + seconds
            context = multiprocessing.get_context("fork")
            with context.Pool(CLIENTS) as pool:
                pending = pool.map_async(
                    _mixed_load, [(port, tokens, i, until) for i in range(CLIENTS)]
                )
                while not pending.ready():
                    pending.wait(60)
                    if not pending.ready():
                        at, kib = sampler.samples[-1]
                        print(f"  {at / 60:.0f} min: RSS {kib / 1024:.1f} MiB", flush=True)
                requests = sum(pending.get())
            second = sampler.mean_between(60, 120)
            last = sampler.mean_between(seconds - 60, seconds)
            print(f"near-limit bodies: {args.bodies} of just under {limit:,} bytes...", flush=True)
            before = rss_kib(server.pid)
            mark = len(sampler.samples)
            _near_limit_stream(port, tokens, args.bodies, limit)
            time.sleep(2)
            after = rss_kib(server.pid)
            peak = max([kib for _, kib in sampler.samples[mark:]] + [after])
            sampler.stopped.set()
        finally:
            stop((server, port))
            databases.discard(url)
    ratio = last / second
    verdict = "ok" if ratio <= GOAL else "ABOVE GOAL"
    print(
        f"sustained load ({requests:,} requests in {minutes:g} min): RSS second minute "
        f"{second / 1024:.1f} MiB, last minute {last / 1024:.1f} MiB, ratio {ratio:.3f} "
        f"(goal <= {GOAL:.2f}: {verdict})"
    )
    ratio = after / before
    verdict = "ok" if ratio <= GOAL else "ABOVE GOAL"
    print(
        f"near-limit bodies ({args.bodies}): RSS before {before / 1024:.1f} MiB, peak "
        f"{peak / 1024:.1f} MiB, after {after / 1024:.1f} MiB, ratio after/before {ratio:.3f} "
        f"(goal <= {GOAL:.2f}: {verdict})"
    )
