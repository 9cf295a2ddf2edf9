"""The engine's codes (statuses, reasons, actions, roles...) as words people read, in their language.

``label(code)`` gives the English words for a code, translated by the catalogue; a code with no
entry shows with its underscores and hyphens as spaces, so a new code is readable on day one.
"""

from __future__ import annotations

from flask_babel import gettext


def N_(text: str) -> str:
    """Marks a message for ``pybabel extract``; translated when shown (``label``)."""
    return text


LABELS = {
    # Dispute states and outcomes
    "awaiting_seller": N_("awaiting the seller"),
    "seller_rejected": N_("rejected by the seller"),
    "awaiting_return": N_("awaiting the return"),
    "awaiting_fulfilment": N_("awaiting the seller's delivery"),
    "fulfilment_in_transit": N_("goods on their way to the buyer"),
    "return_in_transit": N_("return in transit"),
    "gathering_evidence": N_("gathering evidence"),
    "awaiting_decision": N_("awaiting a ruling"),
    "decided": N_("decided"),
    "under_appeal": N_("under appeal"),
    "closed": N_("closed"),
    "refunded": N_("refunded"),
    "partially_refunded": N_("partially refunded"),
    "seller_favored": N_("for the seller"),
    "settled": N_("settled"),
    "withdrawn": N_("withdrawn"),
    "abandoned": N_("abandoned"),
    "return_not_shipped": N_("return not shipped"),
    # Actions and audit entries
    "file": N_("filed"),
    "accept": N_("accept"),
    "reject": N_("reject"),
    "offer": N_("offer"),
    "accept-offer": N_("accept the offer"),
    "modify": N_("modify"),
    "withdraw": N_("withdraw"),
    "escalate": N_("escalate to the platform"),
    "ship-return": N_("return shipped"),
    "confirm-return": N_("return received"),
    "dispute-return": N_("return disputed"),
    "request-extension": N_("extension requested"),
    "evidence-done": N_("evidence done"),
    "add-evidence": N_("evidence added"),
    "abandon": N_("abandoned"),
    "expire-return": N_("return window expired"),
    "close-evidence": N_("evidence window closed"),
    "claim": N_("take the case"),
    "reassign": N_("reassign"),
    "request-info": N_("ask for more information"),
    "decide": N_("rule"),
    "appeal": N_("appeal"),
    "appeal-decision": N_("decide the appeal"),
    "finalize": N_("ruling final"),
    "flag-systemic": N_("flagged systemic"),
    "refund-confirmed": N_("refund confirmed"),
    "remind": N_("reminder"),
    "sla-breach": N_("SLA breached"),
    "sla-escalate": N_("escalated to a senior"),
    "refund-overdue": N_("refund overdue"),
    # Roles and parties
    "buyer": N_("buyer"),
    "seller": N_("seller"),
    "both": N_("both"),
    "arbitrator": N_("arbitrator"),
    "senior_arbitrator": N_("senior arbitrator"),
    "trust_safety": N_("trust & safety"),
    "platform": N_("platform"),
    "admin": N_("admin"),
    "logistics": N_("logistics"),
    "shared": N_("shared"),
    # Reasons, remedies, categories, priorities
    "not_received": N_("not received"),
    "not_as_described": N_("not as described"),
    "damaged": N_("damaged"),
    "wrong_item": N_("wrong item"),
    "missing_parts": N_("missing parts"),
    "counterfeit": N_("counterfeit"),
    "quality_issue": N_("quality issue"),
    "safety_hazard": N_("safety hazard"),
    "no_reason_7_days": N_("7-day no-reason return"),
    "refund_only": N_("refund only"),
    "return_and_refund": N_("return and refund"),
    "exchange": N_("exchange"),
    "repair": N_("repair"),
    "reship": N_("send again"),
    "exchanged": N_("exchanged"),
    "repaired": N_("repaired"),
    "reshipped": N_("sent again"),
    "unjustified_claim": N_("unjustified claim"),
    "missed_fulfilment": N_("missed fulfilment"),
    "product": N_("product"),
    "service": N_("service"),
    "urgent": N_("urgent"),
    "high": N_("high"),
    "normal": N_("normal"),
    # Rulings
    "buyer_full_refund": N_("full refund to the buyer"),
    "buyer_partial_refund": N_("partial refund to the buyer"),
    "uphold": N_("uphold"),
    "overturn": N_("overturn"),
    "grant": N_("grant"),
    "store_credit": N_("store credit"),
    "coupon": N_("coupon"),
    # Evidence
    "photo": N_("photo"),
    "video": N_("video"),
    "document": N_("document"),
    "chat_log": N_("chat log"),
    "shipping_proof": N_("shipping proof"),
    "statement": N_("statement"),
    # Penalties and violations
    "warning": N_("warning"),
    "public_warning": N_("public warning"),
    "listing_restriction": N_("listing restriction"),
    "search_shielding": N_("search shielding"),
    "account_freeze": N_("account freeze"),
    "permanent_ban": N_("permanent ban"),
    "pending_review": N_("pending review"),
    "active": N_("active"),
    "expired": N_("expired"),
    "revoked": N_("revoked"),
    "rejected": N_("rejected"),
    "pending": N_("pending"),
    "granted": N_("granted"),
    "upheld": N_("upheld"),
    "general": N_("general"),
    "severe": N_("severe"),
    "non_delivery": N_("non-delivery"),
    "unjustified_rejection": N_("unjustified rejection"),
    "fabricated_evidence": N_("fabricated evidence"),
    "unsafe_product": N_("unsafe product"),
    # Queue filters
    "assigned": N_("assigned"),
    "priority": N_("priority"),
    "category": N_("category"),
    "reason": N_("reason"),
    "any": N_("any"),
    "unassigned": N_("unassigned"),
    "mine": N_("mine"),
    # Timeline payload fields
    "text": N_("text"),
    "question": N_("question"),
    "amount": N_("amount"),
    "outcome": N_("outcome"),
    "rationale": N_("rationale"),
    "result": N_("result"),
}


def label(code: str | None) -> str:
    if not code:
        return ""
    return str(gettext(LABELS.get(code, code.replace("_", " ").replace("-", " "))))


def shown(value: object) -> str:
    """A value from an event's payload: a known code as words, anything else as it was written."""
    if isinstance(value, str) and value in LABELS:
        return label(value)
    return str(value)
