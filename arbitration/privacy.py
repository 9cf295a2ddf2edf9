"""Removing personal data from closed disputes past retention, without breaking the audit chain.

What a person wrote or that identifies them (the description, the return's carrier and tracking
number, offer notes, the ruling's rationale, and the personal fields of the dispute's chain
events) is removed. A chain event keeps the SHA-256 of each removed value, which is all its hash
covers since hash version 2 (``audit.PERSONAL_FIELDS``), so ``audit verify`` still passes.
Events hashed before version 2 cannot be redacted without breaking their chain: they are kept
and counted. Amounts, statuses, outcomes and ids stay, for reports and appeals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from arbitration.audit import redact
from arbitration.models import Decision, Dispute, Event, Offer, PersonalDataPurge

REMOVED_RATIONALE = "[removed: personal data past retention]"


@dataclass
class PurgeReport:
    disputes: list[str] = field(default_factory=list)
    events_redacted: int = 0
    events_kept: int = 0  # hashed before version 2: their payload cannot be redacted


def purge(
    session: Session, *, older_than: timedelta, at: datetime, dry_run: bool = False
) -> PurgeReport:
    """Purge every dispute closed before ``at - older_than`` and not purged yet."""
    cutoff = at - older_than
    report = PurgeReport()
    due = session.scalars(
        select(Dispute)
        .where(
            Dispute.closed_at.is_not(None),
            Dispute.closed_at <= cutoff,
            ~exists().where(PersonalDataPurge.dispute_id == Dispute.id),
        )
        .order_by(Dispute.id)
    ).all()
    for dispute in due:
        report.disputes.append(dispute.id)
        if dry_run:
            continue
        removed: dict[str, object] = {}
        if dispute.description:
            dispute.description = ""
            removed["description"] = True
        if dispute.return_carrier or dispute.return_tracking_number:
            dispute.return_carrier = dispute.return_tracking_number = None
            removed["return_shipment"] = True
        notes = session.execute(
            update(Offer).where(Offer.dispute_id == dispute.id, Offer.note != "").values(note="")
        )
        removed["offer_notes"] = notes.rowcount  # type: ignore[attr-defined]
        rationales = session.execute(
            update(Decision)
            .where(Decision.dispute_id == dispute.id)
            .values(rationale=REMOVED_RATIONALE)
        )
        removed["decision_rationales"] = rationales.rowcount  # type: ignore[attr-defined]
        redacted = kept = 0
        for event in session.scalars(select(Event).where(Event.dispute_id == dispute.id)):
            if event.hash_version == 1:
                kept += 1
            elif redact(event):
                redacted += 1
        removed["events_redacted"] = redacted
        report.events_redacted += redacted
        report.events_kept += kept
        session.add(PersonalDataPurge(dispute_id=dispute.id, purged_at=at, removed=removed))
    return report
