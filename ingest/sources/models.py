"""Tables of inbound sources: the configured sources, Meta leads waiting for their answers from the Graph API, and
how many requests each source received by outcome (its raw payloads are ``leads.models.SourcePayload``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, utcnow
from core.encryption import EncryptedJSON

__all__ = ("Source", "SourceCount", "SourceFetch")


class Source(Base):
    """A system that pushes leads into one form of a workspace, verified with that system's own scheme."""

    __tablename__ = "source"
    __table_args__ = (Index("ix_source_workspace_id_id", "workspace_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    form_id: Mapped[str] = mapped_column(ForeignKey("form.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    mapping: Mapped[dict[str, Any]] = mapped_column()
    """Path in the sender's payload (``RESPONSE.SENDER_NAME``, or a Google column id) to form field name."""
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What is not secret of how the source is read: ``auth`` (type, header or parameter name, HMAC algorithm,
    encoding and prefix), ``join``, ``defaults``, ``phone_region``, ``id_field`` and the pull options."""
    enabled: Mapped[bool] = mapped_column(default=True)
    """A disabled source refuses pushes and is not pulled."""
    consent_purposes: Mapped[list[str]] = mapped_column()
    """The form's purposes that the source's own notice covered: recorded as given, indicated by ``source``."""
    secrets: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON())
    """Keys, tokens and signing secrets: encrypted at rest (``LEADWIRE_ENCRYPTION_KEYS``). ``auth_secret`` is a
    generic source's key, password or HMAC key; ``pull`` holds a pulling provider's credentials."""
    deliver_test_leads: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class SourceFetch(Base):
    """A Meta lead acknowledged to Meta but not yet fetched from the Graph API; retried until it is."""

    __tablename__ = "source_fetch"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        Index("ix_source_fetch_due", "status", "next_attempt_at"),
        Index("ix_source_fetch_source_id_id", "source_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    submission_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SourceCount(Base):
    """How many of a source's requests (or fetched leads) had one outcome for one reason, and when the last did.

    One row per (source, outcome, reason), added to with ``total = total + n`` in an upsert
    (``ingest.sources.activity``): exact however many processes count at once, on SQLite and PostgreSQL.
    """

    __tablename__ = "source_count"

    source_id: Mapped[str] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    """``accepted``, ``duplicate``, ``test`` or ``rejected``."""
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Empty for ``accepted`` and ``test``."""
    total: Mapped[int] = mapped_column(BigInteger)
    last_at: Mapped[datetime] = mapped_column()
