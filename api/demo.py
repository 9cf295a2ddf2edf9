"""A believable marketplace for trying the engine: people, orders, and disputes at several stages.

Everything goes through the same use cases the API calls, with time moved along a clock that
starts a few days back so deadlines and timelines look lived-in. Tokens are written to a file next
to the working directory so ``make run`` can show them again on later starts.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arbitration import accounts, filing, flows, orders, refunds
from arbitration.accounts import Caller
from arbitration.clock import ManualClock, SystemClock
from arbitration.db import Database
from arbitration.models import Account
from arbitration.policy import Policy
from arbitration.sweep import sweep_due_deadlines
from evidence.service import add_statement
from reports.feedback import give_feedback

TOKENS_FILE = Path("arbitration-demo-tokens.json")
# Time between two demo moves: the whole walk fits in the 12 hours the demo clock starts back.
STEP = timedelta(minutes=15)
# The promised date of the demo's repair, from the moment the seller states it.
REPAIR_TAKES = timedelta(days=7)

PEOPLE = [
    ("platform", "platform", "Marketplace service"),
    ("admin", "admin", "Ada Admin"),
    ("arbitrator", "arbitrator", "Arun Arbitrator"),
    ("senior", "senior_arbitrator", "Sofia Senior"),
    ("trust", "trust_safety", "Tomas Trust"),
    ("alice", "buyer", "Alice Wong"),
    ("bob", "buyer", "Bob Martin"),
    ("chen", "buyer", "Chen Li"),
    ("acme-gadgets", "seller", "Acme Gadgets"),
    ("bright-home", "seller", "Bright Home Goods"),
]

# order id, buyer, seller, status, lines (listing, title, quantity, unit price in cents)
ORDERS = [
    (
        "ord-1001",
        "alice",
        "acme-gadgets",
        "delivered",
        [("lst-earbuds", "Wireless earbuds", 1, 5999)],
    ),
    ("ord-1002", "bob", "acme-gadgets", "shipped", [("lst-charger", "65W USB-C charger", 2, 2499)]),
    ("ord-1003", "chen", "bright-home", "delivered", [("lst-lamp", "Ceramic table lamp", 1, 8900)]),
    (
        "ord-1004",
        "alice",
        "bright-home",
        "delivered",
        [("lst-kettle", "Gooseneck kettle", 1, 4500)],
    ),
    ("ord-1005", "bob", "bright-home", "paid", [("lst-rug", "Wool rug 120x180", 1, 15900)]),
    ("ord-1006", "chen", "acme-gadgets", "delivered", [("lst-watch", "Smart watch", 1, 12900)]),
    ("ord-1007", "alice", "acme-gadgets", "delivered", [("lst-cable", "Braided cable 2m", 3, 899)]),
    ("ord-1008", "bob", "bright-home", "delivered", [("lst-chair", "Mesh desk chair", 1, 18900)]),
    ("ord-1009", "chen", "bright-home", "delivered", [("lst-blender", "Glass blender", 1, 7900)]),
    (
        "ord-tour",
        "alice",
        "acme-gadgets",
        "delivered",
        [("lst-speaker", "Bluetooth speaker", 1, 3999)],
    ),
    # Remedies beyond money (DESIGN §1a): an exchange under way, a repair with a promised date,
    # and the README's exchange tour.
    (
        "ord-1010",
        "chen",
        "bright-home",
        "delivered",
        [("lst-toaster", "Two-slot toaster", 1, 3900)],
    ),
    (
        "ord-1011",
        "bob",
        "acme-gadgets",
        "delivered",
        [("lst-keyboard", "Mechanical keyboard", 1, 9900)],
    ),
    (
        "ord-kettle",
        "alice",
        "bright-home",
        "delivered",
        [("lst-kettle2", "Electric kettle", 1, 5900)],
    ),
]


def _is_empty(database: Database) -> bool:
    with database.unit_of_work(read_only=True) as session:
        return not session.scalar(select(func.count()).select_from(Account))


def load_or_create(
    database: Database, *, policy: Policy, only_if_empty: bool
) -> dict[str, str] | None:
    """Create the demo (or, with ``only_if_empty`` on a used database, reread its tokens)."""
    if only_if_empty and not _is_empty(database):
        return json.loads(TOKENS_FILE.read_text()) if TOKENS_FILE.exists() else None
    tokens = create(database, policy=policy)
    TOKENS_FILE.write_text(json.dumps(tokens, indent=2) + "\n")
    return tokens


def create(database: Database, *, policy: Policy) -> dict[str, str]:
    clock = ManualClock(SystemClock().now() - timedelta(hours=12))
    tokens: dict[str, str] = {}
    with database.unit_of_work() as session:
        for account_id, role, name in PEOPLE:
            _, tokens[account_id] = accounts.create_account(
                session, role=role, display_name=name, account_id=account_id, at=clock.now()
            )
        _place_orders(session, ORDERS, at=clock.now())
    _play_history(database, policy=policy, start=clock.now() - HISTORY_BACK)
    _play_disputes(database, policy=policy, clock=clock)
    return tokens


def _place_orders(session: Session, placed: list[Any], *, at: datetime) -> None:
    """The platform sends each order's snapshot, as a marketplace would (``PUT /v1/orders``)."""
    platform = Caller(session.get_one(Account, "platform"))
    for order_id, buyer, seller, status, lines in placed:
        snapshot = orders.OrderIn(
            buyer_id=buyer,
            seller_id=seller,
            amount=sum(quantity * price for _, _, quantity, price in lines),
            currency="USD",
            status=status,
            items=tuple(orders.LineIn(*line) for line in lines),
        )
        orders.put_order(session, caller=platform, order_id=order_id, order_in=snapshot, at=at)


# Closed disputes from weeks back, so the reports have every figure (arbitration report).
HISTORY_BACK = timedelta(days=40)
HISTORY_ORDERS = [
    ("ord-0901", "alice", "acme-gadgets", "delivered", [("lst-lamp-desk", "Desk lamp", 1, 3500)]),
    ("ord-0902", "bob", "bright-home", "delivered", [("lst-kettle-2", "Electric kettle", 1, 6000)]),
    ("ord-0903", "chen", "acme-gadgets", "delivered", [("lst-case", "Phone case", 1, 1500)]),
    ("ord-0904", "alice", "bright-home", "delivered", [("lst-towels", "Bath towels", 2, 1250)]),
]


def _play_history(database: Database, *, policy: Policy, start: Any) -> None:
    """Four disputes that ended weeks ago, each a different way: the seller let the deadline pass
    (the system refunded), a ruling overturned on appeal, a late ruling that became final, and an
    offer the buyer accepted. The deadlines fire through the real sweep on a clock moved along;
    then the follow-up requests go out and the parties answer."""
    clock = ManualClock(start)

    def who(session: Session, account_id: str) -> Caller:
        return Caller(session.get_one(Account, account_id))

    with database.unit_of_work() as session:
        _place_orders(session, HISTORY_ORDERS, at=clock.now())

    def file(order_id: str, buyer: str, reason: str, amount: int, channel: str) -> str:
        clock.advance(STEP)
        with database.unit_of_work() as session:
            dispute_in = filing.DisputeIn(order_id, reason, "refund_only", amount, "", channel)
            return filing.file_dispute(
                session,
                caller=who(session, buyer),
                dispute_in=dispute_in,
                policy=policy,
                at=clock.now(),
            ).id

    def step(dispute_id: str, account_id: str, action: str, **params: Any) -> None:
        clock.advance(STEP)
        with database.unit_of_work() as session:
            flows.act(
                session,
                dispute_id=dispute_id,
                action=action,
                caller=who(session, account_id),
                params=params,
                policy=policy,
                at=clock.now(),
            )

    def wait(deadline: str | timedelta) -> None:
        """Let a policy ``[deadlines]`` duration (by name) or a span run out, and sweep."""
        now = clock.now()
        due = policy.due_after(deadline, now) if isinstance(deadline, str) else now + deadline
        clock.advance(due - now + timedelta(seconds=1))
        sweep_due_deadlines(database, policy=policy, clock=clock)

    def confirm_refund(dispute_id: str) -> None:
        clock.advance(STEP)
        with database.unit_of_work() as session:
            refunds.confirm_refund(
                session, caller=who(session, "platform"), dispute_id=dispute_id, at=clock.now()
            )

    silent = file("ord-0901", "alice", "not_received", 3500, "web")
    wait("seller_response_shipped")  # the system accepts for the silent seller
    confirm_refund(silent)

    overturned = file("ord-0902", "bob", "quality_issue", 6000, "hotline")
    step(overturned, "bright-home", "reject", reason="It boils in four minutes as listed.")
    step(overturned, "bob", "escalate", reason="It switches itself off before boiling.")
    step(overturned, "bob", "evidence-done")
    step(overturned, "bright-home", "evidence-done")
    step(overturned, "arbitrator", "claim")
    ruling = {"outcome": "seller_favored", "responsibility": "buyer"}
    step(overturned, "arbitrator", "decide", **ruling, rationale="No evidence of a fault.")
    step(overturned, "bob", "appeal", reason="The repair shop's note shows the thermostat fault.")
    step(overturned, "senior", "claim")
    replacement = {"outcome": "buyer_full_refund", "responsibility": "seller"}
    step(
        overturned,
        "senior",
        "appeal-decision",
        result="overturn",
        rationale="The repair note settles it.",
        decision={**replacement, "rationale": "A faulty thermostat: the whole price back."},
    )  # its refund is never confirmed: it shows as late in the reports

    late = file("ord-0903", "chen", "damaged", 1500, "app")
    step(late, "acme-gadgets", "reject", reason="It left us in one piece.")
    step(late, "chen", "escalate", reason="The corner is cracked.")
    step(late, "chen", "evidence-done")
    step(late, "acme-gadgets", "evidence-done")
    wait(policy.sla.decision_normal * policy.sla.senior_escalation_factor)  # past twice the SLA
    step(late, "arbitrator", "claim")
    step(
        late,
        "arbitrator",
        "decide",
        outcome="buyer_partial_refund",
        refund_amount=700,
        responsibility="logistics",
        rationale="Cracked in transit; half back.",
    )
    confirm_refund(late)
    wait("appeal_window")  # nobody appeals: the ruling becomes final

    offer = file("ord-0904", "alice", "wrong_item", 2500, "chat")
    step(offer, "bright-home", "offer", amount=1200, note="Keep them, half back?")
    step(offer, "alice", "accept-offer")

    wait("feedback_request")  # the follow-up requests go out
    answers = [
        (silent, "alice", 5, "Refunded without a fuss."),
        (silent, "acme-gadgets", 3, ""),
        (overturned, "bob", 4, "Right in the end, after an appeal."),
        (late, "chen", 2, "It took far too long."),
        (offer, "alice", 5, ""),
    ]
    for dispute_id, account_id, rating, comment in answers:
        clock.advance(STEP)
        with database.unit_of_work() as session:
            give_feedback(
                session,
                caller=who(session, account_id),
                dispute_id=dispute_id,
                rating=rating,
                comment=comment,
                at=clock.now(),
            )


def _play_disputes(database: Database, *, policy: Policy, clock: ManualClock) -> None:
    """Walk disputes to different stages, ``STEP`` apart, the way people would.

    The whole walk fits in the 12 hours the demo clock starts back, so no deadline of the default
    policy has passed when the server starts: every dispute is still where the demo left it. The
    case waiting for a ruling is already the arbitrator's, so a tour's queue claim takes its own.
    """

    def who(session: Session, account_id: str) -> Caller:
        return Caller(session.get_one(Account, account_id))

    def file(order_id: str, buyer: str, reason: str, remedy: str, amount: int, text: str) -> str:
        clock.advance(STEP)
        with database.unit_of_work() as session:
            dispute = filing.file_dispute(
                session,
                caller=who(session, buyer),
                dispute_in=filing.DisputeIn(order_id, reason, remedy, amount, text, "app"),
                policy=policy,
                at=clock.now(),
            )
            return dispute.id

    def step(dispute_id: str, account_id: str, action: str, **params: Any) -> None:
        clock.advance(STEP)
        with database.unit_of_work() as session:
            flows.act(
                session,
                dispute_id=dispute_id,
                action=action,
                caller=who(session, account_id),
                params=params,
                policy=policy,
                at=clock.now(),
            )

    file(
        "ord-1001", "alice", "not_as_described", "refund_only", 5999, "Left earbud does not charge."
    )
    rug = file("ord-1005", "bob", "not_received", "refund_only", 15900, "Ordered two weeks ago.")
    step(rug, "bright-home", "offer", amount=8000, note="Half back, the courier is late.")
    lamp = file("ord-1003", "chen", "damaged", "return_and_refund", 8900, "Lamp base cracked.")
    step(lamp, "bright-home", "accept")
    step(lamp, "chen", "ship-return", carrier="UPS", tracking_number="1Z999AA10123456784")
    kettle = file("ord-1004", "alice", "quality_issue", "refund_only", 4500, "Lid does not close.")
    step(kettle, "bright-home", "reject", reason="Works as shown in the listing video.")
    watch = file("ord-1006", "chen", "counterfeit", "refund_only", 12900, "Serial number invalid.")
    step(watch, "acme-gadgets", "reject", reason="Genuine stock from the distributor.")
    step(watch, "chen", "escalate", reason="The brand's site says the serial is fake.")
    charger = file("ord-1002", "bob", "wrong_item", "refund_only", 2499, "Got a 30W charger.")
    step(charger, "acme-gadgets", "accept")
    cable = file("ord-1007", "alice", "missing_parts", "refund_only", 899, "One cable missing.")
    step(cable, "acme-gadgets", "offer", amount=850, note="Sorry! Refunding the cable.")
    step(cable, "alice", "accept-offer")

    def state(dispute_id: str, account_id: str, text: str) -> None:
        clock.advance(STEP)
        with database.unit_of_work() as session:
            add_statement(
                session,
                caller=who(session, account_id),
                dispute_id=dispute_id,
                text=text,
                visibility="parties",
                policy=policy.evidence,
                at=clock.now(),
            )

    state(watch, "chen", "The serial ZX-4471 is listed as fake on the brand's checker.")
    chair = file("ord-1008", "bob", "not_as_described", "refund_only", 18900, "No lumbar support.")
    step(chair, "bright-home", "reject", reason="The listing never promised lumbar support.")
    step(chair, "bob", "escalate", reason="The third photo in the listing shows it.")
    state(chair, "bob", "Listing photo 3 shows an adjustable lumbar pad; mine has none.")
    state(chair, "bright-home", "Photo 3 is the deluxe model, named in its caption.")
    step(chair, "bob", "evidence-done")
    step(chair, "bright-home", "evidence-done")
    step(chair, "arbitrator", "claim")
    blender = file("ord-1009", "chen", "damaged", "refund_only", 7900, "Jug arrived cracked.")
    step(blender, "bright-home", "reject", reason="Packed in double foam; the courier broke it.")
    step(blender, "chen", "escalate")
    step(blender, "chen", "evidence-done")
    step(blender, "bright-home", "evidence-done")
    step(blender, "arbitrator", "claim")
    step(
        blender,
        "arbitrator",
        "decide",
        outcome="buyer_partial_refund",
        refund_amount=3950,
        responsibility="logistics",
        rationale="Damaged in transit; the packing was adequate. Half back, the rest on the claim.",
    )
    toaster = file("ord-1010", "chen", "damaged", "exchange", 3900, "Arrived dented; a new one.")
    step(toaster, "bright-home", "accept")
    step(toaster, "chen", "ship-return", carrier="SF Express", tracking_number="SF1010")
    step(toaster, "bright-home", "confirm-return")
    step(toaster, "bright-home", "ship-fulfilment", carrier="SF Express", tracking_number="SF2010")
    keyboard = file("ord-1011", "bob", "quality_issue", "repair", 9900, "Three keys double-type.")
    step(keyboard, "acme-gadgets", "accept")
    step(keyboard, "bob", "ship-return", carrier="UPS", tracking_number="1Z999AA10123456785")
    step(keyboard, "acme-gadgets", "confirm-return")
    step(keyboard, "acme-gadgets", "promise-repair", ready_by=clock.now() + STEP + REPAIR_TAKES)


def describe(tokens: dict[str, str] | None, *, address: str = "localhost:8000") -> str:
    if tokens is None:
        return (
            "The database already has accounts but no demo tokens file; create a token with\n"
            "  arbitration accounts create --role buyer --name 'Me'"
        )
    lines = [f'Demo tokens (try: curl -H "Authorization: Bearer $ALICE" {address}/v1/disputes):']
    for account_id, token in tokens.items():
        lines.append(f"  export {account_id.upper().replace('-', '_')}={token}")
    return "\n".join(lines)
