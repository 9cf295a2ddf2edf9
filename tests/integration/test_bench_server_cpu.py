"""``bench http`` reads each server's CPU time per request beside its throughput: what each
request cost the server, as two servers of about one core each compare."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import http_cost
from bench.http_cost import Sample, figure
from bench.servers import cpu_seconds

# Busy until it has used the given seconds of CPU time, then says so and idles until stopped.
_BUSY_THEN_IDLE = (
    "import time\nwhile time.process_time() < {}: pass\nprint('done', flush=True)\ntime.sleep(60)"
)


def _busy(seconds: float, *, child_busy: float | None = None) -> subprocess.Popen[bytes]:
    """A process busy for ``seconds`` of CPU time, with a worker process busy for ``child_busy``
    (as gunicorn's master forks its workers); both say ``done`` on its stdout when idle."""
    code = _BUSY_THEN_IDLE.format(seconds)
    if child_busy is not None:
        code = (
            "import subprocess, sys\n"
            f"subprocess.Popen([sys.executable, '-c', {_BUSY_THEN_IDLE.format(child_busy)!r}])\n"
            + code
        )
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )


def _settled(process: subprocess.Popen[bytes], busy_parts: int) -> float:
    """The process's CPU time, read once its busy parts (it and its workers) are over."""
    assert process.stdout is not None
    for _ in range(busy_parts):
        assert process.stdout.readline() == b"done\n"
    spent = cpu_seconds(process)
    assert spent is not None
    return spent


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_servers_cpu_time_counts_its_worker_processes() -> None:
    alone = _busy(0.4)
    with_worker = _busy(0.4, child_busy=0.4)
    try:
        spent_alone = _settled(alone, 1)
        spent_with_worker = _settled(with_worker, 2)
        assert 0.35 <= spent_alone <= 0.6  # read by the clock tick
        assert 0.75 <= spent_with_worker <= 1.1  # the worker's share too, not the master's only
        time.sleep(0.3)
        assert _settled(alone, 0) - spent_alone <= 0.02  # idle now: nothing more counted
    finally:
        for process in (alone, with_worker):
            os.killpg(process.pid, signal.SIGKILL)  # the worker too
            process.wait()
            assert process.stdout is not None
            process.stdout.close()
    assert cpu_seconds(alone) is None  # gone: nothing to read


def _sample(requests: int, cpu: float | None, per_second: float = 100.0) -> Sample:
    return Sample(per_second, [0.01] * requests, cpu)


def test_cpu_per_request_is_pooled_over_the_rounds_and_set_against_the_baselines() -> None:
    rounds = [_sample(100, 0.25), _sample(300, 0.65)]  # 2.25 ms a request over both
    baselines = [_sample(200, 0.15), _sample(200, 0.15)]  # 0.75 ms

    measured = figure("decide", rounds, baselines)
    baseline = figure("bare write", baselines)

    assert measured.cpu_ms == pytest.approx(2.25)
    assert measured.cpu_cost == pytest.approx(3.0)
    assert baseline.cpu_ms == pytest.approx(0.75)
    assert baseline.cpu_cost is None


def test_without_a_cpu_reading_the_cpu_columns_stay_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    unread = figure("decide", [_sample(100, None)], [_sample(100, 0.1)])
    read = figure("reject", [_sample(100, 0.2)], [_sample(100, 0.1)])
    assert unread.cpu_ms is None and unread.cpu_cost is None

    http_cost.report({"decide": unread, "reject": read})

    lines = capsys.readouterr().out.splitlines()
    assert "cpu ms" in lines[0] and "cpu x" in lines[0]
    decide_line = next(line for line in lines if line.startswith("decide"))
    reject_line = next(line for line in lines if line.startswith("reject"))
    assert "2.00" in reject_line  # 2 ms a request, twice the baseline's 1 ms
    assert "2.00" not in decide_line
