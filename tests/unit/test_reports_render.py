"""How reports and public decisions read: masked buyers, generated summaries, the terminal table."""

from __future__ import annotations

from datetime import UTC, datetime

from arbitration.models import Decision, Dispute
from reports.render import as_csv, as_table
from reports.summary import Figures, Rate, Summary
from reports.transparency import mask_name, summary_of

AT = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_masked_name_keeps_only_an_initial() -> None:
    assert mask_name("Alice Wong") == "A***"
    assert mask_name("  @bob") == "B***"
    assert mask_name("") == "***"


def test_a_public_summary_is_made_of_the_rulings_terms_only() -> None:
    dispute = Dispute(reason="not_as_described", amount=5_000, currency="USD")
    decision = Decision(
        outcome="buyer_partial_refund",
        refund_amount=2_000,
        responsibility="seller",
        violation="not_as_described",
        rationale="Alice said so at alice@example.com",
    )

    sentence = summary_of(dispute, decision, overturned=True)

    assert sentence == (
        "A not as described complaint, ruled a partial refund (20.00 USD of 50.00 USD asked); "
        "responsibility: seller, violation: not as described; this ruling replaced one "
        "overturned on appeal."
    )


def _figures(key: str | None, filed: int) -> Figures:
    none = Rate(0, 0)
    return Figures(
        key=key,
        filed=filed,
        resolved=Rate(1, filed),
        outcomes={"refunded": 1},
        median_hours_to_resolution=2.5,
        settled_by_parties=Rate(1, 1),
        closed_by_timeout=none,
        escalated=none,
        sla_compliance=none,
        appeals_overturned=none,
        refunds_on_time=none,
        satisfied=Rate(4, 5),
        dissatisfied=1,
        cases_ruled=0,
        median_hours_to_rule=None,
        escalated_to_seniors=0,
    )


def test_the_table_shows_rates_with_their_counts_and_dashes_for_nothing_to_count() -> None:
    summary = Summary(
        by="channel",
        since=None,
        until=AT,
        generated_at=AT,
        satisfaction_goal=0.8,
        total=_figures("all", 2),
        groups=[_figures("web", 2)],
    )

    table = as_table(summary)
    rows = as_csv(summary).splitlines()

    assert "50% (1/2)" in table
    assert "80% satisfied (4 of 5 answers; 1 dissatisfied), meets the 80% goal" in table
    assert any(line.startswith("web ") and " - " in line for line in table.splitlines())
    assert rows[0].startswith("channel,filed,resolved_count,resolved_of,resolved_share")
    assert rows[1].startswith("all,2,1,2,0.5") and rows[2].startswith("web,2,1,2,0.5")
