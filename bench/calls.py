"""Function calls a request makes, in process: a deterministic measure of what it costs.

``python -m bench.calls``: each write ``bench http`` times (filing, rejecting, escalating, the
two parties' evidence-done, claiming, deciding) and its two reads, 50 of each through Flask's test
client, beside the bare endpoints of ``bench.bare``; every Python and C function call is counted
(``sys.setprofile``). Timings on a shared machine move by 20 % and more from one minute to the
next; these counts do not, so a change's effect shows at once. They leave out what the database
itself does (a statement's work, a commit's writes), which the second figure takes in: the CPU
time of the same requests run again, one at a time, without the counting (on another 50 of each).
It moves a few per cent from run to run, and is closer to what the HTTP benchmark finds: the bare
write's statements do little, a ruling's ten write 22 to 32 pages at its commit.

The interpreter is tuned before anything is measured, as a server tunes it once started
(``api.server.tune_interpreter``): what setting up built (the apps, the orders) is moved out of
the garbage collector's reach (else a full collection, scanning some 200,000 objects for about
100 ms, could land among one request's 50 and add 2 ms to its mean), and the youngest
generation is collected as rarely as in the servers.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from flask.testing import FlaskClient

from api.server import tune_interpreter
from bench.bare import create_bare_app, create_table
from bench.http_cost import RULING, InProcess, in_process
from bench.lifecycles import order_body

REQUESTS = 50
STEPS: list[tuple[str, str, str, dict[str, Any]]] = [  # (name, who, action, body)
    (
        "file",
        "buyer-0",
        "",
        {"reason": "not_as_described", "remedy": "refund_only", "amount": 5_000},
    ),
    ("reject", "seller-0", "reject", {"reason": "Works as described."}),
    ("escalate", "buyer-0", "escalate", {"reason": "It does not."}),
    ("evidence-done (buyer)", "buyer-0", "evidence-done", {}),
    ("evidence-done (seller)", "seller-0", "evidence-done", {}),
    ("claim", "arbitrator", "claim", {}),
    ("decide", "arbitrator", "decide", dict(RULING)),
]


def calls_each(send: Callable[[int], object], count: int) -> float:
    """The mean number of function calls of ``send(0) ... send(count - 1)``."""
    counted = 0

    def count_call(_frame: FrameType, event: str, _arg: object) -> None:
        nonlocal counted
        if event in ("call", "c_call"):
            counted += 1

    sys.setprofile(count_call)
    try:
        for number in range(count):
            send(number)
    finally:
        sys.setprofile(None)
    return counted / count


def cpu_each(send: Callable[[int], object], count: int) -> float:
    """The mean CPU time of ``send(0) ... send(count - 1)`` in this thread, in milliseconds."""
    started = time.thread_time()
    for number in range(count):
        send(number)
    return (time.thread_time() - started) / count * 1000


def both(send: Callable[[int], object]) -> tuple[float, float]:
    """The calls of ``send(1) ... send(REQUESTS)``, then the CPU time of the next ``REQUESTS``."""
    return (
        calls_each(_shifted(send, 1), REQUESTS),
        cpu_each(_shifted(send, 1 + REQUESTS), REQUESTS),
    )


def measure(folder: Path) -> dict[str, tuple[float, float]]:
    """Each request's (calls, CPU milliseconds)."""
    engine = in_process(folder)
    client, auth = engine.client, engine.auth
    for number in range(2 * REQUESTS + 1):
        order = order_body(number) | {"buyer_id": "buyer-0", "seller_id": "seller-0"}
        answer = client.put(f"/v1/orders/calls-{number}", json=order, headers=auth("platform"))
        assert answer.status_code == 201, answer.data
    bare_url = f"sqlite:///{folder / 'bare.db'}"
    create_table(bare_url)
    bare = create_bare_app(bare_url).test_client()
    gc.collect()
    thresholds, switch_interval = gc.get_threshold(), sys.getswitchinterval()
    tune_interpreter()  # as both servers run: start-up objects frozen, young collections rarer
    try:
        return _measured(engine, bare)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switch_interval)


def _measured(engine: InProcess, bare: FlaskClient) -> dict[str, tuple[float, float]]:
    client, auth = engine.client, engine.auth
    figures = {"bare write": both(lambda _: _expect(bare.post("/rows", json={"body": "x"}), 201))}
    disputes: list[str] = []
    for name, who, action, body in STEPS:

        def send(
            number: int, who: str = who, action: str = action, body: dict[str, Any] = body
        ) -> None:
            if not action:
                filing = body | {"order_id": f"calls-{number}"}
                disputes.append(
                    _expect(client.post("/v1/disputes", json=filing, headers=auth(who)), 201)["id"]
                )
            else:
                path = f"/v1/disputes/{disputes[number]}/{action}"
                _expect(client.post(path, json=body, headers=auth(who)), 200)

        send(0)  # the first of each pays for cold paths
        figures[name] = both(send)
    row = _expect(bare.post("/rows", json={"body": "x"}), 201)["id"]
    reads: dict[str, tuple[FlaskClient, str, dict[str, str]]] = {
        "bare read": (bare, f"/rows/{row}", {}),
        "read dispute": (client, f"/v1/disputes/{disputes[0]}", auth("buyer-0")),
        "read standing": (client, "/v1/sellers/seller-0/standing", auth("seller-0")),
    }
    for name, (one, path, headers) in reads.items():

        def get(
            _: int, one: FlaskClient = one, path: str = path, h: dict[str, str] = headers
        ) -> None:
            _expect(one.get(path, headers=h), 200)

        get(0)
        figures[name] = both(get)
    return figures


def _shifted(send: Callable[[int], object], by: int) -> Callable[[int], object]:
    return lambda number: send(number + by)


def _expect(answer: Any, status: int) -> Any:
    assert answer.status_code == status, answer.data
    return answer.get_json()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(Path(folder))
    print(f"{'request':<24}{'calls':>8}{'x bare':>8}{'cpu ms':>9}{'x bare':>8}")
    for name, (calls, cpu) in figures.items():
        bare_calls, bare_cpu = figures[
            "bare read" if name.startswith(("read", "bare read")) else "bare write"
        ]
        print(f"{name:<24}{calls:>8.0f}{calls / bare_calls:>8.2f}{cpu:>9.3f}{cpu / bare_cpu:>8.2f}")


if __name__ == "__main__":
    main()
