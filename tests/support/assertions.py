"""Assertions the tests share: the one error shape, "a refusal changed nothing", and a webhook
delivery as the fan-out makes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from werkzeug.test import TestResponse

from tests.support.world import World
from webhooks.models import Delivery, OutboxEvent


def assert_error(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is a refusal with this status in the one error shape; returns its details."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error["details"]


def state(world: World, who: str, dispute_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Everything a refused request must leave alone: the dispute as ``who`` sees it, its events."""
    events = world.call(who, "GET", f"/v1/disputes/{dispute_id}/events")
    assert events.status_code == 200, events.json
    return world.read(who, dispute_id), events.json["data"]


def assert_fresh_delivery(delivery: Delivery, event: OutboxEvent, retry_for: timedelta) -> None:
    """``delivery`` is ``event``'s as fanned out: pending, never tried, due at the event's time
    and retried until ``retry_for`` after it, in the event's stream and position."""
    assert (delivery.event_position, delivery.position) == (event.position,) * 2
    assert (delivery.stream, delivery.status, delivery.attempts) == (event.stream, "pending", 0)
    assert delivery.next_attempt_at == delivery.created_at == event.occurred_at
    assert delivery.retry_until == event.occurred_at + retry_for
    assert (delivery.leased_until, delivery.last_attempt_at, delivery.delivered_at) == (
        None,
        None,
        None,
    )
    assert (delivery.last_status_code, delivery.last_error) == (None, None)
