"""``python -m bench.calls``: each request's function calls and CPU time, beside the bare
endpoints', in process (on SQLite files of its own, whatever the suite's database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import calls


def test_each_request_gets_its_calls_and_its_cpu_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "REQUESTS", 3)

    figures = calls.measure(tmp_path)

    steps = [name for name, _who, _action, _body in calls.STEPS]
    assert list(figures) == ["bare write", *steps, "bare read", "read dispute", "read standing"]
    for name, (counted, cpu_ms) in figures.items():
        assert counted > 100, name  # a whole request through Flask, never a fraction of one
        assert 0 < cpu_ms < 1_000, name
    assert figures["decide"][0] > figures["bare write"][0]
    assert figures["read dispute"][0] > figures["bare read"][0]
