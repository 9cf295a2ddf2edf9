"""Trust & safety review (DESIGN §5): approve, shorten, reject or revoke a penalty; the seller's
one appeal and its ruling; a violation T&S confirms by hand (a severe auto-detection).

Each use case locks the seller's standing row before it looks at the penalty again, so two
reviews of one seller's penalties run one after the other, and records what it did in the seller's
hash chain. A penalty in the wrong state is a 409 naming why; the wrong role a 403.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.accounts import SELLER, TRUST_SAFETY, Caller
from arbitration.errors import Conflict, Forbidden, NotFound, ValidationFailed
from arbitration.models import Account, Dispute
from arbitration.policy import Policy
from penalties import chain, ledger
from penalties.explain import appeal_deadline
from penalties.models import (
    ACTIVE,
    EXPIRED,
    FROM_TRUST_SAFETY,
    PENDING_REVIEW,
    REJECTED,
    REVOKED,
    Penalty,
    SellerStanding,
    Violation,
)

# A penalty appeal's life: the seller files it, trust & safety upholds the penalty or grants it.
APPEAL_PENDING = "pending"
APPEAL_UPHELD = "upheld"
APPEAL_GRANTED = "granted"
APPEAL_STATUSES = (APPEAL_PENDING, APPEAL_UPHELD, APPEAL_GRANTED)
APPEAL_RESULTS = ("uphold", "grant")
LIVE = (PENDING_REVIEW, ACTIVE)


def _require_trust_safety(caller: Caller, doing: str) -> None:
    if caller.via is not None or caller.role != TRUST_SAFETY:
        raise Forbidden(f"only trust & safety {doing}")


def _locked(
    session: Session, penalty_id: str, policy: Policy, at: datetime
) -> tuple[Penalty, SellerStanding]:
    """The penalty, re-read after its seller's standing row is locked."""
    penalty = session.get(Penalty, penalty_id)
    if penalty is None:
        raise NotFound(f"no penalty {penalty_id}")
    standing = ledger.lock_standing(
        session, seller_id=penalty.seller_id, policy=policy.penalties, at=at
    )
    session.refresh(penalty)
    return penalty, standing


def _require_status(penalty: Penalty, allowed: tuple[str, ...], doing: str) -> None:
    if penalty.status not in allowed:
        raise Conflict(
            f"a penalty that is {penalty.status} cannot be {doing}",
            code=f"penalty_{penalty.status}",
            details={"status": penalty.status, "allowed_from": list(allowed)},
        )


def _record(
    session: Session,
    standing: SellerStanding,
    caller: Caller,
    action: str,
    penalty: Penalty,
    at: datetime,
    **payload: object,
) -> None:
    chain.append(
        session,
        standing=standing,
        actor_id=caller.id,
        action=action,
        payload={"penalty_id": penalty.id, "kind": penalty.kind, **payload},
        at=at,
    )


# Review -----------------------------------------------------------------------------------------


def approve(
    session: Session,
    *,
    caller: Caller,
    penalty_id: str,
    policy: Policy,
    at: datetime,
    duration: timedelta | None = None,
    note: str | None = None,
) -> Penalty:
    """A penalty waiting for review applies from now, for its proposed duration or a shorter one."""
    _require_trust_safety(caller, "approves penalties")
    penalty, standing = _locked(session, penalty_id, policy, at)
    _require_status(penalty, (PENDING_REVIEW,), "approved")
    if duration is not None:
        proposed = penalty.duration_seconds
        seconds = int(duration.total_seconds())
        if proposed is None:
            raise ValidationFailed(
                "this penalty has no duration to shorten",
                details={"duration_seconds": [f"a {penalty.kind} has no end date"]},
            )
        if not 0 < seconds <= proposed:
            raise ValidationFailed(
                "a penalty can be shortened, never lengthened",
                details={"duration_seconds": [f"between 1 and {proposed} (the proposed duration)"]},
            )
        penalty.duration_seconds = seconds
    ledger.start(session, penalty, at=at)
    penalty.reviewed_by, penalty.reviewed_at, penalty.review_note = caller.id, at, note
    _record(
        session,
        standing,
        caller,
        "penalty-approved",
        penalty,
        at,
        duration_seconds=penalty.duration_seconds,
        ends_at=penalty.ends_at.isoformat() if penalty.ends_at else None,
        note=note,
    )
    return penalty


def reject(
    session: Session, *, caller: Caller, penalty_id: str, note: str, policy: Policy, at: datetime
) -> Penalty:
    """A penalty waiting for review never applies."""
    _require_trust_safety(caller, "rejects penalties")
    penalty, standing = _locked(session, penalty_id, policy, at)
    _require_status(penalty, (PENDING_REVIEW,), "rejected")
    ledger.end(session, penalty, status=REJECTED, at=at)
    penalty.reviewed_by, penalty.reviewed_at, penalty.review_note = caller.id, at, note
    _record(session, standing, caller, "penalty-rejected", penalty, at, note=note)
    return penalty


def revoke(
    session: Session, *, caller: Caller, penalty_id: str, reason: str, policy: Policy, at: datetime
) -> Penalty:
    """Trust & safety lifts a penalty, pending or in force, saying why."""
    _require_trust_safety(caller, "revokes penalties")
    penalty, standing = _locked(session, penalty_id, policy, at)
    _require_status(penalty, LIVE, "revoked")
    ledger.end(session, penalty, status=REVOKED, at=at, reason=reason)
    _record(session, standing, caller, "penalty-revoked", penalty, at, reason=reason)
    return penalty


# The seller's appeal ----------------------------------------------------------------------------


def appeal(
    session: Session, *, caller: Caller, penalty_id: str, reason: str, policy: Policy, at: datetime
) -> Penalty:
    """The penalised seller appeals once, within the window, while the penalty is pending or on."""
    if caller.role != SELLER:
        raise Forbidden("only the penalised seller appeals a penalty")
    penalty = session.get(Penalty, penalty_id)
    if penalty is None or penalty.seller_id != caller.id:
        raise NotFound(f"no penalty {penalty_id}")
    penalty, standing = _locked(session, penalty_id, policy, at)
    if penalty.appeal_status is not None:
        raise Conflict(
            "this penalty was already appealed: a penalty is appealed once",
            code="penalty_appeal_used",
            details={"appeal_status": penalty.appeal_status},
        )
    _require_status(penalty, LIVE, "appealed")
    deadline = appeal_deadline(penalty, policy.deadlines.penalty_appeal_window)
    if at > deadline:
        raise Conflict(
            "the window to appeal this penalty has closed",
            code="penalty_appeal_window_closed",
            details={"appeal_before": deadline.isoformat()},
        )
    penalty.appeal_status, penalty.appeal_reason, penalty.appealed_at = APPEAL_PENDING, reason, at
    actor = caller.id if caller.via is None else f"{caller.id} via {caller.via.id}"
    chain.append(
        session,
        standing=standing,
        actor_id=caller.id,
        action="penalty-appealed",
        payload={"penalty_id": penalty.id, "kind": penalty.kind, "reason": reason, "by": actor},
        at=at,
    )
    return penalty


def appeal_decision(
    session: Session,
    *,
    caller: Caller,
    penalty_id: str,
    result: str,
    rationale: str,
    policy: Policy,
    at: datetime,
) -> Penalty:
    """Trust & safety rules on the appeal; granting it revokes the penalty and gives back the
    points of the violation that crossed the threshold (the ladder is recomputed)."""
    _require_trust_safety(caller, "rules on penalty appeals")
    if result not in APPEAL_RESULTS:
        raise ValidationFailed("uphold or grant?", details={"result": ["one of: uphold, grant"]})
    penalty, standing = _locked(session, penalty_id, policy, at)
    if penalty.appeal_status != APPEAL_PENDING:
        raise Conflict(
            "this penalty has no appeal waiting for a ruling",
            code="no_pending_penalty_appeal",
            details={"appeal_status": penalty.appeal_status},
        )
    penalty.appeal_status = APPEAL_GRANTED if result == "grant" else APPEAL_UPHELD
    penalty.appeal_decided_at, penalty.appeal_rationale = at, rationale
    _record(
        session,
        standing,
        caller,
        "penalty-appeal-decided",
        penalty,
        at,
        result=result,
        rationale=rationale,
    )
    if result == "grant":
        trigger = _trigger(session, penalty)
        if trigger is not None:
            ledger.revoke_violation(
                session,
                violation=trigger,
                reason=f"the seller's appeal of penalty {penalty.id} was granted",
                actor_id=caller.id,
                policy=policy.penalties,
                at=at,
            )
        # The recomputed ladder may have revoked it already (same object: the identity map).
        if penalty.status in (*LIVE, EXPIRED):
            ledger.end(session, penalty, status=REVOKED, at=at, reason="appeal granted")
            _record(session, standing, caller, "penalty-revoked", penalty, at, reason="appeal")
    return penalty


def _trigger(session: Session, penalty: Penalty) -> Violation | None:
    """The violation that crossed the threshold: the last one counted that still stands."""
    for violation_id in reversed(penalty.violation_ids):
        violation = session.get(Violation, violation_id)
        if violation is not None and violation.status == ACTIVE:
            return violation
    return None


# Confirming a violation by hand ------------------------------------------------------------------


def confirm_violation(
    session: Session,
    *,
    caller: Caller,
    seller_id: str,
    kind: str,
    note: str,
    policy: Policy,
    at: datetime,
    dispute_id: str | None = None,
) -> Violation:
    """Trust & safety confirms a violation (a severe auto-detection, say): on the ledger it goes."""
    _require_trust_safety(caller, "confirms violations")
    seller = session.get(Account, seller_id)
    if seller is None or seller.role != SELLER:
        raise NotFound(f"no seller {seller_id}")
    problems: dict[str, list[str]] = {}
    if kind not in policy.penalties.violations:
        problems["kind"] = [f"one of: {', '.join(sorted(policy.penalties.violations))}"]
    if dispute_id is not None:
        found = session.scalar(select(Dispute.seller_id).where(Dispute.id == dispute_id))
        if found != seller_id:
            problems["dispute_id"] = [f"no dispute {dispute_id} against seller {seller_id}"]
    if problems:
        raise ValidationFailed("the violation cannot be confirmed", details=problems)
    violation = ledger.record_violation(
        session,
        seller_id=seller_id,
        kind=kind,
        source=FROM_TRUST_SAFETY,
        actor_id=caller.id,
        policy=policy.penalties,
        at=at,
        dispute_id=dispute_id,
    )
    standing = ledger.lock_standing(session, seller_id=seller_id, policy=policy.penalties, at=at)
    chain.append(
        session,
        standing=standing,
        actor_id=caller.id,
        action="violation-confirmed",
        payload={"violation_id": violation.id, "kind": kind, "note": note},
        at=at,
    )
    return violation
