"""Tables of inbound sources: the configured sources, Meta leads waiting for their answers from the Graph API,
how many requests each source received by outcome (its raw payloads are ``leads.models.SourcePayload``), and where
pulls stand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, utcnow
from core.encryption import EncryptedJSON

__all__ = ("Source", "SourceCount", "SourceFetch", "SourcePull")


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


class SourcePull(Base):
    """Where the pulling of one source stands: a source whose provider has a pull API and was given credentials.

    ``cursor`` is the end of the last window whose every lead is committed; the next window starts a little before
    it. A worker polls the source only while it holds the lease (``lease_owner`` until ``lease_expires_at``).
    """

    __tablename__ = "source_pull"
    __table_args__ = (Index("ix_source_pull_next_pull_at", "next_pull_at"),)

    source_id: Mapped[str] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    cursor: Mapped[datetime | None] = mapped_column(default=None)
    next_pull_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)
    """The provider refuses calls until then (IndiaMART blocks a key for 15 minutes after a 429)."""
    lease_owner: Mapped[str | None] = mapped_column(String(40), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_pull_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the provider was last called."""
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    """Why the last window could not be taken, or a lead of it was refused; never a credential."""
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
    pulls: Mapped[int] = mapped_column(default=0)
    """Windows tried."""
    failures: Mapped[int] = mapped_column(default=0)
    """Windows that failed (the provider refused or could not be read): each is taken again later."""
    records: Mapped[int] = mapped_column(default=0)
    """Records the provider answered, repeats included."""
    stored: Mapped[int] = mapped_column(default=0)
    """New submissions made of them."""
    rejected: Mapped[int] = mapped_column(default=0)
    """Records that did not fit the form (kept out, with the reason in ``last_error``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
