"""The fairness policy (DESIGN §5a): advance compensation and the buyer ledger, as data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from arbitration.policy import load_policy
from arbitration.policy_file import PolicyError


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_default_advance_compensation_and_buyer_ledger() -> None:
    policy = load_policy()
    assert policy.advance_compensation.max_amount == 0
    assert policy.advance_compensation.recovery_grace == timedelta(days=15)
    assert dict(policy.buyer_abuse.violations) == {"unjustified_claim": 2, "fabricated_evidence": 6}
    # Three lost unjustified claims put a buyer under review.
    assert (
        policy.buyer_abuse.review_threshold
        == 3 * policy.buyer_abuse.violations["unjustified_claim"]
    )
    assert policy.buyer_abuse.window == timedelta(days=365)


def test_an_override_names_only_what_it_changes(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        "[advance_compensation]\nmax_amount = 5000\n[buyer_abuse.violations]\nserial_returns = 1\n",
    )
    policy = load_policy(path)
    assert policy.advance_compensation.max_amount == 5_000
    assert policy.advance_compensation.recovery_grace == timedelta(days=15)
    assert policy.buyer_abuse.violations["serial_returns"] == 1


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[advance_compensation]\nmax_amount = -1", "advance_compensation.max_amount"),
        ('[advance_compensation]\nrecovery_grace = "soon"', "advance_compensation.recovery_grace"),
        ("[buyer_abuse]\nreview_threshold = 0", "buyer_abuse.review_threshold"),
        (
            '[buyer_abuse.violations]\nunjustified_claim = "two"',
            "buyer_abuse.violations.unjustified_claim",
        ),
        ("[buyer_abuse]\nreveiw_threshold = 3", "buyer_abuse.reveiw_threshold"),
    ],
)
def test_a_bad_fairness_value_stops_the_engine_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(PolicyError) as refused:
        load_policy(write_policy(tmp_path, text))
    assert refused.value.key == key
