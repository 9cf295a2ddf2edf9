"""Anchored history: the signed checkpoints of every chain head, and the key that signs them."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.context import caller, read, services
from api.contract import Blueprint
from api.schemas.common import ErrorOut
from api.schemas.webhooks import CheckpointPageOut, CheckpointQueryIn, PublicKeyOut
from arbitration.accounts import PLATFORM, STAFF_ROLES
from arbitration.errors import Forbidden, NotFound
from webhooks import checkpoints
from webhooks.models import Checkpoint

blp = Blueprint(
    "audit", __name__, url_prefix="/v1", description="Signed checkpoints of the audit chains"
)

CHECKPOINT_PAGE_OUT = CheckpointPageOut()
PUBLIC_KEY_OUT = PublicKeyOut()


@blp.route("/audit/checkpoints", methods=["GET"])
@blp.arguments(CheckpointQueryIn(), location="query")
@blp.alt_response(200, schema=CheckpointPageOut, success=True)
@blp.alt_response(403, schema=ErrorOut, description="not staff or the platform")
def list_checkpoints(query: dict[str, Any]) -> ResponseReturnValue:
    """Signed checkpoints, newest first: keep one to check later that history was only appended."""
    who = caller()
    if who.role not in STAFF_ROLES | {PLATFORM}:
        raise Forbidden("only staff and the platform read checkpoints")

    def work(session: Session) -> dict[str, Any]:
        found = session.scalars(
            select(Checkpoint).order_by(Checkpoint.seq.desc()).limit(query["limit"])
        )
        data = [{**checkpoints.exported(c), "taken_at": c.taken_at} for c in found]
        dumped: dict[str, Any] = CHECKPOINT_PAGE_OUT.dump({"data": data})
        return dumped

    return read(work), 200


@blp.route("/audit/public-key", methods=["GET"])
@blp.alt_response(200, schema=PublicKeyOut, success=True)
@blp.alt_response(404, schema=ErrorOut, description="no signing key is configured")
def public_key() -> ResponseReturnValue:
    """The Ed25519 public key that verifies checkpoints (no token needed)."""
    configured = services().config.audit_signing_key
    if not configured:
        raise NotFound("no audit signing key is configured (ARBITRATION_AUDIT_SIGNING_KEY)")
    public_hex = checkpoints.public_key_hex(checkpoints.load_signing_key(configured))
    body = {
        "algorithm": "Ed25519",
        "public_key": public_hex,
        "key_id": checkpoints.key_id(public_hex),
    }
    return PUBLIC_KEY_OUT.dump(body), 200
