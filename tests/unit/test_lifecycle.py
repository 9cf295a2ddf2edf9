"""The lifecycle table, exhaustively: every state x action x actor is allowed, or refused with a reason.

``DESIGNED`` below is written from DESIGN.md §1, not copied from ``RULES``: the test compares the two.
"""

from __future__ import annotations

import re
from collections import deque
from typing import NamedTuple

import pytest

from arbitration.lifecycle import (
    ACTIONS,
    ACTORS,
    AWAITING,
    REMEDIES,
    RULES,
    STATES,
    TIMERS,
    Facts,
    allowed_actions,
    deadline_party_may_extend,
    evaluate,
    mermaid_diagram,
)


class Move(NamedTuple):
    actors: frozenset[str]
    dest: str
    outcome: str | None = None


def move(actors: str, dest: str, outcome: str | None = None) -> Move:
    return Move(frozenset(actors.split()), dest, outcome)


REFUNDED = ("closed", "refunded")
FULFILMENTS = ("exchange", "repair", "reship")

# Senior arbitrators are arbitrators too (§4: overdue cases rise to their view), so both rule first
# instance; only a senior hears an appeal. A party may extend only a deadline running against it.
DESIGNED: dict[tuple[str, str], Move] = {
    ("awaiting_seller", "reject"): move("seller", "seller_rejected"),
    ("awaiting_seller", "offer"): move("seller", "awaiting_seller"),
    ("awaiting_seller", "accept-offer"): move("buyer", "closed", "settled"),
    ("awaiting_seller", "modify"): move("buyer", "awaiting_seller"),
    ("awaiting_seller", "withdraw"): move("buyer", "closed", "withdrawn"),
    ("awaiting_seller", "request-extension"): move("seller", "awaiting_seller"),
    ("seller_rejected", "escalate"): move("buyer", "gathering_evidence"),
    ("seller_rejected", "modify"): move("buyer", "awaiting_seller"),
    ("seller_rejected", "withdraw"): move("buyer", "closed", "withdrawn"),
    ("seller_rejected", "abandon"): move("system", "closed", "abandoned"),
    ("seller_rejected", "request-extension"): move("buyer", "seller_rejected"),
    ("awaiting_return", "ship-return"): move("buyer", "return_in_transit"),
    ("awaiting_return", "withdraw"): move("buyer", "closed", "withdrawn"),
    ("awaiting_return", "expire-return"): move("system", "closed", "return_not_shipped"),
    ("awaiting_return", "request-extension"): move("buyer", "awaiting_return"),
    ("return_in_transit", "dispute-return"): move("seller", "gathering_evidence"),
    ("return_in_transit", "request-extension"): move("seller", "return_in_transit"),
    # DESIGN §1a: the seller sends the goods (a repair once its date is promised), or refunds
    # instead; the system refunds when the seller lets the deadline pass.
    ("awaiting_fulfilment", "ship-fulfilment"): move("seller", "fulfilment_in_transit"),
    ("awaiting_fulfilment", "refund-instead"): move("seller system", "closed", "refunded"),
    ("awaiting_fulfilment", "request-extension"): move("seller", "awaiting_fulfilment"),
    ("fulfilment_in_transit", "report-problem"): move("buyer", "gathering_evidence"),
    ("fulfilment_in_transit", "request-extension"): move("buyer", "fulfilment_in_transit"),
    ("gathering_evidence", "evidence-done"): move("buyer seller", "gathering_evidence"),
    ("gathering_evidence", "close-evidence"): move("system", "awaiting_decision"),
    ("gathering_evidence", "request-extension"): move("buyer seller", "gathering_evidence"),
    ("awaiting_decision", "claim"): move("arbitrator senior_arbitrator", "awaiting_decision"),
    ("awaiting_decision", "request-info"): move(
        "arbitrator senior_arbitrator", "gathering_evidence"
    ),
    ("awaiting_decision", "decide"): move("arbitrator senior_arbitrator", "decided"),
    ("decided", "appeal"): move("buyer seller", "under_appeal"),
    ("decided", "finalize"): move("system", "closed"),  # the outcome is the ruling's
    ("under_appeal", "claim"): move("senior_arbitrator", "under_appeal"),
    ("under_appeal", "appeal-decision"): move("senior_arbitrator", "closed"),
    ("awaiting_decision", "reassign"): move("senior_arbitrator", "awaiting_decision"),
    ("under_appeal", "reassign"): move("senior_arbitrator", "under_appeal"),
    # Evidence (§3): while the case is open and not yet decided, and during an appeal.
    **{
        (state, "add-evidence"): move("buyer seller arbitrator senior_arbitrator", state)
        for state in (
            "awaiting_seller",
            "seller_rejected",
            "awaiting_return",
            "return_in_transit",
            "awaiting_fulfilment",
            "fulfilment_in_transit",
            "gathering_evidence",
            "awaiting_decision",
            "under_appeal",
        )
    },
}

# Moves that depend on the remedy asked for (DESIGN §1a); None: the table refuses it for that
# remedy, with the guard's reason.
BY_REMEDY: dict[tuple[str, str], dict[str, Move | None]] = {
    ("awaiting_seller", "accept"): {
        "refund_only": move("seller system", *REFUNDED),
        "return_and_refund": move("seller system", "awaiting_return"),
        "exchange": move("seller system", "awaiting_return"),
        "repair": move("seller system", "awaiting_return"),
        "reship": move("seller system", "awaiting_fulfilment"),
    },
    ("return_in_transit", "confirm-return"): {
        "refund_only": move("seller system", *REFUNDED),
        "return_and_refund": move("seller system", *REFUNDED),
        "exchange": move("seller system", "awaiting_fulfilment"),
        "repair": move("seller system", "awaiting_fulfilment"),
        "reship": move("seller system", *REFUNDED),
    },
    ("awaiting_fulfilment", "promise-repair"): {
        remedy: move("seller", "awaiting_fulfilment") if remedy == "repair" else None
        for remedy in REMEDIES
    },
    ("fulfilment_in_transit", "confirm-receipt"): {
        "refund_only": None,
        "return_and_refund": None,
        "exchange": move("buyer system", "closed", "exchanged"),
        "repair": move("buyer system", "closed", "repaired"),
        "reship": move("buyer system", "closed", "reshipped"),
    },
}


def designed_move(state: str, action: str, remedy: str) -> Move | None:
    if (state, action) in BY_REMEDY:
        return BY_REMEDY[state, action][remedy]
    return DESIGNED.get((state, action))


# Facts under which every guard of the designed move holds (a fresh, unclaimed dispute otherwise).
FAVOURABLE: dict[str, dict[str, bool]] = {
    "accept-offer": {"has_pending_offer": True},
    "request-info": {"assigned_to_actor": True},
    "decide": {"assigned_to_actor": True},
    "appeal-decision": {"assigned_to_actor": True},
    "appeal": {"may_appeal": True},
    "ship-fulfilment": {"repair_promised": True},
}


def facts(actor: str, **overrides: object) -> Facts:
    return Facts(actor=actor, **overrides)  # type: ignore[arg-type]


def names(text: str, actor: str) -> bool:
    """Whether ``text`` names ``actor`` as a word ("arbitrator" is not in "senior_arbitrator")."""
    return re.search(rf"\b{actor}\b", text) is not None


# The table as designed -----------------------------------------------------------------------------


def test_the_table_has_exactly_the_designed_states_actions_and_actors() -> None:
    designed = {*DESIGNED, *BY_REMEDY}
    assert set(STATES) == {state for state, _ in designed} | {"closed"}
    assert set(ACTIONS) == {action for _, action in designed}
    assert set(ACTORS) == {"buyer", "seller", "arbitrator", "senior_arbitrator", "system"}
    assert set(REMEDIES) == {"refund_only", "return_and_refund", *FULFILMENTS}


@pytest.mark.parametrize("remedy", REMEDIES)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_every_state_action_and_actor_is_allowed_or_refused_with_a_reason(
    state: str, action: str, actor: str, remedy: str
) -> None:
    verdict = evaluate(state, action, facts(actor, remedy=remedy, **FAVOURABLE.get(action, {})))
    designed = designed_move(state, action, remedy)

    if designed is not None and actor in designed.actors:
        assert verdict.allowed, verdict.refusal
        assert verdict.rule is not None
        assert (verdict.rule.dest, verdict.rule.outcome) == (designed.dest, designed.outcome)
        return

    assert not verdict.allowed
    assert verdict.refusal.strip()
    assert not names(verdict.refusal, actor), "a refusal must not invite the asker to act"
    if designed is None and (state, action) in BY_REMEDY:
        return  # the action exists here, for other remedies: the guard says why not this one
    if designed is None:
        assert state in verdict.refusal and action in verdict.refusal
    elif action == "request-extension" and actor in ("buyer", "seller"):
        assert "deadline" in verdict.refusal
    elif designed.actors == {"system"}:
        assert "system" in verdict.refusal
    else:
        assert all(names(verdict.refusal, who) for who in designed.actors - {"system"})


def test_whose_move_it_is_follows_the_design() -> None:
    assert AWAITING == {
        "awaiting_seller": "seller",
        "seller_rejected": "buyer",
        "awaiting_return": "buyer",
        "return_in_transit": "seller",
        "awaiting_fulfilment": "seller",
        "fulfilment_in_transit": "buyer",
        "gathering_evidence": "both",
        "awaiting_decision": "platform",
        "decided": None,
        "under_appeal": "platform",
        "closed": None,
    }


# The guards, one at a time -------------------------------------------------------------------------


def test_buyer_cannot_accept_his_own_request() -> None:
    verdict = evaluate("awaiting_seller", "accept", facts("buyer"))
    assert not verdict.allowed
    assert "only the seller" in verdict.refusal


@pytest.mark.parametrize("actor", ["seller", "system"])
@pytest.mark.parametrize(
    ("remedy", "lands_in"),
    [("refund_only", ("closed", "refunded")), ("return_and_refund", ("awaiting_return", None))],
)
def test_accepting_refunds_at_once_or_waits_for_the_return(
    actor: str, remedy: str, lands_in: tuple[str, str | None]
) -> None:
    verdict = evaluate("awaiting_seller", "accept", facts(actor, remedy=remedy))
    assert verdict.rule is not None
    assert (verdict.rule.dest, verdict.rule.outcome) == lands_in


def test_buyer_cannot_accept_an_offer_that_was_never_made() -> None:
    verdict = evaluate("awaiting_seller", "accept-offer", facts("buyer", has_pending_offer=False))
    assert not verdict.allowed
    assert "no pending offer" in verdict.refusal


def test_a_pending_offer_does_not_stop_the_seller_answering_the_request() -> None:
    seller = facts("seller", has_pending_offer=True)
    assert evaluate("awaiting_seller", "accept", seller).allowed
    assert evaluate("awaiting_seller", "reject", seller).allowed


@pytest.mark.parametrize(
    ("state", "party"),
    [
        ("awaiting_seller", "seller"),
        ("seller_rejected", "buyer"),
        ("awaiting_return", "buyer"),
        ("return_in_transit", "seller"),
        ("gathering_evidence", "buyer"),
        ("gathering_evidence", "seller"),
    ],
)
def test_an_extension_is_granted_only_once(state: str, party: str) -> None:
    assert evaluate(state, "request-extension", facts(party)).allowed
    second = evaluate(state, "request-extension", facts(party, extension_used=True))
    assert not second.allowed
    assert "already used your extension" in second.refusal


@pytest.mark.parametrize(
    ("state", "party"),
    [
        ("awaiting_seller", "buyer"),
        ("seller_rejected", "seller"),
        ("awaiting_return", "seller"),
        ("return_in_transit", "buyer"),
    ],
)
def test_a_party_cannot_extend_a_deadline_running_against_the_other(state: str, party: str) -> None:
    assert not deadline_party_may_extend(state, party)
    verdict = evaluate(state, "request-extension", facts(party))
    assert not verdict.allowed
    assert "no deadline of yours" in verdict.refusal


@pytest.mark.parametrize("party", ["buyer", "seller"])
def test_a_party_done_with_evidence_cannot_extend_the_other_partys_window(party: str) -> None:
    # DESIGN §1: only "a party whose move it is" extends; once done, the move is the other's
    # (disputes.awaiting() says so too).
    verdict = evaluate("gathering_evidence", "request-extension", facts(party, evidence_done=True))
    assert not verdict.allowed


def test_saying_evidence_done_twice_is_refused() -> None:
    verdict = evaluate("gathering_evidence", "evidence-done", facts("buyer", evidence_done=True))
    assert not verdict.allowed
    assert "already said your evidence is done" in verdict.refusal


@pytest.mark.parametrize(
    ("other_done", "lands_in"), [(False, "gathering_evidence"), (True, "awaiting_decision")]
)
def test_evidence_goes_to_decision_once_both_parties_are_done(
    other_done: bool, lands_in: str
) -> None:
    done = facts("seller", other_party_evidence_done=other_done)
    verdict = evaluate("gathering_evidence", "evidence-done", done)
    assert verdict.rule is not None and verdict.rule.dest == lands_in


@pytest.mark.parametrize("state", ["awaiting_decision", "under_appeal"])
def test_a_case_assigned_to_another_cannot_be_claimed(state: str) -> None:
    verdict = evaluate(state, "claim", facts("senior_arbitrator", assigned_to_other=True))
    assert not verdict.allowed
    assert "already assigned" in verdict.refusal


@pytest.mark.parametrize("action", ["decide", "request-info"])
def test_an_arbitrator_not_assigned_cannot_rule_or_ask_for_more(action: str) -> None:
    verdict = evaluate("awaiting_decision", action, facts("arbitrator", assigned_to_other=True))
    assert not verdict.allowed
    assert "assigned to another arbitrator" in verdict.refusal


@pytest.mark.parametrize(
    ("state", "action", "actor"),
    [
        ("awaiting_decision", "decide", "arbitrator"),
        ("awaiting_decision", "request-info", "arbitrator"),
        ("under_appeal", "appeal-decision", "senior_arbitrator"),
    ],
)
def test_ruling_on_an_unclaimed_case_asks_for_a_claim_not_blames_another(
    state: str, action: str, actor: str
) -> None:
    verdict = evaluate(state, action, facts(actor))  # nobody holds the case
    assert not verdict.allowed
    assert "another arbitrator" not in verdict.refusal


def test_more_information_is_requested_at_most_once_from_each_party() -> None:
    asked_both = facts("arbitrator", assigned_to_actor=True, info_requestable=False)
    verdict = evaluate("awaiting_decision", "request-info", asked_both)
    assert not verdict.allowed
    assert "already requested" in verdict.refusal


@pytest.mark.parametrize("party", ["buyer", "seller"])
def test_a_party_the_ruling_fully_favoured_or_that_already_appealed_cannot_appeal(
    party: str,
) -> None:
    verdict = evaluate("decided", "appeal", facts(party, may_appeal=False))
    assert not verdict.allowed
    assert "appeal" in verdict.refusal


@pytest.mark.parametrize(("action", "assigned"), [("claim", False), ("appeal-decision", True)])
def test_the_first_arbitrator_never_hears_the_appeal(action: str, assigned: bool) -> None:
    first = facts("senior_arbitrator", actor_was_first_arbitrator=True, assigned_to_actor=assigned)
    verdict = evaluate("under_appeal", action, first)
    assert not verdict.allowed
    assert "different arbitrator" in verdict.refusal


# What a client draws -------------------------------------------------------------------------------


def test_seller_awaited_may_accept_reject_offer_or_extend() -> None:
    assert allowed_actions("awaiting_seller", facts("seller")) == [
        "accept",
        "reject",
        "offer",
        "request-extension",
        "add-evidence",
    ]
    extended = facts("seller", extension_used=True)
    assert allowed_actions("awaiting_seller", extended) == [
        "accept",
        "reject",
        "offer",
        "add-evidence",
    ]


def test_buyer_waiting_on_the_seller_may_modify_or_withdraw_and_take_an_offer_once_made() -> None:
    assert allowed_actions("awaiting_seller", facts("buyer")) == [
        "modify",
        "withdraw",
        "add-evidence",
    ]
    offered = facts("buyer", has_pending_offer=True)
    assert allowed_actions("awaiting_seller", offered) == [
        "accept-offer",
        "modify",
        "withdraw",
        "add-evidence",
    ]


def test_arbitrator_claims_first_then_rules() -> None:
    assert allowed_actions("awaiting_decision", facts("arbitrator")) == ["claim", "add-evidence"]
    mine = facts("arbitrator", assigned_to_actor=True)
    assert allowed_actions("awaiting_decision", mine) == ["request-info", "decide", "add-evidence"]


@pytest.mark.parametrize("actor", ACTORS)
def test_nobody_may_do_anything_once_closed(actor: str) -> None:
    anything_goes = facts(actor, has_pending_offer=True, assigned_to_actor=True, may_appeal=True)
    assert allowed_actions("closed", anything_goes) == []


# The shape of the table ----------------------------------------------------------------------------


def test_no_rule_leaves_closed() -> None:
    assert [rule for rule in RULES if rule.source == "closed"] == []


def test_every_open_state_is_reachable_from_awaiting_seller() -> None:
    reached, frontier = {"awaiting_seller"}, deque(["awaiting_seller"])
    while frontier:
        state = frontier.popleft()
        for rule in RULES:
            if rule.source == state and rule.dest not in reached:
                reached.add(rule.dest)
                frontier.append(rule.dest)
    assert reached == set(STATES)


def test_only_the_designed_states_run_a_deadline() -> None:
    assert set(TIMERS) == {
        "awaiting_seller",
        "seller_rejected",
        "awaiting_return",
        "return_in_transit",
        "awaiting_fulfilment",
        "fulfilment_in_transit",
        "gathering_evidence",
        "decided",
    }


@pytest.mark.parametrize("state", sorted(TIMERS))
def test_every_deadline_fires_a_system_action_of_its_state(state: str) -> None:
    timer = TIMERS[state]
    assert any(
        rule.source == state and rule.action == timer.action and "system" in rule.actors
        for rule in RULES
    )
    assert timer.party == AWAITING[state]
    # Only a remedy the seller fulfils reaches the fulfilment states.
    remedies = FULFILMENTS if "fulfilment" in state else REMEDIES
    for remedy in remedies:
        assert evaluate(state, timer.action, facts("system", remedy=remedy)).allowed


def test_the_diagram_shows_every_state_and_every_state_changing_action() -> None:
    diagram = mermaid_diagram()
    assert diagram.startswith("stateDiagram-v2\n")
    for state in STATES:
        assert re.search(rf"\b{state}\b", diagram), state
    for rule in RULES:
        if rule.source != rule.dest:
            spelled = rule.action.replace("_", "[-_]")  # the API spells it accept-offer
            assert re.search(rf"{rule.source} --> {rule.dest}: .*\b{spelled}\b", diagram), rule


def test_a_one_cent_request_offers_no_partial_refund() -> None:
    facts = Facts(actor="seller", amount=1)
    assert "offer" not in allowed_actions("awaiting_seller", facts)
    assert "partly refunded" in evaluate("awaiting_seller", "offer", facts).refusal


# Remedies beyond money (DESIGN §1a) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "lands_in"),
    [
        (None, ("closed", "settled")),  # a partial refund or a compensation
        ("return_and_refund", ("awaiting_return", None)),
        ("exchange", ("awaiting_return", None)),
        ("repair", ("awaiting_return", None)),
        ("reship", ("awaiting_fulfilment", None)),
    ],
)
def test_accepting_an_offer_of_another_remedy_moves_onto_its_path(
    offered: str | None, lands_in: tuple[str, str | None]
) -> None:
    buyer = facts("buyer", has_pending_offer=True, offered_remedy=offered)
    verdict = evaluate("awaiting_seller", "accept-offer", buyer)
    assert verdict.rule is not None
    assert (verdict.rule.dest, verdict.rule.outcome) == lands_in


def test_a_repair_ships_only_once_its_date_is_promised_and_is_promised_once() -> None:
    seller = facts("seller", remedy="repair")
    assert allowed_actions("awaiting_fulfilment", seller) == [
        "promise-repair",
        "refund-instead",
        "request-extension",
        "add-evidence",
    ]
    refused = evaluate("awaiting_fulfilment", "ship-fulfilment", seller)
    assert not refused.allowed and "promise-repair" in refused.refusal
    promised = facts("seller", remedy="repair", repair_promised=True)
    assert allowed_actions("awaiting_fulfilment", promised) == [
        "ship-fulfilment",
        "refund-instead",
        "request-extension",
        "add-evidence",
    ]


@pytest.mark.parametrize("remedy", ["exchange", "reship"])
def test_an_exchange_or_reship_ships_at_once(remedy: str) -> None:
    assert allowed_actions("awaiting_fulfilment", facts("seller", remedy=remedy)) == [
        "ship-fulfilment",
        "refund-instead",
        "request-extension",
        "add-evidence",
    ]


def test_the_buyer_with_goods_in_transit_confirms_or_reports_a_problem() -> None:
    assert allowed_actions("fulfilment_in_transit", facts("buyer", remedy="exchange")) == [
        "confirm-receipt",
        "report-problem",
        "request-extension",
        "add-evidence",
    ]
    assert allowed_actions("fulfilment_in_transit", facts("seller", remedy="exchange")) == [
        "add-evidence"
    ]


# A buyer under review (DESIGN §5a) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "timer_action"),
    [("awaiting_seller", "accept"), ("return_in_transit", "confirm-return")],
)
@pytest.mark.parametrize("remedy", ["refund_only", "return_and_refund"])
def test_a_silent_sellers_timer_refers_a_buyer_under_review_to_the_platform(
    state: str, timer_action: str, remedy: str
) -> None:
    assert TIMERS[state].action == timer_action
    verdict = evaluate(state, timer_action, facts("system", remedy=remedy, buyer_under_review=True))
    assert verdict.allowed and verdict.rule is not None
    assert (verdict.rule.dest, verdict.rule.takes, verdict.rule.outcome) == (
        "awaiting_decision",
        "refer-to-platform",
        None,
    )


@pytest.mark.parametrize("state", ["awaiting_seller", "return_in_transit"])
def test_the_seller_answers_a_buyer_under_review_as_any_other(state: str) -> None:
    action = TIMERS[state].action
    verdict = evaluate(state, action, facts("seller", buyer_under_review=True))
    assert verdict.allowed and verdict.rule is not None
    assert (verdict.rule.dest, verdict.rule.takes) == ("closed", None)
