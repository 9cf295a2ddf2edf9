"""A deployment's plugin, as ``ARBITRATION_PLUGINS`` loads one: it records every ruling it hears of.

Each ``DisputeDecided`` appends a line to the file named by ``ARBITRATION_PROBE_FILE``, so a test can
see that a handler registered once ran in the API and in ``arbitration worker`` alike.
"""

from __future__ import annotations

import json
import os

from sqlalchemy.orm import Session

from arbitration.events import DisputeDecided, Handlers


def _heard(_session: Session, event: DisputeDecided) -> None:
    with open(os.environ["ARBITRATION_PROBE_FILE"], "a", encoding="utf-8") as probe:
        line = {"dispute_id": event.dispute_id, "outcome": event.outcome, "final": event.final}
        probe.write(json.dumps(line) + "\n")


def register(handlers: Handlers) -> None:
    handlers.on(DisputeDecided, _heard)
