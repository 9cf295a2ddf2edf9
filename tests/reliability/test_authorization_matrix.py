"""Who may call what (DESIGN §9): every route, every caller, own / another party's / no such
resource → the status the matrix below states, and nothing of another party's in the answer.

The routes come from the app's URL map: a route without a row in ``ROUTES`` fails
``test_every_route_has_a_row``, so whoever adds one must say who may call it. Each row names the
resource its id comes from (a dispute at some stage, an evidence item, a penalty, an account...)
and, per variant, one status per caller in ``CALLERS`` order:

- ``own``: the resource of the callers' own marketplace (cast A: their buyer, their seller, the
  arbitrator and senior arbitrator the case is assigned to);
- ``other``: the same kind of resource in another marketplace (cast B: other parties, a case
  assigned to other arbitrators);
- ``missing``: an id of the same shape that names nothing;
- a few extra variants (``self``, ``staff``, ``hidden``) where a route has another question.

Beyond the status, every case checks: a refusal is in the one error shape and changed nothing; a
refusal of another party's resource is byte for byte the refusal of a resource that does not exist
(the id aside), so probing tells a stranger nothing; lists hold only what the caller may see;
evidence bytes and ``arbitrators_only`` items reach only who may see them.

One small world is built per module (over its own copy of the migrated database, on SQLite or
PostgreSQL as the suite runs), and refusals leave it untouched. A case whose answer is a success
that would change the world (an action, a review) runs on a fresh copy of its resource instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from sqlalchemy import make_url, text
from werkzeug.test import TestResponse

from api.app import create_app
from api.config import Config
from arbitration.clock import ManualClock
from arbitration.policy import load_policy
from tests.conftest import _TEMPLATE, POSTGRES_ADMIN_URL, _postgres_admin
from tests.support.assertions import assert_error
from tests.support.authorization_world import HIDDEN_TEXT, RULING, Cast, Matrix
from tests.support.evidence import PNG

CALLERS = (
    "buyer",
    "seller",
    "arbitrator",
    "senior_arbitrator",
    "trust_safety",
    "platform",
    "admin",
    "platform_for_buyer",  # the platform's token with On-Behalf-Of: the buyer
    "platform_for_seller",  # ... On-Behalf-Of: the seller
    "anonymous",  # no Authorization header
)
# Callers whose view is their party's: they see their own marketplace's things and nothing else.
PARTY_SCOPED = frozenset({"buyer", "seller", "platform_for_buyer", "platform_for_seller"})
STRANGER_VARIANTS = frozenset({"other", "missing"})

# The matrix ----------------------------------------------------------------------------------


def codes(row: str) -> tuple[frozenset[int], ...]:
    """One status per caller, in ``CALLERS`` order; ``200|201`` admits either."""
    cells = row.split()
    assert len(cells) == len(CALLERS), row
    return tuple(frozenset(int(code) for code in cell.split("|")) for cell in cells)


@dataclass(frozen=True)
class Route:
    """Who may call one route: the resource its id names, and per variant one status per caller.

    ``resource`` keys ``Cast.ids`` (``None``: the route names no resource); ``variants`` maps a
    variant (``own``, ``other``, ``missing``, or an extra one listed in ``VARIANT_RESOURCES``) to
    its row. ``mutates``: a success changes what other cases rely on, so it runs on a fresh copy.
    """

    resource: str | None
    variants: dict[str, str]
    body: Callable[[Target], Any] | None = None
    query: Callable[[Target], dict[str, str]] | None = None
    mutates: bool = False
    check: Callable[[Case, TestResponse], None] | None = None
    fixed: dict[str, str] = field(default_factory=dict)  # other path parameters: Cast.ids keys


#                        buyer seller  arb senior  t&s platf admin p→buy p→sel anon
ALL_404 = "                 404   404   404   404   404   404   404   404   404   401"
# A dispute action: the parties of another marketplace cannot see the dispute (404); staff and
# the platform see it but are not the actor (409, with what they may do); nobody sees no dispute.
SELLER_ACTS = {
    "own": "            409   200   409   409   409   409   409   409   200   401",
    "other": "          404   404   409   409   409   409   409   404   404   401",
    "missing": ALL_404,
}
BUYER_ACTS = {
    "own": "            200   409   409   409   409   409   409   200   409   401",
    "other": "          404   404   409   409   409   409   409   404   404   401",
    "missing": ALL_404,
}
BOTH_PARTIES_ACT = {
    "own": "            200   200   409   409   409   409   409   200   200   401",
    "other": "          404   404   409   409   409   409   409   404   404   401",
    "missing": ALL_404,
}
# Only the arbitrator the case is assigned to; another arbitrator is forbidden (DESIGN §4: 403).
ASSIGNED_ARBITRATOR_ACTS = {
    "own": "            409   409   200   403   409   409   409   409   409   401",
    "other": "          404   404   403   403   409   409   409   404   404   401",
    "missing": ALL_404,
}
# Whoever may see a dispute reads it and its timeline.
READ_DISPUTE = {
    "own": "            200   200   200   200   200   200   200   200   200   401",
    "other": "          404   404   200   200   200   200   200   404   404   401",
    "missing": ALL_404,
}
# Trust & safety's review of a penalty: the role is checked before the penalty is looked up.
TRUST_SAFETY_REVIEWS = {
    "own": "            403   403   403   403   200   403   403   403   403   401",
    "other": "          403   403   403   403   200   403   403   403   403   401",
    "missing": "        403   403   403   403   404   403   403   403   403   401",
}
# A seller's record: the seller (also through the platform) and the overseers (T&S, the platform,
# admins). An id that names no seller is a 404 to everyone.
SELLER_RECORD = {
    "own": "            404   200   404   404   200   200   200   404   200   401",
    "other": "          404   404   404   404   200   200   200   404   404   401",
    "missing": "        404   404   404   404   404   404   404   404   404   401",
}
PUBLIC = {"own": "      200   200   200   200   200   200   200   200   200   200"}
# A buyer's record (DESIGN §5a): the buyer (also through the platform), staff and the platform;
# never a seller. An id that names no buyer is a 404 to everyone.
BUYER_RECORD = {
    "own": "            200   404   200   200   200   200   200   200   404   401",
    "other": "          404   404   200   200   200   200   200   404   404   401",
    "missing": ALL_404,
}
# Trust & safety lift or confirm a buyer's review flag; who may not see the buyer gets a 404.
BUYER_REVIEW = {
    "own": "            403   404   403   403   200   403   403   403   404   401",
    "other": "          404   404   403   403   200   403   403   404   404   401",
    "missing": ALL_404,
}
# Webhooks: the platform (which receives them) and admins manage every endpoint; the role is
# checked before the endpoint or delivery is looked up.
MANAGE_WEBHOOKS = {
    "own": "            403   403   403   403   403   200   200   403   403   401",
    "other": "          403   403   403   403   403   200   200   403   403   401",
    "missing": "        403   403   403   403   403   404   404   403   403   401",
}


def _dispute_body(target: Target) -> dict[str, Any]:
    return {
        "order_id": target.resource_id,
        "reason": "not_as_described",
        "remedy": "refund_only",
        "amount": 1_000,
    }


def _order_body(target: Target) -> dict[str, Any]:
    return {
        "buyer_id": target.cast.buyer,
        "seller_id": target.cast.seller,
        "amount": 10_000,
        "currency": "USD",
        "status": "delivered",
        "items": [
            {
                "listing_id": f"lst-{target.resource_id}",
                "title": "Thing",
                "quantity": 1,
                "unit_price": 10_000,
            }
        ],
    }


def _const(body: Any) -> Callable[[Target], Any]:
    return lambda _target: body


ROUTES: dict[tuple[str, str], Route] = {
    # Public: the redirect to the docs, the docs, the OpenAPI document, Flask's static files.
    ("GET", "/"): Route(None, {"own": PUBLIC["own"].replace("200", "302")}),
    ("GET", "/static/<path:filename>"): Route(
        None, {"own": PUBLIC["own"].replace("200", "404")}, fixed={"filename": "absent"}
    ),
    ("GET", "/v1/docs"): Route(None, PUBLIC),
    ("GET", "/v1/openapi.json"): Route(None, PUBLIC),
    # Swagger UI's own files, served by the engine (no token, like the page).
    ("GET", "/v1/docs/init.js"): Route(None, PUBLIC),
    ("GET", "/v1/docs/assets/<path:filename>"): Route(
        None, PUBLIC, fixed={"filename": "swagger-ui.css"}
    ),
    # Transparency: anyone, with or without a token (DESIGN §7).
    ("GET", "/v1/public/decisions"): Route(None, PUBLIC),
    ("GET", "/v1/public/warnings"): Route(None, PUBLIC),
    # Reports and the unhappy answers: staff and the platform itself, never a party.
    ("GET", "/v1/reports/summary"): Route(
        None, {"own": "403   403   200   200   200   200   200   403   403   401"}
    ),
    ("GET", "/v1/feedback/dissatisfied"): Route(
        None, {"own": "403   403   200   200   200   200   200   403   403   401"}
    ),
    # Accounts: the platform manages buyers and sellers, an admin anyone; everyone reads itself.
    ("PUT", "/v1/accounts/<account_id>"): Route(
        "account:buyer",
        {
            "own": "    403   403   403   403   403   200   200   403   403   401",
            "other": "  403   403   403   403   403   200   200   403   403   401",
            "missing": "403   403   403   403   403   201   201   403   403   401",
        },
        body=_const({"role": "buyer", "display_name": "Renamed By Matrix"}),
    ),
    ("GET", "/v1/accounts/<account_id>"): Route(
        "account:buyer",
        {
            "own": "    200   404   404   404   404   200   200   200   404   401",
            "other": "  404   404   404   404   404   200   200   404   404   401",
            "missing": ALL_404,
            "self": "   200   200   200   200   200   200   200   200   200   401",
        },
    ),
    ("POST", "/v1/accounts/<account_id>/tokens"): Route(
        "account:buyer",
        {
            "own": "    403   403   403   403   403   201   201   403   403   401",
            "other": "  403   403   403   403   403   201   201   403   403   401",
            "missing": "403   403   403   403   403   404   404   403   403   401",
            "staff": "  403   403   403   403   403   403   201   403   403   401",
        },
    ),
    ("PUT", "/v1/accounts/<account_id>/related/<related_id>"): Route(
        "account:buyer",
        {
            "own": "    403   403   403   403   403   403   201   403   403   401",
            "other": "  403   403   403   403   403   403   201   403   403   401",
            # A relation may name a marketplace id not provisioned yet.
            "missing": "403   403   403   403   403   403   201   403   403   401",
        },
        fixed={"account_id": "account:staff"},
    ),
    # Orders: the platform registers them; parties read their own, staff and the platform all.
    ("PUT", "/v1/orders/<order_id>"): Route(
        "order:free",
        {
            "own": "    403   403   403   403   403   200   403   403   403   401",
            "other": "  403   403   403   403   403   200   403   403   403   401",
            "missing": "403   403   403   403   403   201   403   403   403   401",
        },
        body=_order_body,
    ),
    ("GET", "/v1/orders/<order_id>"): Route(
        "order:free",
        {
            "own": "    200   200   200   200   200   200   200   200   200   401",
            "other": "  404   404   200   200   200   200   200   404   404   401",
            "missing": ALL_404,
        },
    ),
    # Disputes.
    ("POST", "/v1/disputes"): Route(
        "order:free",
        {
            "own": "    201   403   403   403   403   403   403   201   403   401",
            # Another buyer's order and no order are the same "no such order of yours".
            "other": "  422   403   403   403   403   403   403   422   403   401",
            "missing": "422   403   403   403   403   403   403   422   403   401",
        },
        body=_dispute_body,
        mutates=True,
    ),
    ("GET", "/v1/disputes"): Route(
        "account:buyer",
        {
            "own": "    200   200   200   200   200   200   200   200   200   401",
            "other": "  200   200   200   200   200   200   200   200   200   401",
            "missing": "200   200   200   200   200   200   200   200   200   401",
        },
        query=lambda target: {"buyer_id": target.resource_id},
        check=lambda case, response: case.check_dispute_list(response),
    ),
    ("GET", "/v1/disputes/<dispute_id>"): Route(
        "dispute:awaiting_seller",
        READ_DISPUTE,
        check=lambda case, response: case.check_same_id(response),
    ),
    ("GET", "/v1/disputes/<dispute_id>/events"): Route(
        "dispute:gathering_evidence",
        READ_DISPUTE,
        check=lambda case, response: case.check_hidden_evidence_absent(response),
    ),
    ("POST", "/v1/disputes/<dispute_id>/accept"): Route(
        "dispute:awaiting_seller", SELLER_ACTS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/reject"): Route(
        "dispute:awaiting_seller",
        SELLER_ACTS,
        body=_const({"reason": "It matches the listing."}),
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/offer"): Route(
        "dispute:awaiting_seller", SELLER_ACTS, body=_const({"amount": 2_000}), mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/accept-offer"): Route(
        "dispute:offered", BUYER_ACTS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/modify"): Route(
        "dispute:awaiting_seller", BUYER_ACTS, body=_const({"amount": 4_000}), mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/withdraw"): Route(
        "dispute:awaiting_seller", BUYER_ACTS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/escalate"): Route(
        "dispute:seller_rejected", BUYER_ACTS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/ship-return"): Route(
        "dispute:awaiting_return",
        BUYER_ACTS,
        body=_const({"carrier": "SF Express", "tracking_number": "SF123"}),
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/confirm-return"): Route(
        "dispute:return_in_transit", SELLER_ACTS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/dispute-return"): Route(
        "dispute:return_in_transit",
        SELLER_ACTS,
        body=_const({"problem": "damaged", "reason": "The box came back crushed."}),
        mutates=True,
    ),
    # Remedies beyond money (DESIGN §1a).
    ("POST", "/v1/disputes/<dispute_id>/promise-repair"): Route(
        "dispute:repair_awaiting_fulfilment",
        SELLER_ACTS,
        body=_const({"ready_by": "2026-01-10T09:00:00+00:00"}),
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/ship-fulfilment"): Route(
        "dispute:awaiting_fulfilment",
        SELLER_ACTS,
        body=_const({"carrier": "SF Express", "tracking_number": "SF456"}),
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/refund-instead"): Route(
        "dispute:awaiting_fulfilment", SELLER_ACTS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/confirm-receipt"): Route(
        "dispute:fulfilment_in_transit", BUYER_ACTS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/report-problem"): Route(
        "dispute:fulfilment_in_transit",
        BUYER_ACTS,
        body=_const({"problem": "damaged", "reason": "The new one is dented too."}),
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/request-extension"): Route(
        "dispute:awaiting_seller", SELLER_ACTS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/evidence-done"): Route(
        "dispute:gathering_evidence", BOTH_PARTIES_ACT, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/claim"): Route(
        "dispute:awaiting_decision",
        {
            "own": "    409   409   200   200   409   409   409   409   409   401",
            "other": "  404   404   200   200   409   409   409   404   404   401",
            "missing": ALL_404,
        },
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/reassign"): Route(
        "dispute:awaiting_decision",
        {
            "own": "    409   409   409   200   409   409   409   409   409   401",
            "other": "  404   404   409   200   409   409   409   404   404   401",
            "missing": ALL_404,
        },
        body=lambda target: {"arbitrator_id": target.matrix.arbitrator2},
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/request-info"): Route(
        "dispute:claimed",
        ASSIGNED_ARBITRATOR_ACTS,
        body=_const({"party": "both", "question": "Photos of the label, please."}),
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/decide"): Route(
        "dispute:claimed", ASSIGNED_ARBITRATOR_ACTS, body=_const(RULING), mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/appeal"): Route(
        "dispute:decided",
        BOTH_PARTIES_ACT,
        body=_const({"reason": "The split is unfair."}),
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/appeal-decision"): Route(
        "dispute:under_appeal",
        {
            # The first-instance arbitrator is not the actor of an appeal (409); the senior it
            # is assigned to rules, another senior is forbidden.
            "own": "    409   409   409   200   409   409   409   409   409   401",
            "other": "  404   404   409   403   409   409   409   404   404   401",
            "missing": ALL_404,
        },
        body=_const({"result": "uphold", "rationale": "The ruling stands."}),
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/refund-confirmation"): Route(
        "dispute:refunded",
        {
            "own": "    403   403   403   403   403   200   403   403   403   401",
            "other": "  403   403   403   403   403   200   403   403   403   401",
            "missing": "403   403   403   403   403   404   403   403   403   401",
        },
        mutates=True,
    ),
    ("POST", "/v1/disputes/<dispute_id>/compensation-confirmation"): Route(
        "dispute:compensated",
        {
            "own": "    403   403   403   403   403   200   403   403   403   401",
            "other": "  403   403   403   403   403   200   403   403   403   401",
            "missing": "403   403   403   403   403   404   403   403   403   401",
        },
        mutates=True,
    ),
    # Evidence: parties and arbitrators add; parties and staff read; the platform's own account
    # sees the dispute but not its evidence.
    ("POST", "/v1/disputes/<dispute_id>/evidence"): Route(
        "dispute:gathering_evidence",
        {
            "own": "    201   201   201   201   409   409   409   201   201   401",
            "other": "  404   404   201   201   409   409   409   404   404   401",
            "missing": ALL_404,
        },
        body=_const({"kind": "statement", "text": "One more thing."}),
    ),
    ("GET", "/v1/disputes/<dispute_id>/evidence"): Route(
        "dispute:gathering_evidence",
        {
            "own": "    200   200   200   200   200   403   200   200   200   401",
            "other": "  404   404   200   200   200   403   200   404   404   401",
            "missing": ALL_404,
        },
        check=lambda case, response: case.check_evidence_list(response),
    ),
    ("GET", "/v1/evidence/<evidence_id>/content"): Route(
        "evidence:buyer_photo",
        {
            "own": "    200   200   200   200   200   404   200   200   200   401",
            "other": "  404   404   200   200   200   404   200   404   404   401",
            "missing": ALL_404,
            # The seller's arbitrators_only statement on the same dispute.
            "hidden": " 404   200   200   200   200   404   200   404   200   401",
        },
        check=lambda case, response: case.check_evidence_bytes(response),
    ),
    ("GET", "/v1/disputes/<dispute_id>/precedents"): Route(
        "dispute:awaiting_decision",
        {
            "own": "    403   403   200   200   403   403   403   403   403   401",
            "other": "  403   403   200   200   403   403   403   403   403   401",
            "missing": "403   403   404   404   403   403   403   403   403   401",
        },
    ),
    # Satisfaction: each party of a closed dispute, once (staff and the platform see it: 403).
    ("POST", "/v1/disputes/<dispute_id>/feedback"): Route(
        "dispute:refunded",
        {
            "own": "    201   201   403   403   403   403   403   201   201   401",
            "other": "  404   404   403   403   403   403   403   404   404   401",
            "missing": ALL_404,
        },
        body=_const({"rating": 4, "comment": "Quick and fair."}),
        mutates=True,
    ),
    # The arbitrators' queue.
    ("GET", "/v1/queue"): Route(
        None, {"own": "403   403   200   200   403   403   403   403   403   401"}
    ),
    ("POST", "/v1/queue/claim"): Route(
        None, {"own": "403   403   200   200   403   403   403   403   403   401"}, mutates=True
    ),
    # Standing, violations, penalties.
    ("GET", "/v1/sellers/<seller_id>/standing"): Route(
        "seller", SELLER_RECORD, check=lambda case, response: case.check_seller_record(response)
    ),
    ("GET", "/v1/sellers/<seller_id>/violations"): Route(
        "seller", SELLER_RECORD, check=lambda case, response: case.check_seller_record(response)
    ),
    ("POST", "/v1/sellers/<seller_id>/violations"): Route(
        "seller",
        {
            "own": "    403   403   403   403   201   403   403   403   403   401",
            "other": "  403   403   403   403   201   403   403   403   403   401",
            "missing": "403   403   403   403   404   403   403   403   403   401",
        },
        body=_const({"kind": "non_delivery", "note": "Confirmed by hand."}),
        mutates=True,
    ),
    ("GET", "/v1/penalties"): Route(
        "seller",
        {
            "own": "    403   403   403   403   200   200   200   403   403   401",
            "other": "  403   403   403   403   200   200   200   403   403   401",
            "missing": "403   403   403   403   200   200   200   403   403   401",
        },
        query=lambda target: {"seller_id": target.resource_id},
        check=lambda case, response: case.check_penalty_list(response),
    ),
    ("GET", "/v1/penalties/<penalty_id>"): Route(
        "penalty:active",
        {
            "own": "    404   200   404   404   200   200   200   404   200   401",
            "other": "  404   404   404   404   200   200   200   404   404   401",
            "missing": ALL_404,
        },
    ),
    ("POST", "/v1/penalties/<penalty_id>/approve"): Route(
        "penalty:pending", TRUST_SAFETY_REVIEWS, mutates=True
    ),
    ("POST", "/v1/penalties/<penalty_id>/reject"): Route(
        "penalty:pending",
        TRUST_SAFETY_REVIEWS,
        body=_const({"note": "Too harsh for a first case."}),
        mutates=True,
    ),
    ("POST", "/v1/penalties/<penalty_id>/revoke"): Route(
        "penalty:active",
        TRUST_SAFETY_REVIEWS,
        body=_const({"reason": "Entered in error."}),
        mutates=True,
    ),
    ("POST", "/v1/penalties/<penalty_id>/appeal"): Route(
        "penalty:active",
        {
            "own": "    403   200   403   403   403   403   403   403   200   401",
            "other": "  403   404   403   403   403   403   403   403   404   401",
            "missing": "403   404   403   403   403   403   403   403   404   401",
        },
        body=_const({"reason": "The goods were genuine."}),
        mutates=True,
    ),
    ("POST", "/v1/penalties/<penalty_id>/appeal-decision"): Route(
        "penalty:appealed",
        TRUST_SAFETY_REVIEWS,
        body=_const({"result": "uphold", "rationale": "The record stands."}),
        mutates=True,
    ),
    # Fairness both ways (DESIGN §5a): recoveries of refunds paid first, a buyer's review flag.
    ("GET", "/v1/recoveries/<recovery_id>"): Route("recovery:open", SELLER_RECORD),
    ("POST", "/v1/recoveries/<recovery_id>/recovered"): Route(
        "recovery:open",
        {
            "own": "    404   403   404   404   403   200   403   404   403   401",
            "other": "  404   404   404   404   403   200   403   404   404   401",
            "missing": ALL_404,
        },
        mutates=True,
    ),
    ("POST", "/v1/recoveries/<recovery_id>/write-off"): Route(
        "recovery:open",
        {
            "own": "    404   403   404   404   200   403   403   404   403   401",
            "other": "  404   404   404   404   200   403   403   404   404   401",
            "missing": ALL_404,
        },
        body=_const({"reason": "The seller closed the shop."}),
        mutates=True,
    ),
    ("GET", "/v1/buyers/<buyer_id>/standing"): Route(
        "account:buyer",
        BUYER_RECORD,
        check=lambda case, response: case.check_same_buyer(response),
    ),
    ("POST", "/v1/buyers/<buyer_id>/review/lift"): Route(
        "buyer:under_review",
        BUYER_REVIEW,
        body=_const({"note": "Honest mistakes."}),
        mutates=True,
    ),
    ("POST", "/v1/buyers/<buyer_id>/review/confirm"): Route(
        "buyer:under_review",
        BUYER_REVIEW,
        body=_const({"note": "A pattern across sellers."}),
        mutates=True,
    ),
    # Webhooks and the signed checkpoints of the audit chains.
    ("POST", "/v1/webhook-endpoints"): Route(
        None,
        {"own": "403   403   403   403   403   201   201   403   403   401"},
        body=_const({"url": "http://127.0.0.1:9/hooks"}),
        mutates=True,
    ),
    ("GET", "/v1/webhook-endpoints"): Route(
        None, {"own": "403   403   403   403   403   200   200   403   403   401"}
    ),
    ("POST", "/v1/webhook-endpoints/<endpoint_id>/disable"): Route(
        "webhook:endpoint", MANAGE_WEBHOOKS, mutates=True
    ),
    ("POST", "/v1/webhook-endpoints/<endpoint_id>/rotate-secret"): Route(
        "webhook:endpoint", MANAGE_WEBHOOKS, mutates=True
    ),
    ("GET", "/v1/webhook-deliveries"): Route(
        None, {"own": "403   403   403   403   403   200   200   403   403   401"}
    ),
    ("POST", "/v1/webhook-deliveries/<delivery_id>/redeliver"): Route(
        "webhook:delivery", MANAGE_WEBHOOKS, mutates=True
    ),
    ("GET", "/v1/audit/checkpoints"): Route(
        None, {"own": "403   403   200   200   200   200   200   403   403   401"}
    ),
    # This world has no signing key: nobody, not even anonymously, gets a public key.
    ("GET", "/v1/audit/public-key"): Route(
        None, {"own": "404   404   404   404   404   404   404   404   404   404"}
    ),
}

# Extra variants: which of the own cast's resources they name instead of the route's.
VARIANT_RESOURCES = {
    "self": "account:self",
    "staff": "account:staff",
    "hidden": "evidence:seller_hidden",
}

# Known disagreements with DESIGN §9 / §3: each is a strict xfail until fixed (none today).
KNOWN_BUGS: dict[tuple[str, str, str, str], str] = {}


@pytest.fixture(scope="module")
def matrix_database(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of this module's own, cloned from the migrated template (SQLite or PostgreSQL,
    as the suite runs)."""
    if POSTGRES_ADMIN_URL:
        name = f"arbitration_matrix_{os.getpid()}"
        with _postgres_admin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}"))
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        with _postgres_admin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        return
    path = tmp_path_factory.mktemp("matrix") / "arbitration.db"
    shutil.copyfile(migrated_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture(scope="module")
def matrix(matrix_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    defaults = load_policy()
    # Rulings up to RULING's refund are paid by the platform first, so recoveries exist to ask about.
    policy = replace(
        defaults,
        advance_compensation=replace(
            defaults.advance_compensation, max_amount=RULING["refund_amount"]
        ),
    )
    config = Config(
        database_url=matrix_database,
        policy=policy,
        clock=ManualClock(),
        evidence_dir=str(tmp_path_factory.mktemp("matrix-evidence")),
        testing=True,
    )
    app = create_app(config)
    built = Matrix(app)
    for cast in (built.a, built.b):  # the shared resources, built once
        for key in SHARED_RESOURCES:
            cast.get(key)
    yield built
    app.extensions["arbitration"].database.dispose()


SHARED_RESOURCES = sorted(
    {route.resource for route in ROUTES.values() if route.resource}
    | {key for key in VARIANT_RESOURCES.values() if key != "account:self"}
)


# One case ---------------------------------------------------------------------------------------


@dataclass
class Target:
    """What one request names: the cast it belongs to and the resource's id there."""

    matrix: Matrix
    cast: Cast
    resource_id: str


@dataclass
class Case:
    matrix: Matrix
    route: Route
    method: str
    rule: str
    variant: str
    caller: str
    expected: frozenset[int] = frozenset()
    target: Target | None = None
    party_cast: Cast | None = None  # the cast whose buyer and seller the caller plays

    # Resolving and sending ---------------------------------------------------------------------

    def resolve(self, *, fresh: bool) -> None:
        matrix, route = self.matrix, self.route
        own = self.variant not in STRANGER_VARIANTS
        cast = matrix.b if self.variant == "other" else matrix.a
        if fresh:
            cast = matrix.fresh(like=cast)
        self.party_cast = cast if own else matrix.a
        key = VARIANT_RESOURCES.get(self.variant, route.resource)
        if key is None:
            resource_id = ""
        elif key == "account:self":
            resource_id = matrix.account_of(self.caller, self.party_cast) or cast.buyer
        else:
            resource_id = cast.get(key)
            if self.variant == "missing":
                resource_id = missing_id(resource_id, self.caller, self.method)
        self.target = Target(matrix, cast, resource_id)

    def url(self) -> str:
        assert self.target is not None
        path = self.rule
        for name, key in self.route.fixed.items():
            value = key if ":" not in key else self.target.cast.get(key)
            path = _fill(path, name, value)
        if self.route.resource is not None and "<" in path:
            path = _fill(path, _last_parameter(path), self.target.resource_id)
        assert "<" not in path, path
        return path

    def send(self) -> TestResponse:
        assert self.target is not None and self.party_cast is not None
        kwargs: dict[str, Any] = {"headers": self.matrix.headers(self.caller, self.party_cast)}
        if self.route.body is not None:
            kwargs["json"] = self.route.body(self.target)
        elif self.method in ("POST", "PUT"):
            kwargs["json"] = {}
        if self.route.query is not None:
            kwargs["query_string"] = self.route.query(self.target)
        return self.matrix.world.client.open(self.url(), method=self.method, **kwargs)

    def context(self, response: TestResponse) -> str:
        return (
            f"{self.caller} {self.method} {self.url()} ({self.variant}): "
            f"{response.status_code} {response.get_data(as_text=True)[:400]}"
        )

    # Checks on a success ----------------------------------------------------------------------

    def me(self) -> str | None:
        assert self.party_cast is not None
        return self.matrix.account_of(self.caller, self.party_cast)

    def check_same_id(self, response: TestResponse) -> None:
        assert self.target is not None
        if response.status_code == 200:
            assert response.json["id"] == self.target.resource_id, self.context(response)

    def check_dispute_list(self, response: TestResponse) -> None:
        """Parties list only their own disputes: another marketplace's are not there, not even
        when asked for by their buyer's id."""
        assert self.target is not None
        listed = response.json["data"]
        ids = {item["id"] for item in listed}
        me = self.me()
        if self.caller in PARTY_SCOPED:
            for item in listed:
                assert me in (item["buyer_id"], item["seller_id"]), self.context(response)
        for cast in (self.matrix.a, self.matrix.b):
            if self.target.resource_id == cast.buyer:
                visible = self.caller not in PARTY_SCOPED or cast is self.party_cast
                assert (cast.get("dispute:awaiting_seller") in ids) == visible, self.context(
                    response
                )
        if self.variant == "missing" or (self.caller in PARTY_SCOPED and self.variant == "other"):
            assert listed == [], self.context(response)

    def check_hidden_evidence_absent(self, response: TestResponse) -> None:
        """The other party learns nothing of an ``arbitrators_only`` item (DESIGN §3)."""
        if response.status_code != 200 or self.caller not in ("buyer", "platform_for_buyer"):
            return
        assert self.target is not None
        cast = self.target.cast
        hidden = cast.get("evidence:seller_hidden")
        body = response.get_data(as_text=True)
        assert hidden not in body, self.context(response)
        assert cast.hidden_sha256 not in body, self.context(response)

    def check_evidence_list(self, response: TestResponse) -> None:
        if response.status_code != 200:
            return
        assert self.target is not None
        cast = self.target.cast
        ids = {item["id"] for item in response.json["data"]}
        assert cast.get("evidence:buyer_photo") in ids, self.context(response)
        sees_hidden = self.caller not in ("buyer", "platform_for_buyer")
        assert (cast.get("evidence:seller_hidden") in ids) == sees_hidden, self.context(response)
        if not sees_hidden:
            body = response.get_data(as_text=True)
            assert HIDDEN_TEXT not in body, self.context(response)
            assert cast.hidden_sha256 not in body, self.context(response)

    def check_evidence_bytes(self, response: TestResponse) -> None:
        if response.status_code == 200:
            expected = HIDDEN_TEXT.encode() if self.variant == "hidden" else PNG
            assert response.get_data() == expected, self.context(response)

    def check_seller_record(self, response: TestResponse) -> None:
        assert self.target is not None
        if response.status_code != 200:
            return
        body = response.json
        if "seller_id" in body:  # standing
            assert body["seller_id"] == self.target.resource_id, self.context(response)
        else:  # violations
            for item in body["data"]:
                assert item["seller_id"] == self.target.resource_id, self.context(response)

    def check_same_buyer(self, response: TestResponse) -> None:
        assert self.target is not None
        assert response.json["buyer_id"] == self.target.resource_id, self.context(response)

    def check_penalty_list(self, response: TestResponse) -> None:
        assert self.target is not None
        if response.status_code != 200:
            return
        listed = response.json["data"]
        for item in listed:
            assert item["seller_id"] == self.target.resource_id, self.context(response)
        if self.variant == "missing":
            assert listed == [], self.context(response)
        else:
            ids = {item["id"] for item in listed}
            assert self.target.cast.get("penalty:active") in ids, self.context(response)


def _fill(path: str, name: str, value: str) -> str:
    for converter in ("", "path:"):
        path = path.replace(f"<{converter}{name}>", value)
    return path


def _last_parameter(path: str) -> str:
    return path[path.rindex("<") + 1 : path.rindex(">")].rpartition(":")[2]


def missing_id(real: str, caller: str, method: str) -> str:
    """An id of the same shape as ``real`` that names nothing (a new one per caller for a PUT,
    which may create it)."""
    prefix, underscore, tail = real.partition("_")
    if underscore and len(tail) == 26:  # a generated id: same prefix and time, no such one
        return f"{prefix}_{tail[:10]}{'0' * 16}"
    return f"nobody-{caller.replace('_', '-')}" if method == "PUT" else f"nobody-{real}"


def normalised(response: TestResponse, resource_id: str) -> tuple[int, str | None, str]:
    """A response with the id it names blanked out: what a prober could compare."""
    return (
        response.status_code,
        response.mimetype,
        response.get_data(as_text=True).replace(resource_id, "<id>"),
    )


# The tests -------------------------------------------------------------------------------------


def _cases() -> list[Any]:
    params = []
    for (method, rule), route in ROUTES.items():
        for variant in route.variants:
            for caller in CALLERS:
                key = (method, rule, variant, caller)
                marks = (
                    [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[key])]
                    if key in KNOWN_BUGS
                    else []
                )
                params.append(
                    pytest.param(method, rule, variant, caller, marks=marks, id="-".join(key))
                )
    return params


CASES = _cases()


def test_every_route_has_a_row(matrix: Matrix) -> None:
    """A route added without saying who may call it fails here; so does a row for a route gone."""
    routes = {
        (method, rule.rule)
        for rule in matrix.app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
        # The staff console takes no bearer token but its own session: tests/api/test_console.py.
        and not rule.rule.startswith("/console/")
    }
    assert routes - set(ROUTES) == set(), "routes missing from ROUTES: state who may call them"
    assert set(ROUTES) - routes == set(), "rows for routes that no longer exist"
    for route in ROUTES.values():
        assert {"own"} <= set(route.variants), route
        assert set(route.variants) - {"own", "other", "missing"} <= set(VARIANT_RESOURCES)
        for row in route.variants.values():
            codes(row)


@pytest.mark.parametrize(("method", "rule", "variant", "caller"), CASES)
def test_caller_gets_the_documented_answer_and_nothing_more(
    matrix: Matrix, method: str, rule: str, variant: str, caller: str
) -> None:
    route = ROUTES[(method, rule)]
    expected = codes(route.variants[variant])[CALLERS.index(caller)]
    case = Case(matrix, route, method, rule, variant, caller, expected)
    success = min(expected) < 300
    fresh = route.mutates and success
    case.resolve(fresh=fresh)
    if (method, rule) == ("POST", "/v1/queue/claim") and success:
        # The most pressing case in the queue is a fresh urgent one: the shared ones stay put.
        assert case.target is not None
        urgent = case.target.cast.get("dispute:urgent_awaiting_decision")
    before = matrix.fingerprint() if not success else None

    response = case.send()

    assert response.status_code in expected, case.context(response)
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert matrix.fingerprint() == before, (
            f"a refusal changed something: {case.context(response)}"
        )
    if (method, rule) == ("POST", "/v1/queue/claim") and success:
        assert response.json["id"] == urgent, case.context(response)
    if route.check is not None and response.status_code < 300:
        route.check(case, response)
    if variant != "missing" and response.status_code >= 400:
        _indistinguishable_from_missing(case, response)


def _indistinguishable_from_missing(case: Case, response: TestResponse) -> None:
    """A refusal says no more than the refusal of no resource: for another party's dispute (or
    evidence hidden from the caller) the same status and the same body but for the id, so a
    prober cannot tell what exists (DESIGN §9: "a 404, not a 403")."""
    missing_row = case.route.variants.get("missing")
    if (
        missing_row is None
        or response.status_code not in codes(missing_row)[CALLERS.index(case.caller)]
    ):
        return
    probe = Case(case.matrix, case.route, case.method, case.rule, "missing", case.caller)
    probe.resolve(fresh=False)
    assert case.target is not None and probe.target is not None
    answer = probe.send()
    assert normalised(answer, probe.target.resource_id) == normalised(
        response, case.target.resource_id
    ), f"{case.context(response)}\n  vs missing: {probe.context(answer)}"


def test_the_platform_acting_for_someone_is_only_that_someone(matrix: Matrix) -> None:
    """On-Behalf-Of names a buyer or seller only, and only the platform may send it."""
    world, a = matrix.world, matrix.a
    for who, principal in (
        (world.platform, matrix.arbitrator),
        (world.platform, "nobody-at-all"),
        (a.buyer, a.seller),
        (matrix.admin, a.buyer),
    ):
        response = world.call(
            who,
            "GET",
            f"/v1/disputes/{a.get('dispute:awaiting_seller')}",
            headers={"On-Behalf-Of": principal},
        )
        assert_error(response, 403)
