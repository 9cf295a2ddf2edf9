"""The table the authorization matrix checks every route against (DESIGN §9): for each route, the
resource its id names and, per variant, the status each caller gets; ``CALLERS`` gives the order
of a row's cells. ``tests/reliability/test_authorization_matrix.py`` builds the requests from it,
runs them and checks each answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.test import TestResponse

from tests.support.authorization_world import RULING, Cast, Matrix

if TYPE_CHECKING:
    from tests.reliability.test_authorization_matrix import Case

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


@dataclass
class Target:
    """What one request names: the cast it belongs to and the resource's id there."""

    matrix: Matrix
    cast: Cast
    resource_id: str


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
# That the marketplace paid what the engine instructed: only the platform confirms it, for any
# marketplace's dispute; the role is checked before the dispute is looked up.
PLATFORM_CONFIRMS = {
    "own": "            403   403   403   403   403   200   403   403   403   401",
    "other": "          403   403   403   403   403   200   403   403   403   401",
    "missing": "        403   403   403   403   403   404   403   403   403   401",
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
        "dispute:refunded", PLATFORM_CONFIRMS, mutates=True
    ),
    ("POST", "/v1/disputes/<dispute_id>/compensation-confirmation"): Route(
        "dispute:compensated", PLATFORM_CONFIRMS, mutates=True
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
