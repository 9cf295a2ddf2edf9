"""The policy: every duration, threshold, point and limit the engine applies (DESIGN.md section 8).

The shipped ``default_policy.toml`` holds the defaults; an override file only names what it changes
and is deep-merged over them (tables merge key by key, arrays replace whole). The result is checked
strictly (``arbitration.policy_file``) and frozen, so a typo or a bad value stops the engine at
start-up with the key named, instead of being ignored or failing weeks later when a deadline fires.
Standard library only.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from arbitration.calendar import (
    Duration,
    WorkCalendar,
    validate_country,
    validate_timezone,
)
from arbitration.policy_file import PolicyError, Table

REASONS: tuple[str, ...] = (
    "not_received",
    "not_as_described",
    "damaged",
    "wrong_item",
    "missing_parts",
    "counterfeit",
    "quality_issue",
    "safety_hazard",
    "no_reason_7_days",
)
CATEGORIES: tuple[str, ...] = ("product", "logistics", "service", "platform")
PENALTY_KINDS: tuple[str, ...] = (
    "warning",
    "public_warning",
    "listing_restriction",
    "search_shielding",
    "account_freeze",
    "permanent_ban",
)
LEDGERS: tuple[str, ...] = ("general", "severe")
POINTS_WINDOWS: tuple[str, ...] = ("calendar_year", "rolling")

# Penalties that are instantaneous or forever; every other kind lasts for a stated duration.
TIMELESS_PENALTY_KINDS: frozenset[str] = frozenset({"warning", "public_warning", "permanent_ban"})

ENV_VAR = "ARBITRATION_POLICY"
DEFAULT_POLICY_FILE = "default_policy.toml"


# --- the policy -----------------------------------------------------------------------------------
# Mappings below are read-only views (MappingProxyType), so a Policy can be shared freely.


@dataclass(frozen=True)
class DeadlinePolicy:
    """How long each party has before the system acts for them (DESIGN.md sections 1 and 1a).

    A ``Duration`` may be calendar time or working days (``"5wd"``); never add one to a time
    yourself: ``Policy.due_after`` counts it on the policy's calendar.
    """

    seller_response_unshipped: Duration
    seller_response_shipped: Duration
    buyer_after_rejection: Duration
    buyer_return_shipment: Duration
    seller_return_confirmation: Duration
    evidence_window: Duration
    appeal_window: Duration
    penalty_appeal_window: timedelta
    refund_confirmation: Duration
    extension: Duration
    reminder_before: timedelta
    feedback_request: Duration  # after closing, the buyer is asked for satisfaction (DESIGN §1a)
    # Remedies beyond money (DESIGN §1a).
    seller_fulfilment: Duration
    repair_max: Duration
    buyer_fulfilment_confirmation: Duration


# Deadline keys that are plain calendar time: the penalties satellite and the reminder offset.
_CALENDAR_TIME_ONLY = frozenset({"penalty_appeal_window", "reminder_before"})


@dataclass(frozen=True)
class SlaPolicy:
    """How fast arbitrators must rule; nobody rules automatically, breaches are flagged."""

    decision_urgent: timedelta
    decision_normal: timedelta
    senior_escalation_factor: float

    def decision_window(self, priority: str) -> timedelta:
        """The SLA for a case of this priority: only urgent cases get the short one."""
        return self.decision_urgent if priority == "urgent" else self.decision_normal


@dataclass(frozen=True)
class ClassificationPolicy:
    """Rules that give a new dispute its category and priority (DESIGN.md section 2)."""

    categories: Mapping[str, str]  # every reason → its category
    urgent_reasons: frozenset[str]
    urgent_amount: int
    high_reasons: frozenset[str]
    high_amount_reasons: frozenset[str]
    high_amount: int
    batch_min_disputes: int
    batch_window: timedelta


@dataclass(frozen=True)
class EvidencePolicy:
    """Limits on uploaded files; types are matched against what the bytes are sniffed to be."""

    max_file_bytes: int
    max_files_per_party: int
    allowed_types: frozenset[str]


@dataclass(frozen=True)
class ViolationRule:
    """What one confirmed violation of a kind costs the seller."""

    ledger: str
    points: int


@dataclass(frozen=True)
class LadderPenalty:
    """One penalty a ladder step imposes; ``duration`` is None for warnings and bans."""

    kind: str
    duration: timedelta | None


@dataclass(frozen=True)
class LadderStep:
    """Penalties applied once when a ledger's total reaches ``points``."""

    points: int
    penalties: tuple[LadderPenalty, ...]


@dataclass(frozen=True)
class PenaltyPolicy:
    """The seller penalty rules (DESIGN.md section 5); ``version`` is stamped on each penalty."""

    version: str
    points_window: str  # "calendar_year" or "rolling"
    rolling_window: timedelta
    review_required: frozenset[str]
    violations: Mapping[str, ViolationRule]
    ladder: Mapping[str, tuple[LadderStep, ...]]  # ledger → steps in increasing points


@dataclass(frozen=True)
class LimitsPolicy:
    """What the HTTP edge accepts before any work (DESIGN §9)."""

    max_json_body: int  # bytes; a larger JSON body is a 413, read no further than this


@dataclass(frozen=True)
class ReportsPolicy:
    """How satisfaction answers (1-5) count in the reports, and the goal the business watches."""

    satisfied_from: int  # an answer at or above this is satisfied
    dissatisfied_up_to: int  # an answer at or below this is listed for the platform to review
    satisfaction_goal: float  # the share of satisfied answers the business aims for
    default_period: timedelta  # a report without a start covers this much time before its end


@dataclass(frozen=True)
class AdvanceCompensationPolicy:
    """When the platform pays the buyer first and recovers from the seller (DESIGN §5a)."""

    max_amount: int  # a ruling against the seller refunding at most this is paid first (0: never)
    recovery_grace: timedelta  # an open recovery older than this stops the seller selling


@dataclass(frozen=True)
class BuyerAbusePolicy:
    """The buyer ledger (DESIGN §5a): points per buyer violation, and when a buyer is reviewed."""

    violations: Mapping[str, int]  # buyer violation kind → points
    review_threshold: int  # points within ``window`` that put the buyer under review
    window: timedelta  # how far back a buyer's points count


@dataclass(frozen=True)
class WebhookPolicy:
    """How events reach the platform's endpoints (DESIGN §7) and how history is anchored."""

    timeout: timedelta  # one POST may take this long, connection included
    concurrency: int  # at most this many POSTs at once, per delivery run
    per_endpoint: int  # at most this many of them to one endpoint, so a slow one cannot fill them
    first_retry: timedelta  # the first retry waits this long, each next one twice as long
    max_retry_interval: timedelta  # ... but never longer than this
    retry_for: timedelta  # after this long undelivered, a delivery is dead
    checkpoint_interval: timedelta  # a signed checkpoint of every chain head this often
    retention: timedelta  # `privacy purge` default: closed longer ago than this


@dataclass(frozen=True)
class Policy:
    """The whole policy, validated and immutable."""

    limits: LimitsPolicy
    deadlines: DeadlinePolicy
    sla: SlaPolicy
    classification: ClassificationPolicy
    evidence: EvidencePolicy
    penalties: PenaltyPolicy
    reports: ReportsPolicy
    advance_compensation: AdvanceCompensationPolicy
    buyer_abuse: BuyerAbusePolicy
    webhooks: WebhookPolicy
    calendar: WorkCalendar = field(default_factory=WorkCalendar)

    def due_after(self, name: str, start: datetime) -> datetime:
        """When the ``[deadlines]`` duration ``name`` started at ``start`` runs out, counted on the
        policy's calendar (working days skip weekends and holidays). Every deadline goes through
        here."""
        return self.calendar.add(start, self.duration(name))

    def due_before(self, name: str, end: datetime) -> datetime:
        """The moment the duration ``name`` before ``end`` (a reminder before a deadline)."""
        return self.calendar.add(end, self.duration(name), backwards=True)

    def duration(self, name: str) -> Duration:
        """The ``[deadlines]`` duration ``name``, as written (calendar time or working days)."""
        if name not in _DEADLINE_KEYS:
            raise KeyError(f"no deadline duration {name!r}")
        duration: Duration = getattr(self.deadlines, name)
        return duration


_DEADLINE_KEYS = frozenset(f.name for f in fields(DeadlinePolicy))


# --- loading --------------------------------------------------------------------------------------


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """The defaults, overridden by the TOML file at ``path`` if one is given."""
    defaults_file = resources.files("arbitration").joinpath(DEFAULT_POLICY_FILE)
    raw = _parse_toml(defaults_file.read_bytes(), DEFAULT_POLICY_FILE)
    source = DEFAULT_POLICY_FILE
    if path is not None:
        source = os.fspath(path)
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise PolicyError(source, "no such policy file") from None
        except OSError as exc:
            raise PolicyError(source, f"cannot read the policy file: {exc.strerror}") from None
        raw = _merge(raw, _parse_toml(data, source))
    try:
        return _build_policy(Table(raw, ""))
    except PolicyError as exc:
        raise PolicyError(exc.key, exc.problem, source=source) from None


def load_policy_from_env(environ: Mapping[str, str] = os.environ) -> Policy:
    """The policy named by ``ARBITRATION_POLICY`` (defaults alone when it is unset or empty)."""
    return load_policy(environ.get(ENV_VAR) or None)


def _parse_toml(data: bytes, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PolicyError(source, "not valid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"not valid TOML: {exc}") from None


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge tables; any other value in ``override`` (arrays too) replaces the base one."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build_policy(root: Table) -> Policy:
    limits_table = root.table("limits")
    limits = LimitsPolicy(max_json_body=limits_table.integer("max_json_body", minimum=1024))
    limits_table.finish()
    policy = Policy(
        limits=limits,
        deadlines=_build_deadlines(root.table("deadlines")),
        sla=_build_sla(root.table("sla")),
        classification=_build_classification(root.table("classification")),
        evidence=_build_evidence(root.table("evidence")),
        penalties=_build_penalties(root.table("penalties")),
        reports=_build_reports(root.table("reports")),
        calendar=_build_calendar(root.table("calendar")),
        advance_compensation=_build_advance_compensation(root.table("advance_compensation")),
        buyer_abuse=_build_buyer_abuse(root.table("buyer_abuse")),
        webhooks=_build_webhooks(root.table("webhooks")),
    )
    root.finish()
    return policy


def _build_webhooks(table: Table) -> WebhookPolicy:
    durations = {
        name: table.duration(name)
        for name in (
            "timeout",
            "first_retry",
            "max_retry_interval",
            "retry_for",
            "checkpoint_interval",
            "retention",
        )
    }
    policy = WebhookPolicy(
        concurrency=table.integer("concurrency", minimum=1),
        per_endpoint=table.integer("per_endpoint", minimum=1),
        **durations,
    )
    table.finish()
    return policy


def _build_deadlines(table: Table) -> DeadlinePolicy:
    durations: dict[str, Any] = {
        f.name: table.duration(f.name) if f.name in _CALENDAR_TIME_ONLY else table.span(f.name)
        for f in fields(DeadlinePolicy)
    }
    policy = DeadlinePolicy(**durations)
    table.finish()
    return policy


def _build_calendar(table: Table) -> WorkCalendar:
    country = table.string("country")
    try:
        validate_country(country)
    except ValueError as exc:
        raise PolicyError(table.key("country"), str(exc)) from None
    timezone = table.string("timezone")
    try:
        validate_timezone(timezone)
    except ValueError as exc:
        raise PolicyError(table.key("timezone"), str(exc)) from None
    calendar = WorkCalendar(
        country=country,
        timezone=timezone,
        extra_holidays=table.dates("extra_holidays"),
        extra_workdays=table.dates("extra_workdays"),
    )
    both = sorted(calendar.extra_holidays & calendar.extra_workdays)
    if both:
        problem = f"{both[0].isoformat()} is also in extra_holidays; a day is one or the other"
        raise PolicyError(table.key("extra_workdays"), problem)
    table.finish()
    return calendar


def _build_sla(table: Table) -> SlaPolicy:
    policy = SlaPolicy(
        decision_urgent=table.duration("decision_urgent"),
        decision_normal=table.duration("decision_normal"),
        senior_escalation_factor=table.number("senior_escalation_factor"),
    )
    table.finish()
    return policy


def _build_classification(table: Table) -> ClassificationPolicy:
    categories = table.table("categories")
    category_of = {
        reason: categories.choice(reason, CATEGORIES, what="category") for reason in REASONS
    }
    categories.finish(what="reason")
    policy = ClassificationPolicy(
        categories=MappingProxyType(category_of),
        urgent_reasons=table.choices("urgent_reasons", REASONS, what="reason"),
        urgent_amount=table.integer("urgent_amount", minimum=0),
        high_reasons=table.choices("high_reasons", REASONS, what="reason"),
        high_amount_reasons=table.choices("high_amount_reasons", REASONS, what="reason"),
        high_amount=table.integer("high_amount", minimum=0),
        batch_min_disputes=table.integer("batch_min_disputes", minimum=1),
        batch_window=table.duration("batch_window"),
    )
    table.finish()
    return policy


def _build_reports(table: Table) -> ReportsPolicy:
    policy = ReportsPolicy(
        satisfied_from=table.integer("satisfied_from", minimum=1),
        dissatisfied_up_to=table.integer("dissatisfied_up_to", minimum=1),
        satisfaction_goal=table.number("satisfaction_goal"),
        default_period=table.duration("default_period"),
    )
    if not policy.dissatisfied_up_to < policy.satisfied_from <= 5:
        problem = f"must be at most 5 and above dissatisfied_up_to ({policy.dissatisfied_up_to})"
        raise PolicyError(table.key("satisfied_from"), problem)
    if policy.satisfaction_goal > 1:
        problem = f"is a share between 0 and 1, got {policy.satisfaction_goal}"
        raise PolicyError(table.key("satisfaction_goal"), problem)
    table.finish()
    return policy


_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")


def _build_evidence(table: Table) -> EvidencePolicy:
    types = table.strings("allowed_types")
    for index, media_type in enumerate(types):
        if not _MEDIA_TYPE.fullmatch(media_type):
            problem = f"{media_type!r} is not a media type like 'image/png'"
            raise PolicyError(f"{table.key('allowed_types')}[{index}]", problem)
    policy = EvidencePolicy(
        max_file_bytes=table.integer("max_file_bytes", minimum=1),
        max_files_per_party=table.integer("max_files_per_party", minimum=1),
        allowed_types=frozenset(types),
    )
    table.finish()
    return policy


def _build_penalties(table: Table) -> PenaltyPolicy:
    violations_table = table.table("violations")
    violations = {}
    for kind in violations_table.names():
        rule = violations_table.table(kind)
        violations[kind] = ViolationRule(
            ledger=rule.choice("ledger", LEDGERS, what="ledger"),
            points=rule.integer("points", minimum=0),
        )
        rule.finish()
    violations_table.finish()

    ladder_table = table.table("ladder")
    ladder = {ledger: _build_ladder(ladder_table, ledger) for ledger in LEDGERS}
    ladder_table.finish(what="ledger")

    policy = PenaltyPolicy(
        version=table.string("version"),
        points_window=table.choice("points_window", POINTS_WINDOWS, what="points window"),
        rolling_window=table.duration("rolling_window"),
        review_required=table.choices("review_required", PENALTY_KINDS, what="penalty kind"),
        violations=MappingProxyType(violations),
        ladder=MappingProxyType(ladder),
    )
    table.finish()
    return policy


def _build_advance_compensation(table: Table) -> AdvanceCompensationPolicy:
    policy = AdvanceCompensationPolicy(
        max_amount=table.integer("max_amount", minimum=0),
        recovery_grace=table.duration("recovery_grace"),
    )
    table.finish()
    return policy


def _build_buyer_abuse(table: Table) -> BuyerAbusePolicy:
    violations_table = table.table("violations")
    violations = {
        kind: violations_table.integer(kind, minimum=0) for kind in violations_table.names()
    }
    violations_table.finish()
    if not violations:
        raise PolicyError(table.key("violations"), "must name at least one buyer violation")
    policy = BuyerAbusePolicy(
        violations=MappingProxyType(violations),
        review_threshold=table.integer("review_threshold", minimum=1),
        window=table.duration("window"),
    )
    table.finish()
    return policy


def _build_ladder(ladder_table: Table, ledger: str) -> tuple[LadderStep, ...]:
    steps: list[LadderStep] = []
    for step in ladder_table.tables(ledger):
        points = step.integer("points", minimum=1)
        if steps and points <= steps[-1].points:
            problem = f"{points} must be above the previous step's {steps[-1].points}"
            raise PolicyError(step.key("points"), problem)
        penalties = []
        for entry in step.tables("penalties", non_empty=True):
            kind = entry.choice("kind", PENALTY_KINDS, what="penalty kind")
            if kind in TIMELESS_PENALTY_KINDS:
                duration = None
                if entry.has("duration"):
                    raise PolicyError(entry.key("duration"), f"{kind} takes no duration")
            else:
                duration = entry.duration("duration")
            penalties.append(LadderPenalty(kind=kind, duration=duration))
            entry.finish()
        steps.append(LadderStep(points=points, penalties=tuple(penalties)))
        step.finish()
    return tuple(steps)
