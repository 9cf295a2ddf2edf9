"""The dispute lifecycle, declared once (DESIGN.md §1).

Every state, action, actor, guard, deadline and "whose move" lives in the tables below, fed to one
``transitions.Machine`` built at import. The machine is asked "may this actor do this now, and where
does it lead?"; persisting the answer is the use case's job (a compare-and-set, never a callback).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from transitions import Machine, Transition

# States -------------------------------------------------------------------------------------------

AWAITING_SELLER = "awaiting_seller"
SELLER_REJECTED = "seller_rejected"
AWAITING_RETURN = "awaiting_return"
RETURN_IN_TRANSIT = "return_in_transit"
AWAITING_FULFILMENT = "awaiting_fulfilment"
FULFILMENT_IN_TRANSIT = "fulfilment_in_transit"
GATHERING_EVIDENCE = "gathering_evidence"
AWAITING_DECISION = "awaiting_decision"
DECIDED = "decided"
UNDER_APPEAL = "under_appeal"
CLOSED = "closed"

STATES = (
    AWAITING_SELLER,
    SELLER_REJECTED,
    AWAITING_RETURN,
    RETURN_IN_TRANSIT,
    AWAITING_FULFILMENT,
    FULFILMENT_IN_TRANSIT,
    GATHERING_EVIDENCE,
    AWAITING_DECISION,
    DECIDED,
    UNDER_APPEAL,
    CLOSED,
)
OPEN_STATES = STATES[:-1]

# How a closed dispute ended (DESIGN §1): by the table's own moves, or by a ruling's terms.
OUTCOMES = (
    "refunded",
    "partially_refunded",
    "seller_favored",
    "settled",
    "withdrawn",
    "abandoned",
    "return_not_shipped",
    "exchanged",
    "repaired",
    "reshipped",
)

# What a buyer may ask for (DESIGN §2 and §1a): money back, or the goods made good.
REFUND_ONLY_REMEDY = "refund_only"
RETURN_AND_REFUND = "return_and_refund"
EXCHANGE = "exchange"
REPAIR = "repair"
RESHIP = "reship"
REMEDIES = (REFUND_ONLY_REMEDY, RETURN_AND_REFUND, EXCHANGE, REPAIR, RESHIP)
# Remedies the seller fulfils by sending goods; the first two need the buyer's item back first.
RETURN_THEN_FULFIL = (EXCHANGE, REPAIR)
FULFILMENTS = (EXCHANGE, REPAIR, RESHIP)
# How a fulfilled remedy closes once the buyer has the goods.
FULFILLED_OUTCOME = {EXCHANGE: "exchanged", REPAIR: "repaired", RESHIP: "reshipped"}

# Whose move it is in each state (DESIGN §1: buyer, seller, both, platform, or none).
AWAITING: dict[str, str | None] = {
    AWAITING_SELLER: "seller",
    SELLER_REJECTED: "buyer",
    AWAITING_RETURN: "buyer",
    RETURN_IN_TRANSIT: "seller",
    AWAITING_FULFILMENT: "seller",
    FULFILMENT_IN_TRANSIT: "buyer",
    GATHERING_EVIDENCE: "both",
    AWAITING_DECISION: "platform",
    DECIDED: None,
    UNDER_APPEAL: "platform",
    CLOSED: None,
}

# Actors: the two parties, the platform's staff, and the clock.
BUYER = "buyer"
SELLER = "seller"
ARBITRATOR = "arbitrator"
SENIOR_ARBITRATOR = "senior_arbitrator"
SYSTEM = "system"
ACTORS = (BUYER, SELLER, ARBITRATOR, SENIOR_ARBITRATOR, SYSTEM)
PARTIES = (BUYER, SELLER)
STAFF_ACTORS = frozenset({ARBITRATOR, SENIOR_ARBITRATOR})


@dataclass(frozen=True)
class Facts:
    """What the guards may look at: the dispute as it stands and who is asking."""

    actor: str
    remedy: str = "refund_only"
    amount: int = 10_000
    has_pending_offer: bool = False
    # What the pending offer proposes instead of a partial refund: a remedy, or None (money).
    offered_remedy: str | None = None
    # A repair's promised date is stated (DESIGN §1a: the seller ships after stating it).
    repair_promised: bool = False
    extension_used: bool = False
    evidence_done: bool = False
    other_party_evidence_done: bool = False
    info_requestable: bool = True
    assigned_to_actor: bool = False
    assigned_to_other: bool = False
    actor_was_first_arbitrator: bool = False
    may_appeal: bool = False
    # The staff member is linked to the buyer or the seller (their own account, a relative's…).
    conflicted: bool = False
    # The buyer's review flag is raised (DESIGN §5a); looked up only for the system's moves.
    buyer_under_review: bool = False


@dataclass(frozen=True)
class Guard:
    """A named condition with the sentence a refused caller reads.

    ``forbids`` marks a refusal about who the caller is rather than where the case stands (the
    case is another arbitrator's, or they are related to a party): 403, not 409 (DESIGN §4).
    """

    check: Callable[[Facts], bool]
    refusal: str
    forbids: bool = False

    def __call__(self, facts: Facts) -> bool:
        return self.check(facts)


@dataclass(frozen=True)
class Rule:
    """``takes`` names the action really taken when it differs from the one asked for: a
    timer fires its state's action, and the table may answer with another (``refer-to-platform``
    instead of the system's ``accept`` when the buyer is under review)."""

    action: str
    source: str
    dest: str
    actors: frozenset[str]
    guards: tuple[Guard, ...] = ()
    outcome: str | None = None
    takes: str | None = None


def _rule(
    action: str,
    source: str,
    dest: str,
    actors: Iterable[str],
    *guards: Guard,
    outcome: str | None = None,
    takes: str | None = None,
) -> Rule:
    return Rule(action, source, dest, frozenset(actors), tuple(guards), outcome, takes)


REFUND_ONLY = Guard(lambda f: f.remedy == REFUND_ONLY_REMEDY, "the request needs a return first")
NEEDS_RETURN = Guard(
    lambda f: f.remedy in (RETURN_AND_REFUND, *RETURN_THEN_FULFIL), "the request needs no return"
)
SHIP_ONLY = Guard(lambda f: f.remedy == RESHIP, "the request is not for goods sent again")
MONEY_ON_RETURN = Guard(
    lambda f: f.remedy not in RETURN_THEN_FULFIL,
    "the returned goods are to be replaced or repaired",
)
FULFIL_ON_RETURN = Guard(
    lambda f: f.remedy in RETURN_THEN_FULFIL, "the returned goods are refunded, not replaced"
)
REPAIR_ONLY = Guard(lambda f: f.remedy == REPAIR, "only a repair has a promised date")
NOT_PROMISED = Guard(lambda f: not f.repair_promised, "the repair's date is already promised")
READY_TO_SHIP = Guard(
    lambda f: f.remedy != REPAIR or f.repair_promised,
    "promise the repair's ready_by date first (promise-repair)",
)
OFFERS_MONEY = Guard(lambda f: f.offered_remedy is None, "the offer is another remedy")
OFFERS_RETURN = Guard(
    lambda f: f.offered_remedy in (RETURN_AND_REFUND, *RETURN_THEN_FULFIL),
    "the offer needs no return",
)
OFFERS_RESHIP = Guard(lambda f: f.offered_remedy == RESHIP, "the offer is not to send goods again")


def _remedy_is(remedy: str) -> Guard:
    return Guard(lambda f: f.remedy == remedy, f"the request is not a {remedy}")


DIVISIBLE = Guard(lambda f: f.amount > 1, "a request for 1 minor unit cannot be partly refunded")
PENDING_OFFER = Guard(lambda f: f.has_pending_offer, "there is no pending offer to accept")
EXTENSION_UNUSED = Guard(lambda f: not f.extension_used, "you have already used your extension")
NOT_YET_DONE = Guard(lambda f: not f.evidence_done, "you have already said your evidence is done")
OTHER_DONE = Guard(
    lambda f: f.other_party_evidence_done, "the other party is still adding evidence"
)
OTHER_NOT_DONE = Guard(lambda f: not f.other_party_evidence_done, "the other party is done")
INFO_REQUESTABLE = Guard(
    lambda f: f.info_requestable, "more information was already requested from both parties"
)
UNCLAIMED = Guard(
    lambda f: not f.assigned_to_actor and not f.assigned_to_other,
    "the case is already assigned",
)
CLAIMED = Guard(lambda f: f.assigned_to_actor or f.assigned_to_other, "claim the case first")
ASSIGNED_TO_ACTOR = Guard(
    lambda f: f.assigned_to_actor, "the case is assigned to another arbitrator", forbids=True
)
NOT_FIRST_ARBITRATOR = Guard(
    lambda f: not f.actor_was_first_arbitrator, "an appeal goes to a different arbitrator"
)
NOT_CONFLICTED = Guard(
    lambda f: not f.conflicted,
    "you are related to a party of this dispute and may not take it",
    forbids=True,
)
MAY_APPEAL = Guard(
    lambda f: f.may_appeal, "an appeal is open once, to a party the ruling did not fully favour"
)

BUYER_UNDER_REVIEW = Guard(lambda f: f.buyer_under_review, "the buyer is not under review")

STAFF = (ARBITRATOR, SENIOR_ARBITRATOR)
REFER_TO_PLATFORM = "refer-to-platform"

RULES: tuple[Rule, ...] = (
    # A seller silent on the request of a buyer under review (DESIGN §5a): no automatic refund,
    # the platform rules. Listed first, so these win over the system's moves below.
    _rule(
        "accept",
        AWAITING_SELLER,
        AWAITING_DECISION,
        (SYSTEM,),
        BUYER_UNDER_REVIEW,
        takes=REFER_TO_PLATFORM,
    ),
    _rule(
        "confirm-return",
        RETURN_IN_TRANSIT,
        AWAITING_DECISION,
        (SYSTEM,),
        BUYER_UNDER_REVIEW,
        takes=REFER_TO_PLATFORM,
    ),
    # The two-party half: the seller answers, the buyer follows up, returns travel.
    _rule("accept", AWAITING_SELLER, CLOSED, (SELLER, SYSTEM), REFUND_ONLY, outcome="refunded"),
    _rule("accept", AWAITING_SELLER, AWAITING_RETURN, (SELLER, SYSTEM), NEEDS_RETURN),
    _rule("accept", AWAITING_SELLER, AWAITING_FULFILMENT, (SELLER, SYSTEM), SHIP_ONLY),
    _rule("reject", AWAITING_SELLER, SELLER_REJECTED, (SELLER,)),
    _rule("offer", AWAITING_SELLER, AWAITING_SELLER, (SELLER,), DIVISIBLE),
    _rule(
        "accept-offer",
        AWAITING_SELLER,
        CLOSED,
        (BUYER,),
        PENDING_OFFER,
        OFFERS_MONEY,
        outcome="settled",
    ),
    # An offer of another remedy moves the dispute onto that remedy's path (DESIGN §1a).
    _rule("accept-offer", AWAITING_SELLER, AWAITING_RETURN, (BUYER,), PENDING_OFFER, OFFERS_RETURN),
    _rule(
        "accept-offer", AWAITING_SELLER, AWAITING_FULFILMENT, (BUYER,), PENDING_OFFER, OFFERS_RESHIP
    ),
    _rule("modify", AWAITING_SELLER, AWAITING_SELLER, (BUYER,)),
    _rule("withdraw", AWAITING_SELLER, CLOSED, (BUYER,), outcome="withdrawn"),
    _rule("escalate", SELLER_REJECTED, GATHERING_EVIDENCE, (BUYER,)),
    _rule("modify", SELLER_REJECTED, AWAITING_SELLER, (BUYER,)),
    _rule("withdraw", SELLER_REJECTED, CLOSED, (BUYER,), outcome="withdrawn"),
    _rule("abandon", SELLER_REJECTED, CLOSED, (SYSTEM,), outcome="abandoned"),
    _rule("ship-return", AWAITING_RETURN, RETURN_IN_TRANSIT, (BUYER,)),
    _rule("withdraw", AWAITING_RETURN, CLOSED, (BUYER,), outcome="withdrawn"),
    _rule("expire-return", AWAITING_RETURN, CLOSED, (SYSTEM,), outcome="return_not_shipped"),
    _rule(
        "confirm-return",
        RETURN_IN_TRANSIT,
        CLOSED,
        (SELLER, SYSTEM),
        MONEY_ON_RETURN,
        outcome="refunded",
    ),
    _rule(
        "confirm-return", RETURN_IN_TRANSIT, AWAITING_FULFILMENT, (SELLER, SYSTEM), FULFIL_ON_RETURN
    ),
    _rule("dispute-return", RETURN_IN_TRANSIT, GATHERING_EVIDENCE, (SELLER,)),
    # Remedies beyond money (DESIGN §1a): the seller sends the goods, the buyer says they came.
    _rule(
        "promise-repair",
        AWAITING_FULFILMENT,
        AWAITING_FULFILMENT,
        (SELLER,),
        REPAIR_ONLY,
        NOT_PROMISED,
    ),
    _rule("ship-fulfilment", AWAITING_FULFILMENT, FULFILMENT_IN_TRANSIT, (SELLER,), READY_TO_SHIP),
    # A seller who let the fulfilment deadline pass for a buyer under review (DESIGN §5a): the platform rules on the
    # money too (it may name the seller's violation), rather than the system refunding.
    _rule(
        "refund-instead",
        AWAITING_FULFILMENT,
        AWAITING_DECISION,
        (SYSTEM,),
        BUYER_UNDER_REVIEW,
        takes=REFER_TO_PLATFORM,
    ),
    # The seller cannot deliver, or let the deadline pass (the system then refunds and warns).
    _rule("refund-instead", AWAITING_FULFILMENT, CLOSED, (SELLER, SYSTEM), outcome="refunded"),
    *(
        _rule(
            "confirm-receipt",
            FULFILMENT_IN_TRANSIT,
            CLOSED,
            (BUYER, SYSTEM),
            _remedy_is(remedy),
            outcome=outcome,
        )
        for remedy, outcome in FULFILLED_OUTCOME.items()
    ),
    _rule("report-problem", FULFILMENT_IN_TRANSIT, GATHERING_EVIDENCE, (BUYER,)),
    # The platform's half: evidence, the ruling, the appeal.
    _rule(
        "evidence-done",
        GATHERING_EVIDENCE,
        AWAITING_DECISION,
        PARTIES,
        NOT_YET_DONE,
        OTHER_DONE,
    ),
    _rule(
        "evidence-done",
        GATHERING_EVIDENCE,
        GATHERING_EVIDENCE,
        PARTIES,
        NOT_YET_DONE,
        OTHER_NOT_DONE,
    ),
    _rule("close-evidence", GATHERING_EVIDENCE, AWAITING_DECISION, (SYSTEM,)),
    _rule("claim", AWAITING_DECISION, AWAITING_DECISION, STAFF, UNCLAIMED, NOT_CONFLICTED),
    _rule(
        "request-info",
        AWAITING_DECISION,
        GATHERING_EVIDENCE,
        STAFF,
        CLAIMED,
        ASSIGNED_TO_ACTOR,
        INFO_REQUESTABLE,
    ),
    _rule("decide", AWAITING_DECISION, DECIDED, STAFF, CLAIMED, ASSIGNED_TO_ACTOR, NOT_CONFLICTED),
    _rule("appeal", DECIDED, UNDER_APPEAL, PARTIES, MAY_APPEAL),
    _rule("finalize", DECIDED, CLOSED, (SYSTEM,)),
    _rule(
        "claim",
        UNDER_APPEAL,
        UNDER_APPEAL,
        (SENIOR_ARBITRATOR,),
        UNCLAIMED,
        NOT_FIRST_ARBITRATOR,
        NOT_CONFLICTED,
    ),
    _rule(
        "appeal-decision",
        UNDER_APPEAL,
        CLOSED,
        (SENIOR_ARBITRATOR,),
        CLAIMED,
        ASSIGNED_TO_ACTOR,
        NOT_FIRST_ARBITRATOR,
        NOT_CONFLICTED,
    ),
    # A senior arbitrator hands a case (claimed or not) to a colleague; who may take it is checked
    # against the colleague (flows.reassign), not the senior.
    _rule("reassign", AWAITING_DECISION, AWAITING_DECISION, (SENIOR_ARBITRATOR,)),
    _rule("reassign", UNDER_APPEAL, UNDER_APPEAL, (SENIOR_ARBITRATOR,)),
    # A party whose deadline is running may push it back once (DESIGN §1); while gathering
    # evidence, only a party still adding evidence is one whose move it is.
    *(
        _rule("request-extension", state, state, PARTIES, EXTENSION_UNUSED)
        for state in (
            AWAITING_SELLER,
            SELLER_REJECTED,
            AWAITING_RETURN,
            RETURN_IN_TRANSIT,
            AWAITING_FULFILMENT,
            FULFILMENT_IN_TRANSIT,
        )
    ),
    _rule(
        "request-extension",
        GATHERING_EVIDENCE,
        GATHERING_EVIDENCE,
        PARTIES,
        EXTENSION_UNUSED,
        NOT_YET_DONE,
    ),
    # Evidence (DESIGN §3): while the case is open and not yet decided, and during an appeal.
    *(
        _rule("add-evidence", state, state, (*PARTIES, *STAFF))
        for state in (*OPEN_STATES[: OPEN_STATES.index(DECIDED)], UNDER_APPEAL)
    ),
)

ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(rule.action for rule in RULES))


@dataclass(frozen=True)
class Timer:
    """The deadline a state runs: which action fires, against whom, after which policy duration."""

    action: str
    party: str | None
    duration_key: str
    duration_key_when_shipped: str | None = None


TIMERS: dict[str, Timer] = {
    AWAITING_SELLER: Timer(
        "accept", SELLER, "seller_response_unshipped", "seller_response_shipped"
    ),
    SELLER_REJECTED: Timer("abandon", BUYER, "buyer_after_rejection"),
    AWAITING_RETURN: Timer("expire-return", BUYER, "buyer_return_shipment"),
    RETURN_IN_TRANSIT: Timer("confirm-return", SELLER, "seller_return_confirmation"),
    # A repair's deadline is its promised ready_by once stated (deadlines.plan_timer).
    AWAITING_FULFILMENT: Timer("refund-instead", SELLER, "seller_fulfilment"),
    FULFILMENT_IN_TRANSIT: Timer("confirm-receipt", BUYER, "buyer_fulfilment_confirmation"),
    GATHERING_EVIDENCE: Timer("close-evidence", "both", "evidence_window"),
    DECIDED: Timer("finalize", None, "appeal_window"),
}


# States where nobody acts automatically but the platform owes a ruling within the SLA (DESIGN §4).
SLA_STATES = frozenset({AWAITING_DECISION, UNDER_APPEAL})


def deadline_party_may_extend(status: str, party: str) -> bool:
    """Only the party the running deadline is against may ask to extend it."""
    timer = TIMERS.get(status)
    return timer is not None and timer.party in (party, "both")


# The machine ------------------------------------------------------------------------------------


def _actor_condition(actors: frozenset[str]) -> Guard:
    return Guard(lambda f: f.actor in actors, "")


def _build_machine() -> tuple[Machine, dict[int, Rule]]:
    machine = Machine(
        model=None, states=list(STATES), initial=None, auto_transitions=False, send_event=False
    )
    rule_of: dict[int, Rule] = {}
    for rule in RULES:
        machine.add_transition(
            rule.action,
            rule.source,
            rule.dest,
            conditions=[_actor_condition(rule.actors), *rule.guards],
        )
        added = machine.get_transitions(trigger=rule.action, source=rule.source, dest=rule.dest)
        rule_of[id(added[-1])] = rule
    return machine, rule_of


MACHINE, _RULE_OF = _build_machine()


@dataclass(frozen=True)
class Verdict:
    """The machine's answer: allowed and where it leads, or refused and why."""

    allowed: bool
    rule: Rule | None = None
    refusal: str = ""
    forbidden: bool = False


def _rule_for(transition: Transition) -> Rule:
    return _RULE_OF[id(transition)]


def _moves() -> dict[tuple[str, str], tuple[Rule, ...]]:
    """The machine's transitions for each state and action, as the table's rules (in table order).

    Asked of the machine once, at import: it never changes, and asking it costs more than a
    guard does."""
    return {
        (state, action): rules
        for state in STATES
        for action in ACTIONS
        if (rules := tuple(map(_rule_for, MACHINE.get_transitions(trigger=action, source=state))))
    }


_MOVES = _moves()


def _options() -> dict[tuple[str, str], tuple[tuple[str, tuple[Rule, ...]], ...]]:
    """For each state and actor, the actions the actor may try there (in table order) with the
    rules that could let them: what ``allowed_actions`` checks the guards of."""
    options: dict[tuple[str, str], tuple[tuple[str, tuple[Rule, ...]], ...]] = {}
    for state in STATES:
        for actor in ACTORS:
            tried = []
            for action in dict.fromkeys(rule.action for rule in RULES if rule.source == state):
                mine = tuple(rule for rule in _MOVES[state, action] if actor in rule.actors)
                if not mine:
                    continue
                if action == "request-extension" and not deadline_party_may_extend(state, actor):
                    continue
                tried.append((action, mine))
            options[state, actor] = tuple(tried)
    return options


_OPTIONS = _options()


def _passing(rules: Iterable[Rule], facts: Facts) -> Rule | None:
    """The first of ``rules`` whose guards all hold (the actor's own rules, already chosen)."""
    for rule in rules:
        if all(guard.check(facts) for guard in rule.guards):
            return rule
    return None


def evaluate(status: str, action: str, facts: Facts) -> Verdict:
    """May ``facts.actor`` take ``action`` on a dispute in ``status``? The first passing rule wins."""
    rules = _MOVES.get((status, action))
    if not rules:
        return Verdict(False, refusal=f"'{action}' is not possible while the dispute is {status}")
    mine = [rule for rule in rules if facts.actor in rule.actors]
    if not mine:
        who = " or ".join(sorted({a for rule in rules for a in rule.actors} - {SYSTEM}))
        if not who:
            return Verdict(False, refusal=f"'{action}' is taken only by the system")
        return Verdict(False, refusal=f"only the {who} can {action} now")
    if action == "request-extension" and not deadline_party_may_extend(status, facts.actor):
        return Verdict(False, refusal="no deadline of yours is running")
    passing = _passing(mine, facts)
    if passing is not None:
        return Verdict(True, rule=passing)
    # Report the first guard that failed in a rule whose other guards held, for the clearest reason.
    failures = [next(g for g in rule.guards if not g(facts)) for rule in mine]
    return Verdict(False, refusal=failures[0].refusal, forbidden=failures[0].forbids)


def allowed_actions(status: str, facts: Facts) -> list[str]:
    """Every action ``facts.actor`` may take now (the buttons a client draws), in table order:
    those ``evaluate`` allows, found from the actor's options in the state (``_OPTIONS``)."""
    return [
        action
        for action, rules in _OPTIONS.get((status, facts.actor), ())
        if _passing(rules, facts) is not None
    ]


def mermaid_diagram() -> str:
    """The lifecycle as a Mermaid state diagram, generated from RULES so the README cannot drift."""
    lines = ["stateDiagram-v2", f"    [*] --> {AWAITING_SELLER}"]
    seen: set[tuple[str, str, str]] = set()
    for rule in RULES:
        if rule.source == rule.dest:
            continue
        who = " or ".join(sorted(rule.actors))
        label = f"{rule.action.replace('_', '-')} by {who}"
        if rule.takes:
            label += f" (taken as {rule.takes})"
        if rule.outcome:
            label += f", {rule.outcome}"
        edge = (rule.source, rule.dest, label)
        if edge not in seen:
            seen.add(edge)
            lines.append(f"    {rule.source} --> {rule.dest}: {label}")
    lines.append(f"    {CLOSED} --> [*]")
    return "\n".join(lines) + "\n"
