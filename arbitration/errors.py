"""Domain errors. The core raises these; the HTTP layer maps each to a status in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal the engine gives; ``code`` is machine-readable, the message is for people."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Gone(DomainError):
    """It was there, and was removed for good (evidence past retention)."""

    code = "gone"


class ValidationFailed(DomainError):
    """The request is well-formed but its content breaks a rule; ``details`` maps fields to messages."""

    code = "validation_failed"


class Conflict(DomainError):
    """The request clashes with the current state (a concurrent change, a reused key, a duplicate)."""

    code = "conflict"


class InvalidTransition(Conflict):
    """The action is not allowed in the dispute's current state for this caller."""

    code = "action_not_allowed"
