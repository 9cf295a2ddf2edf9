"""The policy file: DESIGN.md's defaults, partial overrides, and errors that name the bad key."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from arbitration.calendar import WorkingDays
from arbitration.policy import (
    CATEGORIES,
    LEDGERS,
    PENALTY_KINDS,
    REASONS,
    LadderPenalty,
    LadderStep,
    ViolationRule,
    load_policy,
    load_policy_from_env,
)
from arbitration.policy_file import PolicyError, parse_duration

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def policy_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, text))
    return str(caught.value)


# --- defaults -------------------------------------------------------------------------------------


def test_default_deadlines_are_designs_numbers() -> None:
    deadlines = load_policy().deadlines

    assert deadlines.seller_response_unshipped == 24 * HOUR
    assert deadlines.seller_response_shipped == 5 * DAY
    assert deadlines.buyer_after_rejection == 5 * DAY
    assert deadlines.buyer_return_shipment == 7 * DAY
    assert deadlines.seller_return_confirmation == 10 * DAY
    assert deadlines.evidence_window == 3 * DAY
    assert deadlines.appeal_window == 7 * DAY
    assert deadlines.penalty_appeal_window == 7 * DAY
    assert deadlines.refund_confirmation == WorkingDays(3)
    assert deadlines.extension == 3 * DAY
    assert deadlines.reminder_before == 24 * HOUR
    assert deadlines.seller_fulfilment == WorkingDays(5)
    assert deadlines.repair_max == 15 * DAY
    assert deadlines.buyer_fulfilment_confirmation == 10 * DAY


def test_default_calendar_is_chinas() -> None:
    calendar = load_policy().calendar

    assert (calendar.country, calendar.timezone) == ("CN", "Asia/Shanghai")
    assert calendar.extra_holidays == calendar.extra_workdays == frozenset()


def test_default_sla_is_a_day_for_urgent_cases_and_two_days_otherwise() -> None:
    sla = load_policy().sla

    assert sla.decision_window("urgent") == 24 * HOUR
    assert sla.decision_window("high") == 48 * HOUR
    assert sla.decision_window("normal") == 48 * HOUR
    assert sla.senior_escalation_factor == 2


def test_default_classification_rules() -> None:
    rules = load_policy().classification

    assert dict(rules.categories) == {
        "not_received": "logistics",
        "not_as_described": "product",
        "damaged": "logistics",
        "wrong_item": "service",
        "missing_parts": "product",
        "counterfeit": "product",
        "quality_issue": "product",
        "safety_hazard": "product",
        "no_reason_7_days": "platform",
    }
    assert rules.urgent_reasons == {"safety_hazard"}
    assert rules.urgent_amount == 100_000
    assert rules.high_reasons == {"counterfeit"}
    assert rules.high_amount_reasons == {"not_as_described"}
    assert rules.high_amount == 20_000
    assert (rules.batch_min_disputes, rules.batch_window) == (5, 7 * DAY)


def test_the_edge_accepts_json_bodies_up_to_one_mebibyte_by_default(tmp_path: Path) -> None:
    assert load_policy().limits.max_json_body == 1024 * 1024
    smaller = load_policy(write_policy(tmp_path, "[limits]\nmax_json_body = 65536"))
    assert smaller.limits.max_json_body == 65_536


def test_default_evidence_limits() -> None:
    evidence = load_policy().evidence

    assert evidence.max_file_bytes == 20 * 1024 * 1024
    assert evidence.max_files_per_party == 20
    assert evidence.allowed_types == {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "video/mp4",
        "application/pdf",
        "text/plain",
    }


def test_default_violation_points() -> None:
    penalties = load_policy().penalties

    assert dict(penalties.violations) == {
        "not_as_described": ViolationRule("general", 3),
        "non_delivery": ViolationRule("general", 3),
        "unjustified_rejection": ViolationRule("general", 2),
        "counterfeit": ViolationRule("severe", 12),
        "fabricated_evidence": ViolationRule("severe", 12),
        "unsafe_product": ViolationRule("severe", 12),
        "missed_fulfilment": ViolationRule("general", 1),
    }
    assert penalties.version == "2026.1"
    assert penalties.points_window == "calendar_year"
    assert penalties.rolling_window == 365 * DAY
    assert penalties.review_required == {"account_freeze", "permanent_ban"}


def test_default_ladders() -> None:
    ladder = load_policy().penalties.ladder

    def step(points: int, *penalties: tuple[str, int | None]) -> LadderStep:
        return LadderStep(
            points,
            tuple(LadderPenalty(kind, days * DAY if days else None) for kind, days in penalties),
        )

    assert ladder["general"] == (
        step(12, ("public_warning", None), ("listing_restriction", 7)),
        step(24, ("listing_restriction", 14)),
        step(36, ("listing_restriction", 21), ("search_shielding", 21)),
        step(48, ("listing_restriction", 28), ("search_shielding", 28)),
    )
    assert ladder["severe"] == (
        step(12, ("listing_restriction", 7), ("search_shielding", 7)),
        step(24, ("account_freeze", 14)),
        step(36, ("account_freeze", 21)),
        step(48, ("permanent_ban", None)),
    )


def test_exported_vocabularies() -> None:
    assert len(REASONS) == 9 and "no_reason_7_days" in REASONS
    assert CATEGORIES == ("product", "logistics", "service", "platform")
    assert LEDGERS == ("general", "severe")
    assert "account_freeze" in PENALTY_KINDS and "warning" in PENALTY_KINDS


def test_policy_cannot_be_changed_once_loaded() -> None:
    policy = load_policy()

    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.deadlines.extension = DAY  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.classification.categories["damaged"] = "service"  # type: ignore[index]
    with pytest.raises(TypeError):
        policy.penalties.violations["x"] = ViolationRule("general", 1)  # type: ignore[index]


# --- overrides ------------------------------------------------------------------------------------


def test_override_changes_only_the_keys_it_names(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        """
        [deadlines]
        seller_response_unshipped = "2s"
        evidence_window = "1d12h"

        [penalties.violations.counterfeit]
        points = 20
        """,
    )
    defaults, policy = load_policy(), load_policy(path)

    assert policy.deadlines.seller_response_unshipped == timedelta(seconds=2)
    assert policy.deadlines.evidence_window == timedelta(days=1, hours=12)
    assert policy.penalties.violations["counterfeit"] == ViolationRule("severe", 20)
    assert policy.deadlines.seller_response_shipped == defaults.deadlines.seller_response_shipped
    assert policy.sla == defaults.sla
    assert policy.classification == defaults.classification
    assert policy.penalties.ladder == defaults.penalties.ladder


def test_demo_policy_runs_every_deadline_in_seconds(tmp_path: Path) -> None:
    lines = [f'{f.name} = "2s"' for f in dataclasses.fields(load_policy().deadlines)]
    path = write_policy(tmp_path, "[deadlines]\n" + "\n".join(lines))

    deadlines = load_policy(path).deadlines

    assert set(dataclasses.asdict(deadlines).values()) == {timedelta(seconds=2)}


def test_override_replaces_one_ladder_and_keeps_the_other(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        """
        [[penalties.ladder.general]]
        points = 6
        penalties = [{ kind = "search_shielding", duration = "2s" }]
        """,
    )
    ladder = load_policy(path).penalties.ladder

    assert ladder["general"] == (
        LadderStep(6, (LadderPenalty("search_shielding", timedelta(seconds=2)),)),
    )
    assert ladder["severe"] == load_policy().penalties.ladder["severe"]


def test_override_can_add_a_violation_kind(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path, '[penalties.violations.late_shipment]\nledger = "general"\npoints = 1'
    )

    violations = load_policy(path).penalties.violations

    assert violations["late_shipment"] == ViolationRule("general", 1)
    assert "counterfeit" in violations


def test_override_can_switch_to_a_rolling_points_window(tmp_path: Path) -> None:
    path = write_policy(tmp_path, '[penalties]\npoints_window = "rolling"\nrolling_window = "90d"')

    penalties = load_policy(path).penalties

    assert (penalties.points_window, penalties.rolling_window) == ("rolling", 90 * DAY)


def test_environment_names_the_override_file(tmp_path: Path) -> None:
    path = write_policy(tmp_path, '[sla]\ndecision_normal = "5s"')

    assert load_policy_from_env({"ARBITRATION_POLICY": str(path)}).sla.decision_normal == (
        timedelta(seconds=5)
    )
    assert load_policy_from_env({}) == load_policy()
    assert load_policy_from_env({"ARBITRATION_POLICY": ""}) == load_policy()


# --- errors ---------------------------------------------------------------------------------------


def test_bad_duration_names_the_key(tmp_path: Path) -> None:
    message = policy_error(tmp_path, '[deadlines]\nseller_response_unshipped = "48x"')

    assert message.startswith("deadlines.seller_response_unshipped: '48x' is not a duration")
    assert '"48h"' in message
    assert str(tmp_path / "policy.toml") in message


def test_duration_given_as_a_number_names_the_key(tmp_path: Path) -> None:
    message = policy_error(tmp_path, "[sla]\ndecision_urgent = 24")

    assert message.startswith("sla.decision_urgent: must be a duration string")
    assert "integer 24" in message


def test_misspelt_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    message = policy_error(tmp_path, '[deadlines]\nseller_respons_unshipped = "2s"')

    assert message.startswith("deadlines.seller_respons_unshipped: unknown key")
    assert "did you mean 'seller_response_unshipped'?" in message


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    message = policy_error(tmp_path, '[deadline]\nextension = "1d"')

    assert message.startswith("deadline: unknown key")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[classification]\nurgent_amount = -1", "classification.urgent_amount"),
        ("[classification]\nhigh_amount = 200.5", "classification.high_amount"),
        ("[classification]\nbatch_min_disputes = 0", "classification.batch_min_disputes"),
        ("[evidence]\nmax_file_bytes = true", "evidence.max_file_bytes"),
        ("[evidence]\nmax_files_per_party = -3", "evidence.max_files_per_party"),
        ('[evidence]\nallowed_types = "image/png"', "evidence.allowed_types"),
        ('[evidence]\nallowed_types = ["image/png", 7]', "evidence.allowed_types[1]"),
        ('[evidence]\nallowed_types = ["png"]', "evidence.allowed_types[0]"),
        ("[sla]\nsenior_escalation_factor = -2", "sla.senior_escalation_factor"),
        ('[sla]\nsenior_escalation_factor = "2"', "sla.senior_escalation_factor"),
        (
            "[penalties.violations.counterfeit]\npoints = -12",
            "penalties.violations.counterfeit.points",
        ),
        ('deadlines = "fast"', "deadlines"),
        ('[penalties]\nversion = ""', "penalties.version"),
    ],
)
def test_wrong_type_or_negative_number_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    assert policy_error(tmp_path, text).startswith(f"{key}: ")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[classification]\nurgent_reasons = ["safety"]', "classification.urgent_reasons[0]"),
        (
            '[classification]\nhigh_reasons = ["counterfeit", "fake"]',
            "classification.high_reasons[1]",
        ),
        (
            '[classification.categories]\nnot_recieved = "logistics"',
            "classification.categories.not_recieved",
        ),
        ('[classification.categories]\ndamaged = "shipping"', "classification.categories.damaged"),
        ('[penalties]\nreview_required = ["ban"]', "penalties.review_required[0]"),
        ('[penalties]\npoints_window = "monthly"', "penalties.points_window"),
        (
            '[penalties.violations.counterfeit]\nledger = "major"',
            "penalties.violations.counterfeit.ledger",
        ),
        ("[[penalties.ladder.major]]\npoints = 1", "penalties.ladder.major"),
    ],
)
def test_unknown_reason_category_kind_or_ledger_names_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    assert policy_error(tmp_path, text).startswith(f"{key}: ")


def test_unknown_penalty_kind_in_the_ladder_names_its_position(tmp_path: Path) -> None:
    message = policy_error(
        tmp_path,
        "[[penalties.ladder.severe]]\npoints = 12\n"
        'penalties = [{ kind = "jail", duration = "1d" }]',
    )

    assert message.startswith("penalties.ladder.severe[0].penalties[0].kind: 'jail' is not a known")


def test_ladder_penalty_durations_are_checked_against_the_kind(tmp_path: Path) -> None:
    step = '[[penalties.ladder.severe]]\npoints = 5\npenalties = [{{ kind = "{kind}"{duration} }}]'
    ban = step.format(kind="permanent_ban", duration=', duration = "1d"')
    freeze = step.format(kind="account_freeze", duration="")

    assert policy_error(tmp_path, ban).startswith(
        "penalties.ladder.severe[0].penalties[0].duration: permanent_ban takes no duration"
    )
    assert policy_error(tmp_path, freeze).startswith(
        "penalties.ladder.severe[0].penalties[0].duration: is missing"
    )


def test_ladder_steps_must_rise(tmp_path: Path) -> None:
    message = policy_error(
        tmp_path,
        """
        [[penalties.ladder.general]]
        points = 20
        penalties = [{ kind = "public_warning" }]
        [[penalties.ladder.general]]
        points = 10
        penalties = [{ kind = "public_warning" }]
        """,
    )

    assert message.startswith("penalties.ladder.general[1].points: 10 must be above")


def test_misspelt_key_in_a_new_ladder_step_is_refused(tmp_path: Path) -> None:
    message = policy_error(
        tmp_path,
        '[[penalties.ladder.general]]\npoint = 5\npenalties = [{ kind = "public_warning" }]',
    )

    assert message.startswith("penalties.ladder.general[0].points: is missing")
    assert "'point'" in message


def test_misspelt_violation_kind_is_refused(tmp_path: Path) -> None:
    message = policy_error(tmp_path, "[penalties.violations.counterfiet]\npoints = 20")

    assert message.startswith("penalties.violations.counterfiet.ledger: is missing")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    with pytest.raises(PolicyError, match="no such policy file") as caught:
        load_policy(missing)
    assert caught.value.key == str(missing)


def test_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    message = policy_error(tmp_path, "[deadlines\nextension = 3d")

    assert message.startswith(f"{tmp_path / 'policy.toml'}: not valid TOML")
    assert "line 1" in message


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b"\xff\xfe[deadlines]")

    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(path)


def test_environment_pointing_at_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy_from_env({"ARBITRATION_POLICY": str(tmp_path / "nope.toml")})


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2s", timedelta(seconds=2)),
        ("30m", timedelta(minutes=30)),
        ("48h", timedelta(hours=48)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("0d1s", timedelta(seconds=1)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_duration_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "0s", "0d0h", "48", "48x", "h", "-1d", "1.5h", "7D", " 7d", "7d ", "1 d", "12h1d", "1d1d"],
)
def test_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_absurdly_long_duration_is_refused_not_crashed() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999w")
