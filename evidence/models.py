"""The evidence table: one row per item a party or arbitrator added to a dispute. Rows are never
deleted, and changed only by the privacy purge (``evidence.retention``); the bytes live in the blob
store under ``sha256``, statements in ``text``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arbitration.db import Base, UTCDateTime

FILE_KINDS = ("photo", "video", "document", "chat_log", "shipping_proof")
STATEMENT = "statement"
KINDS = (*FILE_KINDS, STATEMENT)

PARTIES = "parties"
ARBITRATORS_ONLY = "arbitrators_only"
VISIBILITIES = (PARTIES, ARBITRATORS_ONLY)


class Evidence(Base):
    """A file (its bytes in the blob store) or a written statement, immutable once added."""

    __tablename__ = "evidence"
    __table_args__ = (
        Index("ix_evidence_dispute_author", "dispute_id", "author_id"),
        Index("ix_evidence_sha256", "sha256"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"))
    author_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    # The lifecycle actor the author was on this dispute: buyer, seller, arbitrator, senior_arbitrator.
    author_role: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    visibility: Mapped[str] = mapped_column(String(32))
    # SHA-256 of the file's bytes (the blob's name) or of a statement's UTF-8 text.
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    # The client's file name, shown to people and never used to name anything stored.
    display_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)  # statements only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by the privacy purge: the name, note and words are gone, and the bytes once no other
    # item that is not purged has the same SHA-256.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=None)

    @property
    def is_file(self) -> bool:
        return self.kind != STATEMENT
