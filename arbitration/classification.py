"""Give a new dispute its category and priority at filing (DESIGN.md section 2).

Pure rules over the policy, so they can be tuned in the policy file and tested without a database.
Batch scope needs the other open disputes and is detected where the database is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from arbitration.policy import ClassificationPolicy

Priority = Literal["urgent", "high", "normal"]
PRIORITIES: tuple[Priority, ...] = ("urgent", "high", "normal")  # most pressing first


@dataclass(frozen=True)
class Classification:
    """Where a dispute belongs (``category``) and how soon it must be ruled on (``priority``)."""

    category: str
    priority: Priority


def classify(*, reason: str, amount: int, policy: ClassificationPolicy) -> Classification:
    """Classify by reason and amount (minor units); thresholds are inclusive."""
    try:
        category = policy.categories[reason]
    except KeyError:
        raise ValueError(f"unknown reason {reason!r}") from None
    return Classification(category=category, priority=_priority(reason, amount, policy))


def _priority(reason: str, amount: int, policy: ClassificationPolicy) -> Priority:
    if reason in policy.urgent_reasons or amount >= policy.urgent_amount:
        return "urgent"
    if reason in policy.high_reasons:
        return "high"
    if reason in policy.high_amount_reasons and amount >= policy.high_amount:
        return "high"
    return "normal"


def priority_rank(priority: str) -> int:
    """A priority's place in the queue, most pressing first (urgent 0): the stored sort key."""
    return PRIORITIES.index(cast(Priority, priority))


NORMAL_RANK = priority_rank("normal")
