"""The lifecycle keeps its promises whatever the parties and the clock do (STYLE.md, "Tests").

A hypothesis state machine files disputes on a few orders, lets random parties take random actions
(filings, answers, evidence, rulings, appeals), lets trust & safety confirm violations, review
penalties and hear penalty appeals, over the real HTTP app on a real database (SQLite, and
PostgreSQL when ``ARBITRATION_TEST_POSTGRES_URL`` is set), lets time pass and the deadline sweep
fire, and after every step checks: refunds never exceed the order, a closed dispute never reopens,
every audit chain verifies, an order has at most one open dispute, ``allowed_actions`` tells the
truth, a dispute's version counts its lifecycle actions exactly, its status is the last timeline
event's target, a dispute has at most one ruling and one appeal ruling, every accepted piece of
evidence is listed, and a seller's standing is what their violation ledger implies.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import event as note_event
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from arbitration import lifecycle
from arbitration.audit import GENESIS_HASH, verify_chains
from arbitration.models import Decision
from arbitration.policy import REASONS
from arbitration.sweep import sweep_due_deadlines
from penalties.ledger import period_of
from penalties.models import LadderCrossing, Violation
from tests.support.evidence import PNG
from tests.support.lifecycle_marketplace import TEXTS, Marketplace, money_up_to

# Hundreds of generated steps: make test runs it, the quick loop does not.
pytestmark = pytest.mark.slow

PARTY_ACTIONS = (
    "accept",
    "reject",
    "offer",
    "accept-offer",
    "modify",
    "withdraw",
    "escalate",
    "ship-return",
    "confirm-return",
    "dispute-return",
    "request-extension",
    "evidence-done",
)
# Staff actions a party may try too: they are never offered to a party, so always a 409.
ACTIONS_A_PARTY_MAY_TRY = (*PARTY_ACTIONS, "claim", "request-info")
# Timeline entries that move the lifecycle (and the version); the rest are flags and notes.
# Evidence has an endpoint (and tests) of its own and moves no version; every other action does.
ROUTED_ACTIONS = frozenset(lifecycle.ACTIONS) - {"add-evidence"}
RULED_OR_CLOSED = ("decided", "under_appeal", "closed")
LIFECYCLE_EVENTS = frozenset({"file", *ROUTED_ACTIONS})

LIVE_PENALTIES = ("pending_review", "active")
MAX_FILES_PER_PARTY = 20  # the default policy's [evidence] max_files_per_party


class DisputeLifecycle(Marketplace):
    """The lifecycle's rules, played at random, and the promises checked after every step."""

    # Rules -------------------------------------------------------------------------------------

    @initialize(
        data=st.data(),
        orders=st.lists(
            st.tuples(
                money_up_to(1, 30_000),
                st.integers(0, 100),
                st.sampled_from(("paid", "shipped", "delivered")),
            ),
            min_size=1,
            max_size=3,
        ),
    )
    def a_few_orders_each_with_a_first_dispute(
        self, data: st.DataObject, orders: list[tuple[int, int, str]]
    ) -> None:
        for index, (amount, first_line_percent, status) in enumerate(orders, start=1):
            order_id = f"ord-{index}"
            buyer = self.world.account("buyer", f"buyer-{index}")
            first = amount * first_line_percent // 100
            lines = [
                {"listing_id": f"lst-{index}-a", "title": "Speaker", "quantity": 1},
                {"listing_id": f"lst-{index}-b", "title": "Cable", "quantity": 1},
            ]
            lines[0]["unit_price"], lines[1]["unit_price"] = first, amount - first
            self._generation += 1
            self.world.order(
                buyer=buyer,
                seller=self.seller,
                amount=amount,
                status=status,
                items=lines,
                order_id=order_id,
            )
            self.buyer_of[order_id] = buyer
            self.lines_of[order_id] = lines
            self.disputes_of[order_id] = []
            self.file(data, order_id, over_cap=False)

    @rule(data=st.data())
    def a_buyer_files_a_dispute_within_or_over_the_cap(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(list(self.buyer_of)), label="order")
        self.file(data, order_id, over_cap=data.draw(st.integers(0, 3), label="over cap") == 0)

    def file(self, data: st.DataObject, order_id: str, *, over_cap: bool) -> None:
        """File on the whole order or some of its lines; over the cap is a 422 that changes nothing."""
        listings = [line["listing_id"] for line in self.lines_of[order_id]]
        selections = [None, listings[:1], listings[1:], listings]
        if not over_cap:
            selections = [s for s in selections if self.refundable_cap(order_id, s) >= 1]
        chosen = data.draw(st.sampled_from(selections or [None]), label="items")
        cap = self.refundable_cap(order_id, chosen)
        over_cap = over_cap or cap < 1
        amount = data.draw(
            money_up_to(max(1, cap + 1), cap + 10_000) if over_cap else money_up_to(1, cap),
            label="amount",
        )
        body: dict[str, Any] = {
            "order_id": order_id,
            "reason": data.draw(st.sampled_from(REASONS), label="reason"),
            "remedy": data.draw(st.sampled_from(("refund_only", "return_and_refund"))),
            "amount": amount,
        }
        if chosen is not None:
            body["items"] = [{"listing_id": listing, "quantity": 1} for listing in chosen]
        before = self.snapshot()
        open_before = [
            d for d in self.disputes_of[order_id] if before["disputes"][d]["status"] != "closed"
        ]

        response = self.write(self.buyer_of[order_id], "POST", "/v1/disputes", json=body)

        if open_before:
            assert response.status_code == 409, response.json
            assert response.json["error"]["details"]["dispute_id"] == open_before[0]
        elif over_cap:
            assert response.status_code == 422, response.json
            assert "amount" in response.json["error"]["details"]
        else:
            assert response.status_code == 201, response.json
            dispute = response.json
            assert (dispute["status"], dispute["version"]) == ("awaiting_seller", 1)
            self.disputes_of[order_id].append(dispute["id"])
            self.order_of[dispute["id"]] = order_id
            return
        # A refused filing changes nothing: no new dispute, no refund, no event.
        assert self.snapshot() == before

    @rule(data=st.data())
    def a_party_takes_an_action_it_is_offered(self, data: st.DataObject) -> None:
        disputes = self.snapshot()["disputes"]
        views = {
            (dispute_id, party): self.get(
                self.party_id(dispute_id, party), f"/v1/disputes/{dispute_id}"
            )
            for dispute_id in self.order_of
            if disputes[dispute_id]["status"] != "closed"
            for party in lifecycle.PARTIES
        }
        offered = {
            key: [action for action in view["allowed_actions"] if action in ROUTED_ACTIONS]
            for key, view in views.items()
        }
        candidates = [key for key, actions in offered.items() if actions]
        if not candidates:
            return
        dispute_id, party = data.draw(st.sampled_from(candidates), label="dispute and party")
        who, before = self.party_id(dispute_id, party), views[dispute_id, party]
        action = data.draw(st.sampled_from(offered[dispute_id, party]), label="action")
        params = self.valid_params(data, action, before)

        response = self.write(who, "POST", f"/v1/disputes/{dispute_id}/{action}", json=params)

        assert response.status_code == 200, (party, action, params, before, response.json)
        assert response.json["version"] == before["version"] + 1
        last = self.snapshot()["events"][dispute_id][-1]
        assert (last["action"], last["actor"], last["from_status"]) == (
            action,
            who,
            before["status"],
        )
        assert last["to_status"] == response.json["status"]

    @rule(data=st.data())
    def a_party_is_refused_an_action_it_is_not_offered(self, data: st.DataObject) -> None:
        if not self.order_of:
            return
        dispute_id = data.draw(st.sampled_from(list(self.order_of)), label="dispute")
        party = data.draw(st.sampled_from(("buyer", "seller")), label="party")
        who = self.party_id(dispute_id, party)
        before = self.get(who, f"/v1/disputes/{dispute_id}")
        not_offered = [a for a in ACTIONS_A_PARTY_MAY_TRY if a not in before["allowed_actions"]]
        action = data.draw(st.sampled_from(not_offered), label="action")
        params = self.valid_params(data, action, before)
        everything_before = self.snapshot()

        response = self.write(who, "POST", f"/v1/disputes/{dispute_id}/{action}", json=params)

        assert response.status_code == 409, (party, action, params, before, response.json)
        details = response.json["error"]["details"]
        assert details["allowed_actions"] == before["allowed_actions"]
        assert self.snapshot() == everything_before, "a refused action changed something"

    @rule(data=st.data())
    def an_arbitrator_claims_or_asks_for_more_evidence(self, data: st.DataObject) -> None:
        disputes = self.snapshot()["disputes"]
        waiting = [d for d in self.order_of if disputes[d]["status"] == "awaiting_decision"]
        if not waiting:
            return
        dispute_id = data.draw(st.sampled_from(waiting), label="dispute")
        before = self.get(self.arbitrator, f"/v1/disputes/{dispute_id}")
        moves = [a for a in before["allowed_actions"] if a in ("claim", "request-info", "decide")]
        if not moves:
            return
        action = data.draw(st.sampled_from(moves), label="action")
        params: dict[str, Any] = {}
        if action == "request-info":
            events = self.get(self.arbitrator, f"/v1/disputes/{dispute_id}/events")["data"]
            asked = {
                asked_party
                for event in events
                if event["action"] == "request-info"
                for asked_party in lifecycle.PARTIES
                if event["payload"]["party"] in (asked_party, "both")
            }
            targets = [p for p in lifecycle.PARTIES if p not in asked]
            if not asked:
                targets.append("both")
            params = {
                "party": data.draw(st.sampled_from(targets), label="asked"),
                "question": "Photos of the box, please.",
            }
        if action == "decide":
            params = self.ruling(data, before)

        response = self.write(
            self.arbitrator, "POST", f"/v1/disputes/{dispute_id}/{action}", json=params
        )
        note_event(f"arbitrator: {action}")

        assert response.status_code == 200, (action, params, before, response.json)
        assert response.json["version"] == before["version"] + 1

    @rule(data=st.data())
    def the_parties_cannot_agree_and_the_platform_rules(self, data: st.DataObject) -> None:
        """A shortcut through reject, escalate, both sides' evidence-done, a claim and a ruling, so
        that rulings and appeals come up in most examples rather than a few."""
        disputes = self.snapshot()["disputes"]
        waiting = [d for d in self.order_of if disputes[d]["status"] == "awaiting_seller"]
        if not waiting:
            return
        dispute_id = data.draw(st.sampled_from(waiting), label="contested")
        buyer, seller = self.party_id(dispute_id, "buyer"), self.seller
        for who, action, body in (
            (seller, "reject", {"reason": "Works as described."}),
            (buyer, "escalate", {}),
            (buyer, "evidence-done", {}),
            (seller, "evidence-done", {}),
        ):
            response = self.write(who, "POST", f"/v1/disputes/{dispute_id}/{action}", json=body)
            assert response.status_code == 200, (action, response.json)
        claimed = self.write(self.arbitrator, "POST", f"/v1/disputes/{dispute_id}/claim", json={})
        assert claimed.status_code == 200, claimed.json
        terms = self.ruling(data, claimed.json)
        ruled = self.write(self.arbitrator, "POST", f"/v1/disputes/{dispute_id}/decide", json=terms)
        assert ruled.status_code == 200, (terms, ruled.json)
        assert ruled.json["status"] == "decided"
        assert (ruled.json["refund_amount"] or 0) == ruled.json["decision"]["refund_amount"]
        note_event(f"ruled {terms['outcome']}")

    @rule(data=st.data())
    def a_senior_hears_an_appeal(self, data: st.DataObject) -> None:
        disputes = self.snapshot()["disputes"]
        appealed = [d for d in self.order_of if disputes[d]["status"] == "under_appeal"]
        if not appealed:
            return
        dispute_id = data.draw(st.sampled_from(appealed), label="appeal")
        before = self.get(self.senior, f"/v1/disputes/{dispute_id}")
        if "claim" in before["allowed_actions"]:
            params: dict[str, Any] = {}
            action = "claim"
        else:
            assert "appeal-decision" in before["allowed_actions"], before
            action = "appeal-decision"
            params = {"result": data.draw(st.sampled_from(("uphold", "overturn")))}
            params["rationale"] = "Heard afresh."
            if params["result"] == "overturn":
                params["decision"] = self.ruling(data, before)

        response = self.write(
            self.senior, "POST", f"/v1/disputes/{dispute_id}/{action}", json=params
        )

        assert response.status_code == 200, (action, params, before, response.json)
        assert response.json["version"] == before["version"] + 1
        note_event(f"senior: {action} {params.get('result', '')}".strip())
        if action == "appeal-decision":
            assert response.json["status"] == "closed"
            ruled = response.json["decision"]
            if params["result"] == "uphold":
                assert ruled["outcome"] == before["decision"]["outcome"]
            else:
                # A higher replacement refunds the difference; a lower one is the platform's to
                # settle: what was paid stays paid, and nothing is refunded twice.
                paid = max(ruled["refund_amount"], before["refund_amount"] or 0)
                assert (response.json["refund_amount"] or 0) == paid

    @rule(data=st.data())
    def a_party_adds_evidence(self, data: st.DataObject) -> None:
        """Accepted (201) exactly when the party is offered add-evidence; refused, nothing kept."""
        if not self.order_of:
            return
        dispute_id = data.draw(st.sampled_from(list(self.order_of)), label="dispute")
        party = data.draw(st.sampled_from(lifecycle.PARTIES), label="party")
        who = self.party_id(dispute_id, party)
        if self.evidence_of[dispute_id, who] >= MAX_FILES_PER_PARTY:
            return
        before = self.get(who, f"/v1/disputes/{dispute_id}")
        everything_before = self.snapshot()
        salt = bytes([len(self.evidence_of), self.evidence_of[dispute_id, who]])
        form = {"kind": "photo", "file": (io.BytesIO(PNG + salt), "photo.png")}

        response = self.write(
            who,
            "POST",
            f"/v1/disputes/{dispute_id}/evidence",
            data=form,
            content_type="multipart/form-data",
        )

        if "add-evidence" in before["allowed_actions"]:
            assert response.status_code == 201, (party, before, response.json)
            self.evidence_of[dispute_id, who] += 1
            note_event("evidence added")
        else:
            assert response.status_code == 409, (party, before, response.json)
            assert self.snapshot() == everything_before, "refused evidence changed something"

    @rule(data=st.data())
    def trust_and_safety_confirms_a_violation(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(sorted(self.policy.penalties.violations)), label="kind")

        response = self.write(
            self.trust_safety,
            "POST",
            f"/v1/sellers/{self.seller}/violations",
            json={"kind": kind, "note": "Found on review."},
        )

        assert response.status_code == 201, response.json
        assert (response.json["kind"], response.json["status"]) == (kind, "active")

    def penalties(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{key}={value}" for key, value in filters.items())
        path = f"/v1/penalties?seller_id={self.seller}&limit=200&{query}"
        found: list[dict[str, Any]] = self.get(self.trust_safety, path)["data"]
        return found

    @rule(data=st.data())
    def trust_and_safety_reviews_a_penalty(self, data: st.DataObject) -> None:
        pending = self.penalties(status="pending_review")
        if not pending:
            return
        penalty = data.draw(st.sampled_from(pending), label="penalty")
        verdict = data.draw(st.sampled_from(("approve", "reject")), label="verdict")
        body = {} if verdict == "approve" else {"note": "Not warranted."}

        response = self.write(
            self.trust_safety, "POST", f"/v1/penalties/{penalty['id']}/{verdict}", json=body
        )

        assert response.status_code == 200, (verdict, penalty, response.json)
        expected = ("active", "expired") if verdict == "approve" else ("rejected",)
        assert response.json["status"] in expected, response.json
        note_event(f"penalty review: {verdict}")

    @rule(data=st.data())
    def the_seller_appeals_a_penalty(self, data: st.DataObject) -> None:
        penalties = self.penalties()
        if not penalties:
            return
        penalty = data.draw(st.sampled_from(penalties), label="penalty")

        response = self.write(
            self.seller,
            "POST",
            f"/v1/penalties/{penalty['id']}/appeal",
            json={"reason": data.draw(st.sampled_from(TEXTS))},
        )

        if penalty["appeal_status"] is not None or penalty["status"] not in LIVE_PENALTIES:
            assert response.status_code == 409, (penalty, response.json)
        elif response.status_code == 409:  # the window may have passed as time jumped
            assert response.json["error"]["code"] == "penalty_appeal_window_closed", response.json
        else:
            assert response.status_code == 200, (penalty, response.json)
            assert response.json["appeal_status"] == "pending"
            note_event("penalty appealed")

    @rule(data=st.data())
    def trust_and_safety_rules_on_a_penalty_appeal(self, data: st.DataObject) -> None:
        appealed = [p for p in self.penalties() if p["appeal_status"] == "pending"]
        if not appealed:
            return
        penalty = data.draw(st.sampled_from(appealed), label="appealed penalty")
        result = data.draw(st.sampled_from(("uphold", "grant")), label="result")

        response = self.write(
            self.trust_safety,
            "POST",
            f"/v1/penalties/{penalty['id']}/appeal-decision",
            json={"result": result, "rationale": "Reviewed."},
        )

        assert response.status_code == 200, (penalty, response.json)
        assert response.json["appeal_status"] == ("granted" if result == "grant" else "upheld")
        if result == "grant":
            # A granted appeal revokes a penalty still pending, in force or expired; one that has
            # ended otherwise (rejected on review while its appeal waited) keeps its status.
            still_standing = penalty["status"] in (*LIVE_PENALTIES, "expired")
            expected = "revoked" if still_standing else penalty["status"]
            assert response.json["status"] == expected, (penalty, response.json)
        note_event(f"penalty appeal: {result}")

    @rule(
        minutes=st.one_of(
            st.integers(1, 60),
            st.integers(60, 3 * 24 * 60),
            st.sampled_from((24 * 60, 3 * 24 * 60, 5 * 24 * 60, 7 * 24 * 60, 10 * 24 * 60)),
        )
    )
    def time_passes_and_due_deadlines_fire(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self._generation += 1
        report = sweep_due_deadlines(
            self.app.extensions["arbitration"].database, policy=self.policy, clock=self.clock
        )
        assert not report.failed, report

    # Invariants --------------------------------------------------------------------------------

    @invariant()
    def refunds_never_exceed_the_order(self) -> None:
        seen = self.snapshot()
        for order_id, order in seen["orders"].items():
            disputes = [seen["disputes"][d] for d in self.disputes_of[order_id]]
            refunded = sum(d["refund_amount"] or 0 for d in disputes)
            assert 0 <= order["refunded_amount"] <= order["amount"], order
            assert order["refunded_amount"] == refunded, (order, disputes)
            # Money moves only when the parties settle or the platform rules (at once, §1).
            unpaid = [d for d in disputes if d["status"] not in RULED_OR_CLOSED]
            assert all(d["refund_amount"] is None for d in unpaid), unpaid

    @invariant()
    def a_closed_dispute_never_reopens(self) -> None:
        for dispute_id, dispute in self.snapshot()["disputes"].items():
            settled = tuple(
                dispute[field] for field in ("status", "outcome", "refund_amount", "version")
            )
            if dispute_id in self.closed:
                assert settled == self.closed[dispute_id], (dispute_id, self.closed[dispute_id])
            elif dispute["status"] == "closed":
                assert dispute["outcome"] is not None, dispute
                self.closed[dispute_id] = settled
            else:
                assert dispute["outcome"] is None, dispute

    @invariant()
    def every_audit_chain_verifies(self) -> None:
        for dispute_id, events in self.snapshot()["events"].items():
            assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
            previous = GENESIS_HASH
            for event in events:
                assert event["prev_hash"] == previous, (dispute_id, event)
                previous = event["hash"]
        with self.app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
            report = verify_chains(session)
        assert report.ok, [str(link) for link in report.broken]
        assert report.disputes == len(self.order_of)

    @invariant()
    def an_order_has_at_most_one_open_dispute(self) -> None:
        disputes = self.snapshot()["disputes"]
        assert set(disputes) == set(self.order_of), "a dispute appeared that nobody filed"
        for order_id, dispute_ids in self.disputes_of.items():
            still_open = [d for d in dispute_ids if disputes[d]["status"] != "closed"]
            assert len(still_open) <= 1, (order_id, still_open)

    @invariant()
    def the_version_counts_the_lifecycle_actions(self) -> None:
        seen = self.snapshot()
        for dispute_id, dispute in seen["disputes"].items():
            moves = [e for e in seen["events"][dispute_id] if e["action"] in LIFECYCLE_EVENTS]
            assert dispute["version"] == len(moves), (dispute_id, dispute["version"], moves)

    @invariant()
    def the_status_is_the_last_events_target(self) -> None:
        seen = self.snapshot()
        for dispute_id, dispute in seen["disputes"].items():
            last = seen["events"][dispute_id][-1]
            assert dispute["status"] == last["to_status"], (dispute_id, dispute["status"], last)

    @invariant()
    def one_ruling_and_one_appeal_ruling_per_dispute(self) -> None:
        with self.app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
            counts = session.execute(
                select(Decision.dispute_id, Decision.kind, func.count()).group_by(
                    Decision.dispute_id, Decision.kind
                )
            ).all()
        assert all(count == 1 for _, _, count in counts), counts

    @invariant()
    def every_accepted_piece_of_evidence_is_listed(self) -> None:
        for dispute_id in self.order_of:
            listed = self.get(self.arbitrator, f"/v1/disputes/{dispute_id}/evidence")["data"]
            by_party = Counter(item["author_id"] for item in listed)
            expected = {
                who: count for (d, who), count in self.evidence_of.items() if d == dispute_id
            }
            assert dict(by_party) == {w: c for w, c in expected.items() if c}, (dispute_id, listed)

    @invariant()
    def the_standing_is_what_the_violation_ledger_implies(self) -> None:
        """Points recomputed from the violation rows, and the ladder's crossings those points reach."""
        rules = self.policy.penalties
        now = self.clock.now()
        period = period_of(now, rules)
        with self.app.extensions["arbitration"].database.unit_of_work(read_only=True) as session:
            query = select(Violation).where(
                Violation.seller_id == self.seller, Violation.status == "active"
            )
            if rules.points_window == "calendar_year":
                query = query.where(Violation.period == period)
            else:
                query = query.where(Violation.recorded_at > now - rules.rolling_window)
            counted = list(session.scalars(query))
            crossings = session.execute(
                select(LadderCrossing.ledger, LadderCrossing.points).where(
                    LadderCrossing.seller_id == self.seller, LadderCrossing.period == period
                )
            ).all()
        points = {ledger: 0 for ledger in ("general", "severe")}
        for violation in counted:
            points[violation.ledger] += violation.points
        standing = self.get(self.trust_safety, f"/v1/sellers/{self.seller}/standing")
        assert standing["points"] == points, (standing["points"], points)
        reached = {
            (ledger, step.points)
            for ledger, steps in rules.ladder.items()
            for step in steps
            if step.points <= points[ledger]
        }
        assert set(map(tuple, crossings)) == reached, (crossings, points)


# ARBITRATION_PROPERTY_EXAMPLES=200 for a longer search; 25 in make test.
SETTINGS = settings(
    max_examples=int(os.environ.get("ARBITRATION_PROPERTY_EXAMPLES", "25")),
    stateful_step_count=25,
    deadline=None,
)


def test_the_lifecycle_keeps_its_invariants_whatever_parties_and_the_clock_do(
    migrated_template: str,
) -> None:
    """On this run's database: SQLite, or PostgreSQL under ``scripts/with-postgres``."""
    DisputeLifecycle.template = migrated_template
    run_state_machine_as_test(DisputeLifecycle, settings=SETTINGS)
