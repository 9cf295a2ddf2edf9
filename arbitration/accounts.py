"""Accounts and their bearer tokens.

Buyers and sellers carry the marketplace's own user ids; staff and the platform get generated ids.
Tokens are shown once and stored as SHA-256, so a database dump grants no access.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from arbitration.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from arbitration.ids import check_external_id, new_id, new_token
from arbitration.models import Account, AccountLink, ApiToken
from arbitration.statements import prepared, run

BUYER = "buyer"
SELLER = "seller"
ARBITRATOR = "arbitrator"
SENIOR_ARBITRATOR = "senior_arbitrator"
TRUST_SAFETY = "trust_safety"
PLATFORM = "platform"
ADMIN = "admin"

ROLES = (BUYER, SELLER, ARBITRATOR, SENIOR_ARBITRATOR, TRUST_SAFETY, PLATFORM, ADMIN)
PARTY_ROLES = frozenset({BUYER, SELLER})
STAFF_ROLES = frozenset({ARBITRATOR, SENIOR_ARBITRATOR, TRUST_SAFETY, ADMIN})
# Who may read every dispute: the staff, and the marketplace's own service account.
SEES_ALL_DISPUTES = STAFF_ROLES | {PLATFORM}


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(
            "unknown role", details={"role": [f"must be one of: {', '.join(ROLES)}"]}
        )


class Identity(NamedTuple):
    """What a request needs of an account: read once per request as a plain row, not an ORM object."""

    id: str
    role: str
    display_name: str


def may_provision(manager: Identity | Account, role: str) -> bool:
    """The platform provisions buyers and sellers; an admin provisions anyone."""
    return manager.role == ADMIN or (manager.role == PLATFORM and role in PARTY_ROLES)


def put_account(
    session: Session,
    *,
    manager: Identity | Account,
    account_id: str,
    role: str,
    display_name: str,
    at: datetime,
) -> tuple[Account, bool]:
    """Create or update an account under a caller-chosen id; returns (account, created)."""
    _check_role(role)
    check_external_id(account_id, "id")
    if not may_provision(manager, role):
        raise Forbidden(f"a {manager.role} account may not manage {role} accounts")
    account = session.get(Account, account_id)
    if account is None:
        account = Account(
            id=account_id, role=role, display_name=display_name, created_at=at, updated_at=at
        )
        session.add(account)
        return account, True
    if not may_provision(manager, account.role):
        raise Forbidden(f"a {manager.role} account may not manage {account.role} accounts")
    if account.role != role:
        raise ValidationFailed(
            "an account's role cannot change",
            details={"role": [f"account {account_id} is a {account.role}"]},
        )
    account.display_name = display_name
    account.updated_at = at
    return account, False


def create_account(
    session: Session, *, role: str, display_name: str, at: datetime, account_id: str | None = None
) -> tuple[Account, str]:
    """Create an account with a first token (for the CLI and the demo); returns (account, token)."""
    _check_role(role)
    account_id = account_id or new_id(role[:3], at)
    check_external_id(account_id, "id")
    if session.get(Account, account_id) is not None:
        raise ValidationFailed("account exists", details={"id": [f"{account_id} is taken"]})
    account = Account(
        id=account_id, role=role, display_name=display_name, created_at=at, updated_at=at
    )
    session.add(account)
    session.flush()
    return account, issue_token(session, account=account, at=at)


def issue_personal_token(
    session: Session, *, manager: Identity | Account, account_id: str, at: datetime
) -> str:
    if manager.role not in (PLATFORM, ADMIN):
        # Refuse before looking the account up, so the answer reveals nothing about which ids exist.
        raise Forbidden(f"a {manager.role} account may not issue tokens")
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    if not may_provision(manager, account.role):
        raise Forbidden(f"a {manager.role} account may not issue tokens for {account.role}s")
    return issue_token(session, account=account, at=at)


def issue_token(session: Session, *, account: Account, at: datetime) -> str:
    token = new_token()
    session.add(ApiToken(account_id=account.id, token_hash=_hash_token(token), created_at=at))
    return token


@dataclass(frozen=True)
class Caller:
    """Who is asking: the account acting, and the platform account behind it when acting for someone.

    :func:`authenticate` gives identities; the demo and the tests may give loaded ``Account`` rows.
    """

    account: Identity | Account
    via: Identity | Account | None = None
    # The account's, copied once: a request reads them a dozen times and neither ever changes.
    id: str = field(init=False, repr=False, compare=False)
    role: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", self.account.id)
        object.__setattr__(self, "role", self.account.role)


# One indexed look-up (the unique token hash) from a token to its account, and one by primary key
# for ``On-Behalf-Of``; built once, run on a bare connection (no ORM objects to build).
_IDENTITY = (Account.id, Account.role, Account.display_name)
_IDENTITY_BY_TOKEN = prepared(
    select(*_IDENTITY)
    .join(ApiToken, ApiToken.account_id == Account.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)
_IDENTITY_BY_ID = prepared(select(*_IDENTITY).where(Account.id == bindparam("account_id")))


def authenticate(connection: Connection, *, token: str | None, on_behalf_of: str | None) -> Caller:
    """Resolve a bearer token (and an optional ``On-Behalf-Of``) to the caller.

    Each statement stands alone (no snapshot is needed across them: an account's role never
    changes), so ``connection`` may run outside any transaction.
    """
    if not token:
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    # Never cached: a revoked token fails on the very next request, in every process.
    row = run(connection, _IDENTITY_BY_TOKEN, {"token_hash": _hash_token(token)}).first()
    if row is None:
        raise Unauthorized("the token is not valid")
    account = Identity._make(row)
    if on_behalf_of is None:
        return Caller(account)
    if account.role != PLATFORM:
        raise Forbidden("only the platform may act on behalf of another account")
    row = run(connection, _IDENTITY_BY_ID, {"account_id": on_behalf_of}).first()
    if row is None or row.role not in PARTY_ROLES:
        raise Forbidden(f"On-Behalf-Of names no buyer or seller account: {on_behalf_of}")
    return Caller(Identity._make(row), via=account)


def relate(
    session: Session, *, manager: Identity | Account, staff_id: str, related_id: str, at: datetime
) -> bool:
    """Record that a staff member is related to a marketplace account (admin only): they will not
    be offered, nor may they take, that account's disputes. Returns whether the link is new."""
    if manager.role != ADMIN:
        raise Forbidden("only an admin records who is related to whom")
    staff = session.get(Account, staff_id)
    if staff is None or staff.role not in STAFF_ROLES:
        raise NotFound(f"no staff account {staff_id}")
    check_external_id(related_id, "related_id")
    if session.get(AccountLink, (staff_id, related_id)) is not None:
        return False
    session.add(AccountLink(staff_id=staff_id, related_id=related_id, created_at=at))
    return True
