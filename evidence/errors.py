"""Refusals particular to evidence: a file too large (413), of a type we do not take (415), stored
bytes that no longer match their hash, or an item the privacy purge removed (410). The HTTP layer
maps each to a status in one place."""

from __future__ import annotations

from arbitration.errors import Conflict, DomainError, Gone


class PayloadTooLarge(DomainError):
    """The file is larger than the policy allows (``evidence.max_file_bytes``)."""

    code = "file_too_large"


class UnsupportedMediaType(DomainError):
    """The bytes are not an allowed type, or not the type the client's name or header claims."""

    code = "unsupported_media_type"


class EvidenceCorrupted(Conflict):
    """The stored bytes are missing or no longer hash to what the audit chain recorded: never served."""

    code = "evidence_corrupted"


class EvidenceRemoved(Gone):
    """The privacy purge removed the item's words or bytes: its row and SHA-256 stay."""

    code = "evidence_removed"
