"""Reads and filings cost the same however many disputes there are (issue 13, item 5).

Two measurements, each a ratio of a large case to a small one measured in the same run (goal: at
most 1.5), through ``arbitration serve`` (waitress, one process, SQLite; ``--pg``: PostgreSQL)
and one keep-alive client:

- the queue's first page (``GET /v1/queue``), filtered lists (``GET /v1/disputes?status=`` of an
  open state and of ``closed``, the whole history; a seller's disputes, all and those waiting on
  them, among a million of theirs), the public decisions and the summary report (``GET
  /v1/reports/summary``, its default period: the last 30 days) with 10,000 disputes and with
  1,000,000 (``--quick``: 100,000), each database with the statistics it has in production
  (``databases.as_in_production``: none on SQLite, PostgreSQL's autovacuum's);
- filing a dispute on a listing that already has 10 open disputes of the same reason (a batch) and
  on one that has 10,000;
- the writes of a contested case at both sizes: filing a dispute, then (untimed: rejecting,
  escalating, both parties' evidence done, the arbitrator claiming it) ruling on it. Every write
  puts its rows into tables and indexes that hold a row for each dispute, so their depth and
  the pages a write touches grow with the table, if anything does.

An all-time report (``since`` far back) is printed on its own line at both sizes, not held to the
goal: it aggregates the whole table, so it is linear by nature.

The disputes are cloned in SQL from one filed through the real use case (so a million takes a
minute, not hours). They are filed at one constant rate, ``DAILY_RATE`` a day back from now, so the
small database is a month of history and the large one the same marketplace eight years later.
The statuses: disputes of the last month are half closed and half spread over the open states
(``STATUS_BY_TENTH``, so 10 % of them wait for a ruling); older ones are closed, except one in a
hundred (``STRAGGLERS``: cases stuck for years, rare but real) that keeps the same spread, so the
queue and the filtered list at the large size hold the month's open cases plus about as many old
ones. Every clone is one seller's (``SELLER``, whose inbox is timed); every decided clone and one
closed clone in five carry a ruling (the public decisions list ruled cases only). A closed dispute closed 1 to 72 hours after it was filed (never after now). Clone ids sort
by filing time, as the engine's ULIDs do. The two batches are cloned the same way onto their
listings, already flagged systemic, filed now.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from api.config import Config
from api.wiring import build
from arbitration.clock import ManualClock
from arbitration.models import Dispute
from arbitration.policy import load_policy
from bench import databases
from bench.http_cost import RULING
from bench.lifecycles import Client, order_body
from bench.servers import start_engine, stop
from tests.support.seed import seed_disputes

GOAL = 1.5
SMALL = 10_000
# One marketplace's filing rate: the small database is 30 days of it.
DAILY_RATE = SMALL / 30
SECONDS_APART = 86_400 / DAILY_RATE
# Of the disputes older than the small database's month, this share keeps the month's status spread
# (the rest are closed).
STRAGGLERS = 0.01
BATCHES = (10, 10_000)
SELLER = "seller-0"  # every clone's seller (a token of the benchmark's)
RULED_OF_CLOSED = 5  # one closed dispute in five was ruled; the others settled or timed out
# Half closed, the rest over the open states the queue and the lists show.
STATUS_BY_TENTH = (
    "closed",
    "closed",
    "closed",
    "closed",
    "closed",
    "awaiting_seller",
    "seller_rejected",
    "gathering_evidence",
    "awaiting_decision",
    "decided",
)
# (name, path, who: a token's key, or "" for none). Every clone is ``SELLER``'s: the seller's
# inbox reads one seller's million-dispute history.
READS: tuple[tuple[str, str, str], ...] = (
    ("queue first page", "/v1/queue", "arbitrator"),
    ("disputes?status=", "/v1/disputes?status=awaiting_decision", "platform"),
    ("closed disputes", "/v1/disputes?status=closed", "platform"),
    ("a seller's disputes", "/v1/disputes", "seller-0"),
    ("a seller's inbox", "/v1/disputes?status=awaiting_seller", "seller-0"),
    ("public decisions", "/v1/public/decisions", ""),
    ("report summary", "/v1/reports/summary", "platform"),
)
# The writes timed at both sizes (``time_writes``).
WRITES = ("file a dispute", "a ruling")
# Not held to the goal: an all-time report aggregates the whole table.
ALL_TIME = ("report all time", "/v1/reports/summary?since=2000-01-01T00:00:00Z", "platform")


@dataclass(frozen=True)
class Timing:
    requests: int
    mean_ms: float
    p50_ms: float


def _status_case(column: str = "n.i") -> str:
    """The month's spread for the last ``SMALL`` disputes and the stragglers; closed otherwise."""
    whens = " ".join(
        f"WHEN {tenth} THEN '{status}'" for tenth, status in enumerate(STATUS_BY_TENTH)
    )
    spread = f"CASE {column} % 10 {whens} END"
    # Every hundredth block of ten keeps the spread: one in a hundred, with every status.
    per_thousand = round(STRAGGLERS * 1000)
    recent = f"{column} < {SMALL} OR {column} % 1000 < {per_thousand}"
    return f"CASE WHEN {recent} THEN {spread} ELSE 'closed' END"


def _clone_disputes(
    engine: Engine,
    template: str,
    prefix: str,
    count: int,
    listing: str | None,
    status: str,
    seller: str | None = None,
) -> None:
    """``count`` copies of the template dispute with its order, order line and dispute line, each
    ``seller``'s (by default the template's)."""
    listing_sql = f"'{listing}'" if listing else f"'{prefix}-lst-' || n.i"
    order = f"'{prefix}-o-' || n.i"
    # Numbered newest first, so that ids sort by filing time like the engine's (ULIDs): a list by
    # id, newest first, meets the recent disputes first, as it would in production.
    dispute = f"'{prefix}-d-' || {databases.zero_padded(engine, ':count - n.i', 9)}"
    series, join = databases.numbered(engine)
    systemic = "TRUE" if listing else "t.systemic"
    scope = "'batch'" if listing else "t.scope"
    statements = [
        f"""{series} INSERT INTO orders (id, buyer_id, seller_id, amount, currency, status,
            refunded_amount, created_at, updated_at)
            SELECT {order}, buyer_id, COALESCE(:seller, seller_id), amount, currency, status,
            refunded_amount,
            created_at, updated_at FROM orders AS t {join}
            WHERE t.id = (SELECT order_id FROM disputes WHERE id = :template)""",
        f"""{series} INSERT INTO order_items (order_id, position, listing_id, title, quantity,
            unit_price)
            SELECT {order}, position, {listing_sql}, title, quantity, unit_price
            FROM order_items AS t {join}
            WHERE t.order_id = (SELECT order_id FROM disputes WHERE id = :template)""",
    ]
    columns = [column.name for column in Dispute.__table__.columns]
    overrides = {
        "id": dispute,
        "order_id": order,
        "seller_id": "COALESCE(:seller, t.seller_id)",
        "status": status,
        "open_order_id": f"CASE WHEN ({status}) = 'closed' THEN NULL ELSE {order} END",
        "closed_at": f"CASE WHEN ({status}) = 'closed' THEN t.updated_at ELSE NULL END",
        "outcome": f"CASE WHEN ({status}) IN ('closed', 'decided') THEN 'buyer_full_refund' END",
        "sla_due_at": f"CASE WHEN ({status}) = 'awaiting_decision' THEN t.created_at END",
        "systemic": systemic,
        "scope": scope,
    }
    if listing is None:
        # Filed at the marketplace's constant rate, the i-th clone i steps before the template;
        # closed 1 to 72 hours after filing, never after now (the template's filing time).
        filed = databases.moved(engine, "t.created_at", f"-CAST(n.i * {SECONDS_APART} AS INTEGER)")
        closed = databases.earlier(
            engine, databases.moved(engine, filed, "(n.i % 72 + 1) * 3600"), "t.created_at"
        )
        overrides |= {
            "created_at": filed,
            "updated_at": f"CASE WHEN ({status}) = 'closed' THEN {closed} ELSE {filed} END",
            "closed_at": f"CASE WHEN ({status}) = 'closed' THEN {closed} ELSE NULL END",
            "sla_due_at": f"CASE WHEN ({status}) = 'awaiting_decision' THEN {filed} END",
        }
    select_list = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    statements.append(
        f"""{series} INSERT INTO disputes ({", ".join(columns)})
            SELECT {select_list} FROM disputes AS t {join} WHERE t.id = :template"""
    )
    statements.append(
        f"""{series} INSERT INTO dispute_items (dispute_id, listing_id, quantity, value)
            SELECT {dispute}, {listing_sql}, quantity, value FROM dispute_items AS t {join}
            WHERE t.dispute_id = :template"""
    )
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(
                text(statement), {"count": count, "template": template, "seller": seller}
            )


def _rule(engine: Engine, prefix: str, arbitrator: str) -> None:
    """A ruling by ``arbitrator`` for every decided clone and for one closed clone in
    ``RULED_OF_CLOSED``: the public decisions show the ruled cases only, so a database where none
    was ruled would make them walk the whole history."""
    number = f"CAST(substr(id, {len(prefix) + 4}) AS INTEGER)"  # after "<prefix>-d-"
    ruled = (
        f"id LIKE '{prefix}-d-%' AND (status = 'decided'"
        f" OR (status = 'closed' AND {number} % {RULED_OF_CLOSED} = 0))"
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                f"""INSERT INTO decisions (id, dispute_id, kind, outcome, refund_amount,
                return_required, responsibility, rationale, arbitrator_id, decided_at)
                SELECT 'dcs-' || id, id, 'ruling', 'buyer_full_refund', amount, FALSE, 'seller',
                'Cloned.', :arbitrator, updated_at FROM disputes WHERE {ruled}"""
            ),
            {"arbitrator": arbitrator},
        )
        connection.execute(text(f"UPDATE disputes SET decision_id = 'dcs-' || id WHERE {ruled}"))


def build_database(
    folder: Path, size: int, batches: bool, *, postgres: bool = False
) -> tuple[str, dict[str, str]]:
    """``size`` disputes, or (``batches``) the template and the two batches only; a webhook
    endpoint registered, as a marketplace runs the engine (its writes' events wait for it)."""
    url = databases.new_database(folder, f"growth-{size}-{batches}", postgres=postgres)
    tokens = databases.as_a_marketplace(
        url,
        [
            ("platform", "platform"),
            ("arbitrator", "arbitrator"),
            ("buyer", "buyer-0"),
            ("seller", "seller-0"),
        ],
    )
    policy = load_policy()
    clock = ManualClock(datetime.now(UTC))
    services = build(Config(database_url=url, policy=policy, clock=clock))
    (template,) = seed_disputes(
        services.database, policy=policy, count=1, at=clock.now(), prefix="t"
    )
    engine = services.database.engine
    if size > 1:
        _clone_disputes(engine, template, "fill", size - 1, None, _status_case(), SELLER)
        _rule(engine, "fill", "arbitrator")
    if batches:
        for batch in BATCHES:
            _clone_disputes(
                engine, template, f"b{batch}", batch, f"hot-{batch}", "'awaiting_seller'", SELLER
            )
    databases.as_in_production(engine)
    services.database.dispose()
    return url, tokens


def time_reads(
    port: int,
    tokens: dict[str, str],
    count: int,
    budget: float,
    measured: tuple[tuple[str, str, str], ...] = (*READS, ALL_TIME),
) -> dict[str, Timing]:
    """Each read ``count`` times (at least 5, fewer if it takes more than ``budget`` seconds)."""
    timings = {}
    for name, path, who in measured:
        client = Client(port)
        for _ in range(1 if (name, path, who) == ALL_TIME else 3):  # warm
            client.send("GET", path, tokens.get(who))
        client.latencies.clear()
        began = time.perf_counter()
        while len(client.latencies) < count:
            client.send("GET", path, tokens.get(who))
            if len(client.latencies) >= 5 and time.perf_counter() - began > budget:
                break
        timings[name] = _timing(client.latencies)
    return timings


def time_filings(port: int, tokens: dict[str, str], listing: str, first: int, count: int) -> Timing:
    """File ``count`` disputes on ``listing``, each on its own order (placed first, untimed)."""
    client = Client(port)
    for number in range(first, first + count):
        body = order_body(0, listing) | {"buyer_id": "buyer-0", "seller_id": "seller-0"}
        client.send("PUT", f"/v1/orders/ord-{number}", tokens["platform"], body, expect=201)
    client.latencies.clear()
    for number in range(first, first + count):
        client.send(
            "POST",
            "/v1/disputes",
            tokens["buyer-0"],
            {
                "order_id": f"ord-{number}",
                "reason": "damaged",
                "remedy": "refund_only",
                "amount": 1_000,
            },
            expect=201,
        )
    return _timing(client.latencies)


def time_writes(port: int, tokens: dict[str, str], count: int) -> dict[str, Timing]:
    """``count`` cases taken from filing to a ruling (the buyer and the seller are the template's,
    each on an order of its own, placed first); the filings and the rulings timed."""
    client = Client(port)
    platform, buyer, seller = tokens["platform"], tokens["buyer-0"], tokens["seller-0"]
    arbitrator = tokens["arbitrator"]
    for number in range(count):
        body = order_body(0, f"w-lst-{number}") | {"buyer_id": "buyer-0", "seller_id": "seller-0"}
        client.send("PUT", f"/v1/orders/w-{number}", platform, body, expect=201)
    filing = {"reason": "damaged", "remedy": "refund_only", "amount": 1_000}
    client.latencies.clear()
    filed = [
        json.loads(
            client.send("POST", "/v1/disputes", buyer, filing | {"order_id": f"w-{n}"}, expect=201)
        )["id"]
        for n in range(count)
    ]
    timings = {WRITES[0]: _timing(client.latencies)}
    for who, action, body in (
        (seller, "reject", {"reason": "Works as described."}),
        (buyer, "escalate", {"reason": "It does not."}),
        (buyer, "evidence-done", {}),
        (seller, "evidence-done", {}),
        (arbitrator, "claim", {}),
    ):
        for dispute_id in filed:
            client.send("POST", f"/v1/disputes/{dispute_id}/{action}", who, body)
    client.latencies.clear()
    ruling = RULING | {"refund_amount": filing["amount"]}
    for dispute_id in filed:
        client.send("POST", f"/v1/disputes/{dispute_id}/decide", arbitrator, ruling)
    timings[WRITES[1]] = _timing(client.latencies)
    return timings


def _timing(latencies: list[float]) -> Timing:
    return Timing(
        len(latencies), statistics.fmean(latencies) * 1e3, statistics.median(latencies) * 1e3
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench growth")
    parser.add_argument("--quick", action="store_true", help="100,000 disputes, not 1,000,000")
    parser.add_argument("--reads", type=int, default=200, help="requests per read (default 200)")
    parser.add_argument("--filings", type=int, default=100, help="filings per batch (default 100)")
    parser.add_argument(
        "--writes", type=int, default=200, help="cases filed and ruled at each size (default 200)"
    )
    parser.add_argument("--large", type=int, help="the large size (default 1,000,000)")
    databases.add_options(parser)
    parser.add_argument("--queue-only", action="store_true", help="only the queue's first page")
    args = parser.parse_args(argv)
    measured = READS[:1] if args.queue_only else (*READS, ALL_TIME)
    large = args.large or (100_000 if args.quick else 1_000_000)
    timings: dict[int | str, dict[str, Timing]] = {}
    filings: dict[int, Timing] = {}
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        for size in (SMALL, large) if args.queue_only else (SMALL, large, "batches"):
            if size == "batches":
                print(
                    f"loading batches of {' and '.join(f'{b:,}' for b in BATCHES)}...", flush=True
                )
                url, tokens = build_database(folder, 1, batches=True, postgres=args.pg)
            else:
                print(f"loading {size:,} disputes...", flush=True)
                began = time.perf_counter()
                url, tokens = build_database(folder, size, batches=False, postgres=args.pg)
                print(f"  built in {time.perf_counter() - began:.0f}s", flush=True)
            server = start_engine(folder, url)
            port = server[1]
            try:
                if size != "batches":
                    timings[size] = time_reads(port, tokens, args.reads, 30, measured)
                    if not args.queue_only:
                        print(f"filing and ruling {args.writes} cases...", flush=True)
                        timings[size] |= time_writes(port, tokens, args.writes)
                    continue
                for index, batch in enumerate(BATCHES):
                    print(f"filing {args.filings} into a batch of {batch:,}...", flush=True)
                    first = index * args.filings
                    filings[batch] = time_filings(port, tokens, f"hot-{batch}", first, args.filings)
            finally:
                stop(server)
                databases.discard(url)
    report(timings, filings, large)


def report(
    timings: dict[int | str, dict[str, Timing]], filings: dict[int, Timing], large: int
) -> None:
    """Each request's mean at both sizes, and their ratio against the goal; the all-time report
    on a line of its own."""
    print(f"{'request':<20}{'at 10,000':>12}{f'at {large:,}':>16}{'ratio':>8}  verdict (mean ms)")
    held = [name for name in (*(name for name, _, _ in READS), *WRITES) if name in timings[large]]
    rows = [(name, timings[SMALL][name], timings[large][name]) for name in held]
    if filings:
        rows.append(("file into a batch", filings[BATCHES[0]], filings[BATCHES[1]]))
    for name, small, big in rows:
        ratio = big.mean_ms / small.mean_ms
        verdict = "ok" if ratio <= GOAL else "ABOVE GOAL"
        print(f"{name:<20}{small.mean_ms:>12.1f}{big.mean_ms:>16.1f}{ratio:>8.2f}  {verdict}")
    name = ALL_TIME[0]
    if name in timings[large]:
        small, big = timings[SMALL][name], timings[large][name]
        ratio = big.mean_ms / small.mean_ms
        print(
            f"{name:<20}{small.mean_ms:>12.1f}{big.mean_ms:>16.1f}{ratio:>8.2f}"
            "  (not held to the goal: linear by nature)"
        )
    counted = ", ".join(f"{n} x{timing.requests}" for n, timing in timings[large].items())
    print(
        f"(the batch row: filing with {BATCHES[0]:,} and with {BATCHES[1]:,} open disputes on the "
        f"listing; requests: {counted} at the large size; the report's default period is the last "
        f"30 days, {DAILY_RATE:,.0f} disputes a day)"
    )
