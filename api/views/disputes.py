"""Disputes over HTTP: file, list, read, act, and read the timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue
from marshmallow import Schema
from sqlalchemy.orm import Session

from api.context import Later, caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas import arbitration as arbitration_schemas
from api.schemas import common as common_schemas
from api.schemas import disputes as dispute_schemas
from api.schemas.common import EmptyIn, ErrorOut
from api.schemas.disputes import (
    DisputeIn,
    DisputeOut,
    DisputePageOut,
    DisputeQueryIn,
    EventOut,
    EventPageOut,
)
from api.views.dispute_body import dispute_body, read_body, written_body
from arbitration import audit, compensations, disputes, filing, flows, refunds
from arbitration.accounts import Caller
from arbitration.models import Event
from evidence import service as evidence_service

blp = Blueprint("disputes", __name__, url_prefix="/v1", description="Disputes and their lifecycle")


@blp.route("/disputes", methods=["POST"])
@blp.arguments(DisputeIn())
@blp.alt_response(201, schema=DisputeOut, success=True, description="filed")
@blp.alt_response(409, schema=ErrorOut, description="the order already has an open dispute")
@documents_errors(blp, 403, 422)
def file_dispute(dispute_in: dict[str, Any]) -> ResponseReturnValue:
    """File a refund request on an order (buyer)."""
    who = caller()
    items = dispute_in.pop("items", None)
    request = filing.DisputeIn(
        **dispute_in,
        items=tuple(filing.ItemIn(**item) for item in items) if items is not None else None,
    )

    def work(session: Session) -> tuple[Later, int]:
        dispute = filing.file_dispute(
            session,
            caller=who,
            dispute_in=request,
            policy=services().policy,
            at=services().clock.now(),
        )
        return written_body(session, dispute, who), 201

    return perform(work)


@blp.route("/disputes", methods=["GET"])
@blp.arguments(DisputeQueryIn(), location="query")
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
        return read_body(session, caller=who, dispute_id=dispute_id)

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
@blp.arguments(EmptyIn(), required=False)
@blp.alt_response(200, schema=DisputeOut, success=True)
@documents_errors(blp, 403, 404, 409)
def confirm_refund(_params: dict[str, Any], dispute_id: str) -> ResponseReturnValue:
    """Confirm the instructed refund was paid (platform)."""
    who = caller()

    def work(session: Session) -> tuple[Later, int]:
        refunds.confirm_refund(
            session, caller=who, dispute_id=dispute_id, at=services().clock.now()
        )
        dispute = disputes.get_dispute(session, caller=who, dispute_id=dispute_id)
        return written_body(session, dispute, who), 200

    return perform(work)


@blp.route("/disputes/<dispute_id>/compensation-confirmation", methods=["POST"])
@blp.arguments(EmptyIn(), required=False)
@blp.alt_response(200, schema=DisputeOut, success=True)
@documents_errors(blp, 403, 404, 409)
def confirm_compensation(_params: dict[str, Any], dispute_id: str) -> ResponseReturnValue:
    """Confirm the instructed compensation was granted (platform)."""
    who = caller()

    def work(session: Session) -> tuple[Later, int]:
        compensations.confirm_compensation(
            session, caller=who, dispute_id=dispute_id, at=services().clock.now()
        )
        dispute = disputes.get_dispute(session, caller=who, dispute_id=dispute_id)
        return written_body(session, dispute, who), 200

    return perform(work)


# Actions: one route each, derived from the declarations (flows.ACTIONS), so the OpenAPI document
# shows each action's own fields and a body is required exactly when its schema has a required field.


def _action_view(action: str) -> Callable[..., ResponseReturnValue]:
    def view(params: dict[str, Any], dispute_id: str) -> ResponseReturnValue:
        who = caller()
        engine = services()  # once, and before the writer lock

        def work(session: Session) -> tuple[Later, int]:
            dispute = flows.act(
                session,
                dispute_id=dispute_id,
                action=action,
                caller=who,
                params=params,
                policy=engine.policy,
                at=engine.clock.now(),
            )
            return written_body(session, dispute, who), 200

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
    _schema = _input_schema(_action.input)()
    _view = _action_view(_action.name)
    _view.__name__ = _action.name.replace("-", "_")
    _view.__doc__ = _action.summary
    _body_required = any(field.required for field in _schema.fields.values())
    blp.route(f"/disputes/<dispute_id>/{_action.name}", methods=["POST"], endpoint=_view.__name__)(
        documents_errors(blp, 403, 404, 409, 422)(
            blp.alt_response(200, schema=DisputeOut, success=True)(
                blp.arguments(_schema, required=_body_required)(_view)
            )
        )
    )
