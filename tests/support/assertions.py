"""Assertions the API tests share: the one error shape, and "a refusal changed nothing"."""

from __future__ import annotations

from typing import Any

from werkzeug.test import TestResponse

from tests.support.world import World


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
