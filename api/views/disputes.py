"""Disputes over HTTP: file, list, read, act, and read the timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy import Row, String, bindparam, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from api.context import caller, perform, read, services
from api.contract import documents_errors
from api.schemas import arbitration as arbitration_schemas
from api.schemas import common as common_schemas
from api.schemas import disputes as dispute_schemas
from api.schemas.common import EmptyIn, ErrorOut, plain_dumper
from api.schemas.disputes import (
    DisputeIn,
    DisputeOut,
    DisputePageOut,
    DisputeQueryIn,
    EventOut,
    EventPageOut,
)
from arbitration import audit, compensations, disputes, flows, refunds
from arbitration.accounts import Caller
from arbitration.models import Compensation, Decision, Dispute, Event, Offer, Refund
from arbitration.party_actions import offer_terms
from evidence import service as evidence_service

blp = Blueprint("disputes", __name__, url_prefix="/v1", description="Disputes and their lifecycle")

# Built once: a schema is stateless once built, and building one costs more than a dump.
DISPUTE_OUT = DisputeOut()
# The body is built as plain values and dumped without marshmallow (the hot path of every read and
# write): the same fields, the same formats (tests/api/test_dispute_body.py holds it to DisputeOut).
_dump_dispute = plain_dumper(DISPUTE_OUT)
# The body's fields that are the dispute's own columns.
_DISPUTE_COLUMNS = tuple(name for name in DISPUTE_OUT.fields if name in Dispute.__table__.c)
DECISION_FIELDS = tuple(arbitration_schemas.DecisionOut().fields)

# A dispute with the parts its body reads by key, in one statement: the ruling in force, the
# pending offer and (selectinload, a second) the order lines. Built once, run by id.
_DISPUTE_WITH_PARTS = (
    select(Dispute, Decision, Offer)
    .outerjoin(Decision, Decision.id == Dispute.decision_id)
    .outerjoin(Offer, Offer.id == Dispute.pending_offer_id)
    .options(selectinload(Dispute.items))
    .where(Dispute.id == bindparam("dispute_id"))
)
_PARTS_HELD = "api.dispute_parts"
# Refunds and compensations, oldest first, in one statement: their columns line up, and the body
# only reads them. ``row`` tells them apart.
_MONEY_COLUMNS = ("id", "amount", "currency", "instructed_at", "confirmed_at", "overdue_since")
_MONEY_ORDERED = union_all(
    select(
        literal("refund", String).label("row"),
        literal(None, String).label("kind"),
        *(Refund.__table__.c[name] for name in _MONEY_COLUMNS),
        Refund.funded_by,
    ).where(Refund.dispute_id == bindparam("refunds_of")),
    select(
        literal("compensation", String).label("row"),
        Compensation.kind,
        *(Compensation.__table__.c[name] for name in _MONEY_COLUMNS),
        Compensation.funded_by,
    ).where(Compensation.dispute_id == bindparam("compensations_of")),
)
_MONEY_ORDERED_STATEMENT = select(_MONEY_ORDERED.subquery("money")).order_by(
    "row", "instructed_at", "id"
)


def _money_ordered(session: Session, dispute: Dispute) -> tuple[list[Row[Any]], list[Row[Any]]]:
    """The refunds and the compensations the dispute's body shows, each oldest first; no
    statement when it can have neither. Only an accepted compensation offer (closing the dispute
    settled) or a ruling orders a compensation."""
    refunds = dispute.refund_amount is not None
    compensations = dispute.outcome == "settled" or dispute.decision_id is not None
    if not (refunds or compensations):
        return [], []
    rows = session.execute(
        _MONEY_ORDERED_STATEMENT,
        {
            "refunds_of": dispute.id if refunds else None,
            "compensations_of": dispute.id if compensations else None,
        },
    ).all()
    return (
        [row for row in rows if row.row == "refund"],
        [row for row in rows if row.row == "compensation"],
    )


def load_dispute(session: Session, *, caller: Caller, dispute_id: str) -> Dispute:
    """``disputes.get_dispute``, with the ruling, the pending offer and the order lines loaded in
    the same round trips, so building the body reads them from the session."""
    row = session.execute(_DISPUTE_WITH_PARTS, {"dispute_id": dispute_id}).first()
    # The session holds its objects weakly: keep the parts until the body is built.
    session.info[_PARTS_HELD] = tuple(row) if row is not None else ()
    return disputes.get_dispute(session, caller=caller, dispute_id=dispute_id)


def dispute_body(session: Session, dispute: Dispute, who: Caller) -> dict[str, Any]:
    """The dispute as the caller sees it: state, whose move, and the caller's own buttons."""
    return _dump_dispute(dispute_view(session, dispute, who))


def dispute_view(session: Session, dispute: Dispute, who: Caller) -> dict[str, Any]:
    """The body's values before dumping (``DisputeOut``'s fields, datetimes as datetimes)."""
    loaded = dispute.__dict__  # the columns already loaded; an expired one is read as usual
    view = {
        name: loaded[name] if name in loaded else getattr(dispute, name)
        for name in _DISPUTE_COLUMNS
    }
    offer = session.get(Offer, dispute.pending_offer_id) if dispute.pending_offer_id else None
    refunds, compensations = _money_ordered(session, dispute)
    view.update(
        items=dispute.items,
        awaiting=disputes.awaiting(dispute),
        allowed_actions=disputes.allowed_actions(dispute, who),
        deadline=(
            {
                "action": dispute.deadline_action,
                "due_at": dispute.deadline_due_at,
                "party": disputes.deadline_party(dispute),
            }
            if dispute.deadline_action
            else None
        ),
        pending_offer=_offer_view(offer) if offer is not None else None,
        fulfilment_shipment=(
            {
                "carrier": dispute.fulfilment_carrier,
                "tracking_number": dispute.fulfilment_tracking_number,
                "shipped_at": dispute.fulfilment_shipped_at,
            }
            if dispute.fulfilment_carrier
            else None
        ),
        compensations=compensations,
        refund=refunds[-1] if refunds else None,
        refunds=refunds,
        return_shipment=(
            {
                "carrier": dispute.return_carrier,
                "tracking_number": dispute.return_tracking_number,
                "shipped_at": dispute.return_shipped_at,
            }
            if dispute.return_carrier
            else None
        ),
        decision=_decision_view(session, dispute, who),
        extensions_used=[
            party for party in ("buyer", "seller") if getattr(dispute, f"{party}_extension_used")
        ],
    )
    return view


def _offer_view(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "kind": offer.kind,
        "amount": None,
        "remedy": None,
        "compensation": None,
        **offer_terms(offer),
        "note": offer.note,
        "created_at": offer.created_at,
    }


def _decision_view(session: Session, dispute: Dispute, who: Caller) -> dict[str, Any] | None:
    """The ruling in force; a seller never learns the buyer was found at fault (DESIGN §5a)."""
    decision = session.get(Decision, dispute.decision_id) if dispute.decision_id else None
    if decision is None:
        return None
    view = {name: getattr(decision, name) for name in DECISION_FIELDS}
    if who.id == dispute.seller_id:
        view["buyer_violation"] = None
    return view


@blp.route("/disputes", methods=["POST"])
@blp.arguments(DisputeIn)
@blp.alt_response(201, schema=DisputeOut, success=True, description="filed")
@blp.alt_response(409, schema=ErrorOut, description="the order already has an open dispute")
@documents_errors(blp, 403, 422)
def file_dispute(dispute_in: dict[str, Any]) -> ResponseReturnValue:
    """File a refund request on an order (buyer)."""
    who = caller()
    items = dispute_in.pop("items", None)
    request = disputes.DisputeIn(
        **dispute_in,
        items=tuple(disputes.ItemIn(**item) for item in items) if items is not None else None,
    )

    def work(session: Session) -> tuple[dict[str, Any], int]:
        dispute = disputes.file_dispute(
            session,
            caller=who,
            dispute_in=request,
            policy=services().policy,
            at=services().clock.now(),
        )
        return dispute_body(session, dispute, who), 201

    return perform(work)


@blp.route("/disputes", methods=["GET"])
@blp.arguments(DisputeQueryIn, location="query")
@blp.alt_response(200, schema=DisputePageOut, success=True)
@documents_errors(blp, 422)
def list_disputes(query: dict[str, Any]) -> ResponseReturnValue:
    """List the disputes you may see, newest first, a page at a time."""
    who = caller()
    cursor = query.pop("cursor", None)
    limit = query.pop("limit")

    def work(session: Session) -> dict[str, Any]:
        page = disputes.list_disputes(
            session,
            caller=who,
            filters=disputes.DisputeFilters(**query),
            cursor=cursor,
            limit=limit,
        )
        return {
            "data": [dispute_body(session, dispute, who) for dispute in page.disputes],
            "next_cursor": page.next_cursor,
        }

    return read(work), 200


@blp.route("/disputes/<dispute_id>", methods=["GET"])
@blp.alt_response(200, schema=DisputeOut, success=True)
@documents_errors(blp, 404)
def get_dispute(dispute_id: str) -> ResponseReturnValue:
    """Read one dispute, with whose move it is and what you may do."""
    who = caller()

    def work(session: Session) -> dict[str, Any]:
        dispute = load_dispute(session, caller=who, dispute_id=dispute_id)
        return dispute_body(session, dispute, who)

    return read(work), 200


@blp.route("/disputes/<dispute_id>/events", methods=["GET"])
@blp.alt_response(200, schema=EventPageOut, success=True)
@documents_errors(blp, 404)
def list_events(dispute_id: str) -> ResponseReturnValue:
    """The dispute's timeline: every action, who took it, and its link in the hash chain."""
    who = caller()

    def work(session: Session) -> dict[str, Any]:
        dispute = disputes.get_dispute(session, caller=who, dispute_id=dispute_id)
        return {
            "data": [
                _event_view(event, who, dispute.seller_id)
                for event in audit.timeline(session, dispute_id)
            ]
        }

    return read(work), 200


EVENT_OUT = EventOut()


def _event_view(event: Event, who: Caller, seller_id: str) -> dict[str, Any]:
    shown = evidence_service.shown_in_timeline(
        action=event.action, actor_id=event.actor_id, payload=event.payload, caller=who
    )
    view: dict[str, Any] = EVENT_OUT.dump(event) | {"redacted": not shown}
    if not shown:
        view["payload"] = {"visibility": event.payload.get("visibility")}
    elif "buyer_violation" in event.payload and who.id == seller_id:
        # A seller never learns the buyer was found at fault (DESIGN §5a).
        view["payload"] = {**event.payload, "buyer_violation": None}
    return view


@blp.route("/disputes/<dispute_id>/refund-confirmation", methods=["POST"])
@blp.arguments(EmptyIn, required=False)
@blp.alt_response(200, schema=DisputeOut, success=True)
@documents_errors(blp, 403, 404, 409)
def confirm_refund(_params: dict[str, Any], dispute_id: str) -> ResponseReturnValue:
    """Confirm the instructed refund was paid (platform)."""
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        refunds.confirm_refund(
            session, caller=who, dispute_id=dispute_id, at=services().clock.now()
        )
        dispute = disputes.get_dispute(session, caller=who, dispute_id=dispute_id)
        return dispute_body(session, dispute, who), 200

    return perform(work)


@blp.route("/disputes/<dispute_id>/compensation-confirmation", methods=["POST"])
@blp.arguments(EmptyIn, required=False)
@blp.alt_response(200, schema=DisputeOut, success=True)
@documents_errors(blp, 403, 404, 409)
def confirm_compensation(_params: dict[str, Any], dispute_id: str) -> ResponseReturnValue:
    """Confirm the instructed compensation was granted (platform)."""
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        compensations.confirm_compensation(
            session, caller=who, dispute_id=dispute_id, at=services().clock.now()
        )
        dispute = disputes.get_dispute(session, caller=who, dispute_id=dispute_id)
        return dispute_body(session, dispute, who), 200

    return perform(work)


# Actions: one route each, derived from the declarations (flows.ACTIONS), so the OpenAPI document
# shows each action's own fields and a body is required exactly when its schema has a required field.


def _action_view(action: str) -> Callable[..., ResponseReturnValue]:
    def view(params: dict[str, Any], dispute_id: str) -> ResponseReturnValue:
        who = caller()

        def work(session: Session) -> tuple[dict[str, Any], int]:
            dispute = flows.act(
                session,
                dispute_id=dispute_id,
                action=action,
                caller=who,
                params=params,
                policy=services().policy,
                at=services().clock.now(),
            )
            return dispute_body(session, dispute, who), 200

        return perform(work)

    return view


def _input_schema(name: str) -> type[Schema]:
    for module in (dispute_schemas, arbitration_schemas, common_schemas):
        schema = getattr(module, name, None)
        if isinstance(schema, type) and issubclass(schema, Schema):
            return schema
    raise LookupError(f"no input schema {name} in api.schemas")


for _action in flows.ACTIONS.values():
    if _action.input is None:
        continue
    _schema = _input_schema(_action.input)
    _view = _action_view(_action.name)
    _view.__name__ = _action.name.replace("-", "_")
    _view.__doc__ = _action.summary
    _body_required = any(field.required for field in _schema().fields.values())
    blp.route(f"/disputes/<dispute_id>/{_action.name}", methods=["POST"], endpoint=_view.__name__)(
        documents_errors(blp, 403, 404, 409, 422)(
            blp.alt_response(200, schema=DisputeOut, success=True)(
                blp.arguments(_schema, required=_body_required)(_view)
            )
        )
    )
