"""Accounts: the platform provisions buyers and sellers, an admin provisions staff."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from api.context import caller, perform, read, services
from api.contract import Blueprint, documents_errors
from api.schemas.accounts import AccountIn, AccountOut, RelationOut, TokenOut
from api.schemas.common import EmptyIn
from arbitration import accounts
from arbitration.errors import NotFound
from arbitration.models import Account

blp = Blueprint("accounts", __name__, url_prefix="/v1", description="Accounts and tokens")


@blp.route("/accounts/<account_id>", methods=["PUT"])
@blp.arguments(AccountIn())
@blp.alt_response(200, schema=AccountOut, success=True, description="updated")
@blp.alt_response(201, schema=AccountOut, success=True, description="created")
@documents_errors(blp, 403, 422)
def put_account(account_in: dict[str, Any], account_id: str) -> ResponseReturnValue:
    """Create or update an account under the marketplace's own id."""
    manager = caller()

    def work(session: Session) -> Any:
        account, created = accounts.put_account(
            session,
            manager=manager.account,
            account_id=account_id,
            role=account_in["role"],
            display_name=account_in["display_name"],
            at=services().clock.now(),
        )
        return AccountOut().dump(account), 201 if created else 200

    return perform(work)


@blp.route("/accounts/<account_id>", methods=["GET"])
@blp.alt_response(200, schema=AccountOut, success=True)
@documents_errors(blp, 404)
def get_account(account_id: str) -> ResponseReturnValue:
    """Read an account (yourself, or one you manage)."""
    who = caller()

    def work(session: Session) -> Any:
        account = session.get(Account, account_id)
        visible = account is not None and (
            account.id == who.id or accounts.may_provision(who.account, account.role)
        )
        if not visible:
            raise NotFound(f"no account {account_id}")
        return AccountOut().dump(account)

    return read(work), 200


@blp.route("/accounts/<account_id>/tokens", methods=["POST"])
@blp.alt_response(201, schema=TokenOut, success=True)
@documents_errors(blp, 403, 404)
def issue_token(account_id: str) -> ResponseReturnValue:
    """Issue a personal token (platform: buyers and sellers; admin: anyone)."""
    manager = caller()

    def work(session: Session) -> Any:
        token = accounts.issue_personal_token(
            session, manager=manager.account, account_id=account_id, at=services().clock.now()
        )
        return {"account_id": account_id, "token": token}, 201

    return perform(work)


@blp.route("/accounts/<account_id>/related/<related_id>", methods=["PUT"])
@blp.arguments(EmptyIn(), required=False)
@blp.alt_response(200, schema=RelationOut, success=True, description="already recorded")
@blp.alt_response(201, schema=RelationOut, success=True, description="recorded")
@documents_errors(blp, 403, 404, 422)
def relate(_params: dict[str, Any], account_id: str, related_id: str) -> ResponseReturnValue:
    """Record that a staff member is related to a buyer or seller: no case of theirs (admin)."""
    manager = caller()

    def work(session: Session) -> Any:
        created = accounts.relate(
            session,
            manager=manager.account,
            staff_id=account_id,
            related_id=related_id,
            at=services().clock.now(),
        )
        return {"staff_id": account_id, "related_id": related_id}, 201 if created else 200

    return perform(work)
