"""``bench http`` end to end, at a tiny size: both servers, every operation timed against its
baseline, and the engine set up as a marketplace runs it (a webhook endpoint, so every write's
events are fanned out to it afterwards, as the delivery job does)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from arbitration.models import Dispute
from bench import databases, http_cost
from bench.servers import start_both, stop
from webhooks.models import PENDING, Delivery, WebhookEndpoint


@pytest.mark.slow
def test_every_operation_is_timed_and_every_event_written_is_fanned_out_afterwards(
    tmp_path: Path,
) -> None:
    url = databases.new_database(tmp_path, "engine", postgres=False)
    bare_url = databases.new_database(tmp_path, "bare", postgres=False)
    tokens = http_cost.prepare_engine(url, 2)
    engine_server, bare_server = start_both(tmp_path, url, bare_url, None)
    try:
        figures = http_cost.measure(engine_server, bare_server, tokens, 8, 1, 2)
    finally:
        stop(engine_server, bare_server)
    fanned = databases.fan_out(url)

    assert set(figures) == {"bare write", "bare read", *http_cost.WRITES, *http_cost.READS}
    for name in (*http_cost.WRITES, *http_cost.READS):
        assert len(figures[name].costs) == 1 and figures[name].cost > 0, name
    engine = create_engine(url)
    with engine.connect() as connection:
        endpoints = connection.execute(select(WebhookEndpoint.url)).scalars().all()
        decided = connection.scalar(
            select(func.count()).select_from(Dispute).where(Dispute.status == "decided")
        )
        deliveries = connection.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        ).all()
    engine.dispose()
    assert endpoints == [databases.WEBHOOK_URL]
    assert decided == 8
    # Each of the eight disputes' writes (filed, rejected, escalated, evidence twice, claimed,
    # ruled) wrote at least one event, each fanned out to the endpoint; nobody delivered them.
    assert fanned.events >= 8 * 7 and fanned.deliveries == fanned.events
    assert fanned.cpu_us_an_event > 0
    assert deliveries == [(PENDING, fanned.deliveries)]
