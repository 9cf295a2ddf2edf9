"""What an action is: declared once, with what it does, what it takes and how it is described.

Every action a dispute knows is one ``Action``: the lifecycle table says who may take it where;
the declaration says what it does (``effect``), which input it takes (the name of its schema in
``api.schemas``, so the core never imports marshmallow) and the sentence that documents it. The
HTTP routes, the allowed lists and the tests are derived from the declarations (``flows.ACTIONS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from arbitration.errors import ValidationFailed
from arbitration.models import Dispute
from arbitration.policy import Policy
from arbitration.refunds import AGREEMENT


@dataclass
class Change:
    """What an action does beyond moving the status: field updates, timers, refund, event payload."""

    fields: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    restart_timer: bool = False
    refund_amount: int | None = None
    # What ordered the refund: the parties' agreement, or a decision's id (refunds.instruct_refund).
    refund_ordered_by: str = AGREEMENT
    # The outcome a closing action ends with, when the table cannot know it (a ruling's).
    outcome: str | None = None
    # A compensation to instruct (DESIGN §1a), ``(kind, amount)``, ordered by ``compensation_ordered_by``.
    compensation: tuple[str, int] | None = None
    compensation_ordered_by: str = AGREEMENT


@dataclass(frozen=True)
class ActionContext:
    session: Session
    dispute: Dispute
    actor: str
    caller_id: str
    params: dict[str, Any]
    policy: Policy
    at: datetime


Effect = Callable[[ActionContext], Change]


@dataclass(frozen=True)
class Action:
    """One action, declared once.

    ``input`` names the request schema in ``api.schemas`` (``EmptyIn`` for none); ``None`` means
    the action has no route of its own: the system takes it, or it has its own endpoint (evidence).
    ``effect`` is None for a permission the table grants without a transition (``add-evidence``).
    """

    name: str
    summary: str
    effect: Effect | None
    input: str | None = "EmptyIn"


def require_text(params: dict[str, Any], name: str) -> str:
    value = (params.get(name) or "").strip()
    if not value:
        raise ValidationFailed(f"'{name}' is required", details={name: ["required"]})
    return value


def no_change(ctx: ActionContext) -> Change:
    return Change()
