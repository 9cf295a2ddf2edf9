"""``bench growth`` times a contested case's writes at both sizes, not only the reads: filing and
ruling through the server (the database with a webhook endpoint, as a marketplace runs the
engine), each held to the growth goal beside the reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from arbitration.models import Decision, Dispute
from bench import growth
from bench.databases import WEBHOOK_URL, fan_out
from bench.growth import Timing
from bench.servers import start_engine, stop
from webhooks.models import Delivery, WebhookEndpoint


@pytest.mark.slow
def test_cases_are_filed_and_ruled_through_the_server_and_both_timed(tmp_path: Path) -> None:
    url, tokens = growth.build_database(tmp_path, 5, batches=False)
    server = start_engine(tmp_path, url)
    try:
        timings = growth.time_writes(server[1], tokens, 3)
    finally:
        stop(server)

    fanned = fan_out(url)
    assert list(timings) == list(growth.WRITES)
    assert all(t.requests == 3 and 0 < t.p50_ms <= t.mean_ms * 3 for t in timings.values())
    engine = create_engine(url)
    with engine.connect() as connection:
        ruled = connection.execute(
            select(Dispute.status, func.count(Decision.id))
            .join(Decision, Decision.dispute_id == Dispute.id)
            .where(Dispute.order_id.like("w-%"))
            .group_by(Dispute.status)
        ).all()
        endpoints = connection.execute(select(WebhookEndpoint.url)).scalars().all()
        deliveries = connection.scalar(select(func.count()).select_from(Delivery))
    engine.dispose()
    assert ruled == [("decided", 3)]
    assert endpoints == [WEBHOOK_URL]
    # Every write's events, fanned out afterwards to the endpoint.
    assert deliveries == fanned.deliveries == fanned.events >= 3 * 7


def _at(mean_ms: float) -> Timing:
    return Timing(requests=200, mean_ms=mean_ms, p50_ms=mean_ms)


def test_the_report_holds_each_write_to_the_goal(capsys: pytest.CaptureFixture[str]) -> None:
    large = 1_000_000
    reads = {name: _at(5.0) for name, _path, _who in growth.READS}
    timings: dict[int | str, dict[str, Timing]] = {
        growth.SMALL: reads | {"file a dispute": _at(2.0), "a ruling": _at(2.0)},
        large: reads | {"file a dispute": _at(2.9), "a ruling": _at(3.1)},
    }

    growth.report(timings, {}, large)

    lines = {line.split("  ")[0].strip(): line for line in capsys.readouterr().out.splitlines()}
    assert lines["file a dispute"].split()[-2:] == ["1.45", "ok"]
    assert lines["a ruling"].split()[-3:] == ["1.55", "ABOVE", "GOAL"]
    assert lines["queue first page"].endswith("ok")
