"""The ``[reports]`` policy's default period: 30 days unless overridden, a duration like the others."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from arbitration.policy import load_policy
from arbitration.policy_file import PolicyError


def test_a_report_covers_thirty_days_by_default() -> None:
    assert load_policy().reports.default_period == timedelta(days=30)


def test_an_override_sets_the_default_period(tmp_path: Path) -> None:
    override = tmp_path / "policy.toml"
    override.write_text('[reports]\ndefault_period = "7d"\n', encoding="utf-8")

    assert load_policy(override).reports.default_period == timedelta(days=7)


@pytest.mark.parametrize(
    ("value", "problem"),
    [('"a month"', "'a month' is not a duration"), ("30", "must be a duration string")],
)
def test_a_default_period_that_is_not_a_duration_names_the_key(
    tmp_path: Path, value: str, problem: str
) -> None:
    override = tmp_path / "policy.toml"
    override.write_text(f"[reports]\ndefault_period = {value}\n", encoding="utf-8")

    with pytest.raises(PolicyError) as refused:
        load_policy(override)

    assert str(refused.value).startswith(f"reports.default_period: {problem}")
