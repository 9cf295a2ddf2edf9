"""Recoveries over HTTP (DESIGN §5a): what a seller owes for a refund the platform paid first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.context import caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas.fairness import RecoveredIn, RecoveryOut, WriteOffIn
from arbitration import recoveries
from arbitration.models import Recovery

blp = Blueprint(
    "recoveries", __name__, url_prefix="/v1", description="Recoveries of refunds paid first"
)

RECOVERY_OUT = RecoveryOut()


def recovery_view(recovery: Recovery, at: datetime) -> dict[str, Any]:
    """A recovery as the API shows it (before dumping): with whether it is overdue now."""
    columns = {
        name: getattr(recovery, name) for name in RECOVERY_OUT.fields if hasattr(recovery, name)
    }
    return columns | {"overdue": recoveries.is_overdue(recovery, at)}


@blp.route("/recoveries/<recovery_id>", methods=["GET"])
@blp.alt_response(200, schema=RecoveryOut, success=True)
@documents_errors(blp, 404)
def get_recovery(recovery_id: str) -> ResponseReturnValue:
    """One recovery (the platform, trust & safety, admins, the seller who owes it)."""
    who = caller()
    at = services().clock.now()

    def work(session: Session) -> dict[str, Any]:
        found = recoveries.get_recovery(session, caller=who, recovery_id=recovery_id)
        dumped: dict[str, Any] = RECOVERY_OUT.dump(recovery_view(found, at))
        return dumped

    return read(work), 200


@blp.route("/recoveries/<recovery_id>/recovered", methods=["POST"])
@blp.arguments(RecoveredIn(), required=False)
@blp.alt_response(200, schema=RecoveryOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def mark_recovered(params: dict[str, Any], recovery_id: str) -> ResponseReturnValue:
    """The money came back from the seller: the recovery closes (platform)."""
    who = caller()
    at = services().clock.now()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        found = recoveries.mark_recovered(
            session, caller=who, recovery_id=recovery_id, note_text=params.get("note"), at=at
        )
        return RECOVERY_OUT.dump(recovery_view(found, at)), 200

    return perform(work)


@blp.route("/recoveries/<recovery_id>/write-off", methods=["POST"])
@blp.arguments(WriteOffIn())
@blp.alt_response(200, schema=RecoveryOut, success=True)
@documents_errors(blp, 403, 404, 409, 422)
def write_off(params: dict[str, Any], recovery_id: str) -> ResponseReturnValue:
    """Give up recovering the money, saying why (trust & safety)."""
    who = caller()
    at = services().clock.now()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        found = recoveries.write_off(
            session, caller=who, recovery_id=recovery_id, reason=params["reason"], at=at
        )
        return RECOVERY_OUT.dump(recovery_view(found, at)), 200

    return perform(work)
