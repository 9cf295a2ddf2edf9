"""Category and priority given to a dispute at filing (DESIGN.md section 2)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from arbitration.classification import Classification, classify
from arbitration.policy import CATEGORIES, REASONS, load_policy

RULES = load_policy().classification


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("not_received", "logistics"),
        ("damaged", "logistics"),
        ("wrong_item", "service"),
        ("no_reason_7_days", "platform"),
        ("not_as_described", "product"),
        ("counterfeit", "product"),
        ("missing_parts", "product"),
        ("quality_issue", "product"),
        ("safety_hazard", "product"),
    ],
)
def test_reason_decides_the_category(reason: str, category: str) -> None:
    assert classify(reason=reason, amount=100, policy=RULES).category == category


def test_every_reason_has_a_category() -> None:
    categories = {classify(reason=reason, amount=1, policy=RULES).category for reason in REASONS}

    assert categories <= set(CATEGORIES)


def test_safety_hazard_is_urgent_whatever_the_amount() -> None:
    assert classify(reason="safety_hazard", amount=1, policy=RULES) == Classification(
        "product", "urgent"
    )


def test_large_amount_is_urgent_from_the_threshold_exactly() -> None:
    assert classify(reason="damaged", amount=99_999, policy=RULES).priority == "normal"
    assert classify(reason="damaged", amount=100_000, policy=RULES).priority == "urgent"


def test_counterfeit_is_high_whatever_the_amount() -> None:
    assert classify(reason="counterfeit", amount=1, policy=RULES).priority == "high"


def test_large_counterfeit_is_urgent() -> None:
    assert classify(reason="counterfeit", amount=100_000, policy=RULES).priority == "urgent"


def test_not_as_described_is_high_from_the_threshold_exactly() -> None:
    assert classify(reason="not_as_described", amount=19_999, policy=RULES).priority == "normal"
    assert classify(reason="not_as_described", amount=20_000, policy=RULES).priority == "high"
    assert classify(reason="not_as_described", amount=100_000, policy=RULES).priority == "urgent"


def test_high_amount_alone_does_not_raise_other_reasons() -> None:
    assert classify(reason="quality_issue", amount=50_000, policy=RULES).priority == "normal"
    assert classify(reason="not_received", amount=20_000, policy=RULES).priority == "normal"


def test_rules_follow_the_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        '[classification]\nurgent_reasons = ["counterfeit"]\nhigh_amount_reasons = ["damaged"]\n'
        "high_amount = 500\n"
        '[classification.categories]\ndamaged = "product"\n'
    )
    rules = load_policy(path).classification

    assert classify(reason="counterfeit", amount=1, policy=rules).priority == "urgent"
    assert classify(reason="safety_hazard", amount=1, policy=rules).priority == "normal"
    assert classify(reason="damaged", amount=500, policy=rules) == Classification("product", "high")


def test_unknown_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown reason 'broken'"):
        classify(reason="broken", amount=1, policy=RULES)


def test_classification_is_immutable() -> None:
    result = classify(reason="damaged", amount=1, policy=RULES)

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.priority = "urgent"  # type: ignore[misc]
