"""Settings for one running engine: where the database is, which policy, which clock."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from arbitration.clock import Clock, SystemClock
from arbitration.db import database_url_from_env
from arbitration.policy import Policy, load_policy_from_env

DEFAULT_SCHEDULER_INTERVAL = 30.0


@dataclass
class Config:
    database_url: str
    policy: Policy
    clock: Clock = field(default_factory=SystemClock)
    evidence_dir: str = "evidence-store"
    scheduler_interval: float = DEFAULT_SCHEDULER_INTERVAL
    testing: bool = False
    # Modules whose ``register(handlers)`` adds domain-event handlers (``ARBITRATION_PLUGINS``).
    plugins: tuple[str, ...] = ()
    # Signs the staff console's session cookie (``ARBITRATION_SECRET_KEY``); none: no console.
    secret_key: str | None = None
    # Hex Ed25519 seed signing the audit checkpoints (``ARBITRATION_AUDIT_SIGNING_KEY``); none: no checkpoints.
    audit_signing_key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """Everything from ``ARBITRATION_*`` variables (DESIGN §8); a bad policy fails here, at start-up."""
        interval = environ.get("ARBITRATION_SCHEDULER_INTERVAL", str(DEFAULT_SCHEDULER_INTERVAL))
        return cls(
            database_url=database_url_from_env(dict(environ)),
            policy=load_policy_from_env(environ),
            evidence_dir=environ.get("ARBITRATION_EVIDENCE_DIR", "evidence-store"),
            scheduler_interval=float(interval),
            plugins=tuple(
                name.strip()
                for name in environ.get("ARBITRATION_PLUGINS", "").split(",")
                if name.strip()
            ),
            secret_key=environ.get("ARBITRATION_SECRET_KEY") or None,
            audit_signing_key=environ.get("ARBITRATION_AUDIT_SIGNING_KEY") or None,
        )
