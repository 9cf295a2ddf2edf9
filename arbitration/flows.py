"""The actions on a dispute, all through one gate (``act``), and the registry that declares them.

The gate asks the lifecycle table whether the actor may act, then claims the dispute with a
compare-and-set on status and version (zero rows: someone else moved first, 409), applies the
action's declared effect, restarts or keeps the deadline, instructs any refund, and appends the
audit event, all in the caller's unit of work. Where the dispute as read cannot have changed
(``db.reads_are_current``: SQLite's one writer; or read under a row lock, as ``act`` reads it on
PostgreSQL), the claim cannot fail and is not run: its new status and version go out with the
action's other fields, in one UPDATE of the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified, instance_dict, instance_state

from arbitration import lifecycle
from arbitration.accounts import Caller
from arbitration.actions import Action, ActionContext
from arbitration.audit import hold_head, new_link, write_link
from arbitration.compensations import instruct_compensation
from arbitration.db import execute_core, execute_later, reads_are_current
from arbitration.deadlines import cancel_pending, depends_on_shipping, plan_timer, write_timers
from arbitration.disputes import (
    actor_of,
    allowed_actions,
    facts_for,
    get_dispute,
    read_locked,
)
from arbitration.errors import Conflict, Forbidden, InvalidTransition, NotFound
from arbitration.events import DisputeClosed, record
from arbitration.models import Dispute, Order
from arbitration.party_actions import PARTY_ACTIONS
from arbitration.policy import Policy
from arbitration.refunds import instruct_refund
from arbitration.remedy_actions import REMEDY_ACTIONS
from arbitration.rulings import RULING_ACTIONS
from arbitration.statements import prepared

# Every action, declared once; the lifecycle table says who may take each, where.
ACTIONS: dict[str, Action] = {
    action.name: action for action in (*PARTY_ACTIONS, *REMEDY_ACTIONS, *RULING_ACTIONS)
}


def authorize(
    session: Session, *, dispute_id: str, action: str, caller: Caller | None
) -> tuple[Dispute, str]:
    """The dispute and the caller's part in it, if the table lets them take ``action`` now.

    404 if the caller may not see the dispute, 409 (with what they may do) if not now.
    """
    dispute, actor, _rule = _authorize(session, dispute_id, action, caller)
    return dispute, actor


def _authorize(
    session: Session, dispute_id: str, action: str, caller: Caller | None, *, lock: bool = False
) -> tuple[Dispute, str, lifecycle.Rule]:
    if caller is None:
        dispute = session.get(Dispute, dispute_id)
        if dispute is None:
            raise NotFound(f"no dispute {dispute_id}")
    else:
        dispute = get_dispute(session, caller=caller, dispute_id=dispute_id, lock=lock)
    if action not in ACTIONS:
        raise NotFound(f"no action {action}")
    actor = actor_of(dispute, caller)
    caller_id = caller.id if caller else lifecycle.SYSTEM
    verdict = (
        lifecycle.evaluate(dispute.status, action, facts_for(dispute, actor, caller_id))
        if actor
        else lifecycle.Verdict(False, refusal="you are not a party to this dispute")
    )
    if verdict.forbidden:
        raise Forbidden(verdict.refusal)
    if not verdict.allowed:
        raise InvalidTransition(
            verdict.refusal,
            details={
                "status": dispute.status,
                "allowed_actions": allowed_actions(dispute, caller),
            },
        )
    assert actor is not None and verdict.rule is not None
    return dispute, actor, verdict.rule


def act(
    session: Session,
    *,
    dispute_id: str,
    action: str,
    caller: Caller | None,
    params: dict[str, Any] | None = None,
    policy: Policy,
    at: datetime,
) -> Dispute:
    """Take ``action`` on the dispute as ``caller`` (None: the system, for deadlines)."""
    dispute, actor, rule = _authorize(session, dispute_id, action, caller, lock=True)
    taken = rule.takes or action  # the table may answer a timer with another action
    effect = ACTIONS[taken].effect
    if effect is None:
        raise NotFound(f"'{action}' has an endpoint of its own")
    caller_id = caller.id if caller else lifecycle.SYSTEM
    from_status = dispute.status
    written = _claim(session, dispute, to=rule.dest, at=at)  # the columns ``_write_changes`` writes
    moves = rule.dest != from_status
    if moves:
        # What ran in the state it leaves is over; no effect reads or adds a dispute's deadline
        # rows, so they are cancelled now, before the effect changes anything to flush.
        cancel_pending(session, dispute_id=dispute.id, at=at, flush=bool(written))

    change = effect(ActionContext(session, dispute, actor, caller_id, params or {}, policy, at))
    _set(dispute, change.fields, written)
    timers: list[dict[str, object]] = []
    if rule.dest == lifecycle.CLOSED:
        _close(session, dispute, outcome=change.outcome or rule.outcome, at=at, written=written)
    elif moves or change.restart_timer:
        if not moves:
            cancel_pending(session, dispute_id=dispute.id, at=at)
        timer = plan_timer(
            dispute,
            order_shipped=_order_shipped(session, dispute, rule.dest),
            policy=policy,
            at=at,
        )
        _set(
            dispute,
            {
                "deadline_action": timer.deadline_action,
                "deadline_due_at": timer.deadline_due_at,
                "sla_due_at": timer.sla_due_at,
            },
            written,
        )
        timers = timer.rows
    if change.refund_amount is not None:
        instruct_refund(
            session,
            dispute=dispute,
            amount=change.refund_amount,
            ordered_by=change.refund_ordered_by,
            policy=policy,
            at=at,
            timers=timers,
        )
    if change.compensation is not None:
        kind, amount = change.compensation
        instruct_compensation(
            session,
            dispute=dispute,
            kind=kind,
            amount=amount,
            ordered_by=change.compensation_ordered_by,
            policy=policy,
            at=at,
            timers=timers,
        )
    # The state's timers and the watches of what it ordered, in one statement; after every
    # cancel, so none of them is cancelled with what ran before.
    write_timers(session, timers)
    payload = dict(change.payload)
    if caller and caller.via:
        payload["via"] = caller.via.id
    link = new_link(
        session,
        dispute_id=dispute.id,
        actor_id=caller_id,
        action=taken,
        from_status=from_status,
        to_status=rule.dest,
        payload=payload,
        at=at,
    )
    _write_changes(session, dispute, written)
    write_link(session, link)
    session.flush()
    return dispute


# Built once: building a statement costs more than running it.
_CLAIM = prepared(
    update(Dispute)
    .where(
        Dispute.id == bindparam("dispute_id"),
        Dispute.status == bindparam("from_status"),
        Dispute.version == bindparam("at_version"),
    )
    .values(
        status=bindparam("to_status"),
        version=bindparam("next_version"),
        updated_at=bindparam("at"),
    )
    .returning(Dispute.event_count, Dispute.last_event_hash)
    .execution_options(synchronize_session=False)
)


def _claim(session: Session, dispute: Dispute, *, to: str, at: datetime) -> set[str]:
    """Claim the move to ``to``: the row must still be in the status and at the version read, or
    we lost a race (409). The object shows the claim's status, version and time from now on.

    The row is then this transaction's (locked on PostgreSQL, the whole file on SQLite), and the
    audit links appended from now on are counted on the object (``hold_head``). Where what was
    read is current (``reads_are_current``, or the row read under its lock: ``read_locked``), the
    compare-and-set cannot fail and its head is the one read: nothing is run, and the columns it
    would have written are returned, for ``_write_changes`` to write with the action's. Else (the
    deadlines' system actions, a session holding the dispute from before) the claim runs; none
    are returned.
    """
    version = dispute.version
    claimed: dict[str, Any] = {"status": to, "version": version + 1, "updated_at": at}
    if reads_are_current(session) or read_locked(session, dispute.id):
        deferred = set(claimed)
    else:
        deferred = set()
        row = execute_core(
            session,
            _CLAIM,
            {
                "dispute_id": dispute.id,
                "from_status": dispute.status,
                "at_version": version,
                "to_status": to,
                "next_version": version + 1,
                "at": at,
            },
        ).one_or_none()
        if row is None:
            raise Conflict("the dispute changed while you were acting; reload it and try again")
        claimed = {
            **claimed,
            "event_count": row.event_count,
            "last_event_hash": row.last_event_hash,
        }
    # ``set_committed_value`` for them all at once (it is these two steps, an attribute a call).
    state = instance_state(dispute)
    state.dict.update(claimed)
    state._commit(state.dict, claimed)
    hold_head(session, dispute)
    return deferred


_DISPUTES = cast(Table, Dispute.__table__)
# No ``values()``: the SET clause is the columns of the parameters it runs with (SQLAlchemy compiles
# and caches one statement per set of columns).
_UPDATE_DISPUTE = prepared(update(_DISPUTES).where(_DISPUTES.c.id == bindparam("dispute_key")))
_COLUMN_ATTRIBUTES = frozenset(
    attribute.key
    for attribute in inspect(Dispute).column_attrs
    if attribute.key == attribute.columns[0].key  # the parameters name columns
)


# The columns ``_set`` may put straight into the object: those no validator watches (setting the
# priority sets the queue's rank).
_PLAIN_COLUMNS = _COLUMN_ATTRIBUTES - inspect(Dispute).validators.keys()


def _set(dispute: Dispute, values: dict[str, Any], written: set[str]) -> None:
    """Set the dispute's ``values`` for ``_write_changes`` to write (``written`` names them): a
    plain column goes straight into the object's dict, without the ORM's change events (five
    calls an attribute, for a change the one UPDATE writes and forgets); anything else (a
    relationship, a validated column) as the ORM sets it."""
    state_dict = instance_dict(dispute)
    for name, value in values.items():
        if name in _PLAIN_COLUMNS:
            state_dict[name] = value
            written.add(name)
        else:
            setattr(dispute, name, value)


def _write_changes(session: Session, dispute: Dispute, written: set[str]) -> None:
    """Write what the action changed on the dispute (the claim's columns unless it ran, its
    effect's fields, the timer's, a closing's: ``written``; the chain's head, a refund's amount:
    the ORM's changes) in one plain UPDATE of those columns, and make the object clean.

    The unit of work would cost more than the statement, whatever the effect set: the row is this
    transaction's since the claim. Anything else pending (an offer, a refund) is flushed first.
    """
    state = instance_state(dispute)
    changed = state.committed_state
    if not changed.keys() <= _COLUMN_ATTRIBUTES:
        # A relationship changed: the unit of work writes it all, ``written`` with it.
        for key in written:
            flag_modified(dispute, key)
        return
    if not changed and not written:
        return  # nothing to write
    values = {key: state.dict[key] for key in (*written, *changed)}
    # What a flush does to the objects it wrote (there is no public call for it).
    state._commit_all(state.dict, session.identity_map)
    execute_later(session, _UPDATE_DISPUTE, {"dispute_key": dispute.id, **values})


def _order_shipped(session: Session, dispute: Dispute, status: str) -> bool:
    """Whether the order shipped, read only when the timer of ``status`` depends on it."""
    if not depends_on_shipping(status):
        return False
    order = session.get(Order, dispute.order_id)
    assert order is not None
    return order.shipped


def _close(
    session: Session, dispute: Dispute, *, outcome: str | None, at: datetime, written: set[str]
) -> None:
    """Close the dispute (its deadlines were cancelled as it left its state)."""
    _set(
        dispute,
        {
            "outcome": outcome,
            "closed_at": at,
            "open_order_id": None,
            "deadline_action": None,
            "deadline_due_at": None,
            "sla_due_at": None,
        },
        written,
    )
    record(
        session,
        DisputeClosed(
            dispute_id=dispute.id,
            at=at,
            seller_id=dispute.seller_id,
            buyer_id=dispute.buyer_id,
            outcome=outcome,
        ),
    )
