"""The delivery job: POST due deliveries, signed, with timeouts, bounded concurrency and backoff.

One run first fans out the events the writes stored (``outbox.fan_out``: their deliveries), then
claims what is due in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
workers share the work; SQLite serialises writers), marking each claimed delivery with a lease
instead of holding a lock, then POSTs outside any transaction, several at once, each bounded by
the policy's timeout, and records each answer as it comes: a slow receiver delays only itself.
Only the oldest pending delivery of a stream (a dispute, a seller) to an endpoint is ever due,
so a dispute's events arrive in order; a failed one is retried with exponential backoff until
``retry_until``, then it is dead (and the stream moves on).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, aliased

from arbitration.clock import Clock
from arbitration.db import Database
from arbitration.policy import WebhookPolicy
from webhooks import signing
from webhooks.models import ACTIVE, DEAD, DELIVERED, PENDING, Delivery, OutboxEvent, WebhookEndpoint
from webhooks.outbox import envelope, fan_out

log = logging.getLogger(__name__)

USER_AGENT = "arbitration-webhooks/1"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Attempt:
    delivery_id: str
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None: no HTTP answer (refused, timed out, unreachable)
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


Post = Callable[[str, bytes, dict[str, str], float], Answer]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx: the signed body never goes elsewhere."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body``; ``timeout`` bounds connecting and each read."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, None)
    except urllib.error.HTTPError as error:
        return Answer(error.code, f"HTTP {error.code}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Answer(None, f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH])


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    attempted: list[str] = field(default_factory=list)


def deliver_due(
    database: Database,
    *,
    policy: WebhookPolicy,
    clock: Clock,
    send: Post = post,
) -> DeliveryReport:
    """Fan out the events waiting, then attempt every due delivery once (up to the policy's
    concurrency), recording each answer."""
    report = DeliveryReport()
    fan_out(database, policy=policy)
    attempts = _claim(database, policy=policy, at=clock.now())
    if not attempts:
        return report
    timeout = policy.timeout.total_seconds()
    with ThreadPoolExecutor(max_workers=policy.concurrency) as pool:
        running = {pool.submit(send, a.url, a.body, a.headers, timeout): a for a in attempts}
        for future in as_completed(running):
            attempt = running[future]
            try:
                answer = future.result()
            except Exception as error:  # a bug in ``send`` must not lose the others' answers
                answer = Answer(None, f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH])
            status = _settle(database, attempt, answer, policy=policy, at=clock.now())
            report.attempted.append(attempt.delivery_id)
            if status == DELIVERED:
                report.delivered += 1
            elif status == DEAD:
                report.dead += 1
            else:
                report.retrying += 1
    return report


# A scheduled run keeps going while deliveries succeed (each success may make its stream's next
# event due), up to this many rounds, so a receiver back from an outage catches up in one run.
MAX_ROUNDS = 50


def deliver_until_idle(
    database: Database, *, policy: WebhookPolicy, clock: Clock, send: Post = post
) -> DeliveryReport:
    """The scheduler's job: ``deliver_due`` again while the previous round delivered something."""
    total = DeliveryReport()
    for _ in range(MAX_ROUNDS):
        report = deliver_due(database, policy=policy, clock=clock, send=send)
        total.delivered += report.delivered
        total.retrying += report.retrying
        total.dead += report.dead
        total.attempted += report.attempted
        if report.delivered == 0:
            break
    return total


def _due(at: datetime) -> Select[Delivery]:
    earlier = aliased(Delivery)
    blocked = exists().where(
        earlier.endpoint_id == Delivery.endpoint_id,
        earlier.stream == Delivery.stream,
        earlier.status == PENDING,
        earlier.position < Delivery.position,
    )
    return (
        select(Delivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
        .where(
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= at,
            or_(Delivery.leased_until.is_(None), Delivery.leased_until <= at),
            WebhookEndpoint.status == ACTIVE,
            ~blocked,
        )
        .order_by(Delivery.position)
    )


def _claim(database: Database, *, policy: WebhookPolicy, at: datetime) -> list[Attempt]:
    """Lease the due deliveries this run will attempt, at most ``per_endpoint`` per endpoint."""
    lease = at + 2 * policy.timeout + timedelta(seconds=30)
    # Most runs find nothing due: ask in a read-only transaction, so an idle run never takes
    # SQLite's write lock from the deadline sweep or a request.
    with database.unit_of_work(read_only=True) as session:
        if session.scalars(_due(at).limit(1)).first() is None:
            return []
    with database.unit_of_work() as session:
        query = _due(at).limit(policy.concurrency * 4)
        candidates = session.scalars(query.with_for_update(skip_locked=True, of=Delivery)).all()
        taken: list[Delivery] = []
        per_endpoint: dict[str, int] = {}
        for delivery in candidates:
            if len(taken) == policy.concurrency:
                break
            if per_endpoint.get(delivery.endpoint_id, 0) >= policy.per_endpoint:
                continue
            per_endpoint[delivery.endpoint_id] = per_endpoint.get(delivery.endpoint_id, 0) + 1
            taken.append(delivery)
        return [_lease(session, delivery, lease=lease, at=at) for delivery in taken]


def _lease(session: Session, delivery: Delivery, *, lease: datetime, at: datetime) -> Attempt:
    delivery.leased_until = lease
    delivery.attempts += 1
    delivery.last_attempt_at = at
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    event = session.get(OutboxEvent, delivery.event_position)
    assert endpoint is not None and event is not None
    body = json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.HEADER: signing.sign(endpoint.secret, body, int(at.timestamp())),
        "Arbitration-Event-Id": event.id,
        "Arbitration-Event-Type": event.type,
        "Arbitration-Delivery-Id": delivery.id,
    }
    return Attempt(delivery.id, endpoint.url, body, headers)


def backoff(attempts: int, policy: WebhookPolicy) -> timedelta:
    """first_retry, then twice as long each time, never more than max_retry_interval."""
    return min(policy.first_retry * (1 << min(attempts - 1, 32)), policy.max_retry_interval)


def _settle(
    database: Database, attempt: Attempt, answer: Answer, *, policy: WebhookPolicy, at: datetime
) -> str:
    with database.unit_of_work() as session:
        delivery = session.get(Delivery, attempt.delivery_id)
        if delivery is None or delivery.status != PENDING:
            return delivery.status if delivery is not None else DEAD
        delivery.leased_until = None
        delivery.last_status_code = answer.status_code
        delivery.last_error = answer.error
        if answer.ok:
            delivery.status = DELIVERED
            delivery.delivered_at = at
            return DELIVERED
        retry_at = at + backoff(delivery.attempts, policy)
        if retry_at > delivery.retry_until:
            delivery.status = DEAD
            log.warning("webhook delivery %s is dead: %s", delivery.id, answer.error)
            return DEAD
        delivery.next_attempt_at = retry_at
        return PENDING
