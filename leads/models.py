"""Tables of the leads slice: leads (one per person and workspace), submissions and their stored answers.

``IdempotencyRecord`` is written by the ingest pipeline, but it is a submission's stored answer (personal data):
it lives beside ``Submission`` so that erasure (``privacy``, which sits below ``ingest``) can delete it too.
``SourcePayload``, what an inbound source sent, is written by ``ingest.sources.activity`` and lives here for the
same reason: erasure, export and the retention purge reach it without importing ``ingest``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, utcnow
from core.encryption import EncryptedJSON, KeyedHash

__all__ = ("IdempotencyRecord", "Lead", "SourcePayload", "Submission")


class Lead(Base):
    """One person in one workspace, matched by canonical email, else by E.164 phone.

    Unique per workspace by email; a lead known only by phone is unique by phone among leads without email. Both
    constraints are what keeps concurrent submissions of one person (on any number of instances) to one lead.
    """

    __tablename__ = "lead"
    __table_args__ = (
        UniqueConstraint("workspace_id", "email"),
        Index(
            "uq_lead_workspace_id_phone_without_email",
            "workspace_id",
            "phone",
            unique=True,
            sqlite_where=text("email IS NULL"),
            postgresql_where=text("email IS NULL"),
        ),
        # With id: a search by phone finds its page of leads, newest first, in this index alone. Without id,
        # SQLite walks every lead of the workspace in ix_lead_workspace_id_id to get them in order instead.
        Index("ix_lead_workspace_id_phone_id", "workspace_id", "phone", "id"),
        Index("ix_lead_workspace_id_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    name: Mapped[str | None] = mapped_column(String(300), default=None)
    fields: Mapped[dict[str, Any]] = mapped_column()
    """The latest value of every field this person has submitted, across forms."""
    submission_count: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    """``pending`` until the first double opt-in confirmation of a person met only through such forms."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(default=None)


class Submission(Base):
    """One post to a form, whatever became of it: ``accepted`` (delivered), else ``duplicate`` or ``spam`` (kept)."""

    __tablename__ = "submission"
    __table_args__ = (
        Index("ix_submission_workspace_id_id", "workspace_id", "id"),
        Index("ix_submission_workspace_id_verdict_id", "workspace_id", "verdict", "id"),
        Index("ix_submission_lead_id_form_id_fingerprint", "lead_id", "form_id", "fingerprint"),
        Index("ix_submission_form_id_fingerprint", "form_id", "fingerprint"),
        Index("ix_submission_workspace_id_person", "workspace_id", "person"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    form_id: Mapped[str] = mapped_column(ForeignKey("form.id", ondelete="CASCADE"))
    form_version: Mapped[int] = mapped_column(Integer)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("lead.id", ondelete="SET NULL"), default=None)
    verdict: Mapped[str] = mapped_column(String(16))
    spam_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    source: Mapped[str] = mapped_column(String(32))
    """How it arrived: ``form`` (a browser post), ``api`` (a JSON post)."""
    fields: Mapped[dict[str, Any]] = mapped_column()
    consents: Mapped[list[str]] = mapped_column()
    """The purposes the prospect granted."""
    fingerprint: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(40), default=None)
    """The inbound source it came through, if any (``source`` then names its kind)."""
    source_lead_id: Mapped[str | None] = mapped_column(String(100), default=None)
    """The sender's own id of the lead (Google's ``lead_id``, Meta's leadgen id, a ``webhook-id``), when it gave one."""
    person: Mapped[str | None] = mapped_column(String(254), default=None)
    """The canonical email, else the E.164 phone, that was sent, whatever the verdict: spam is personal data too,
    and must be found for an export or an erasure although it belongs to no lead."""
    page_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    referrer: Mapped[str | None] = mapped_column(String(2000), default=None)
    utm: Mapped[dict[str, Any]] = mapped_column()
    """``utm_source`` … ``utm_content``, ``gclid`` and ``fbclid``, when given."""
    user_agent: Mapped[str | None] = mapped_column(String(500), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(45), default=None)
    """Truncated to its /24 (IPv4) or /48 (IPv6) network: enough for abuse reports, not enough to identify."""
    event_type: Mapped[str | None] = mapped_column(String(64), default=None)
    message_id: Mapped[str | None] = mapped_column(String(40), default=None)
    confirmation: Mapped[str | None] = mapped_column(String(16), default=None)
    """Double opt-in: ``pending`` until the person confirms, then ``confirmed``; ``None`` for other forms."""
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    pending_event: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """The ``lead.*`` event held back until confirmation."""
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyRecord(Base):
    """The response to a submission made with an ``Idempotency-Key``, replayed when the same request comes again."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("form_id", "scope", "key"),
        Index("ix_idempotency_key_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    form_id: Mapped[str] = mapped_column(ForeignKey("form.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(40), server_default="client")
    """``client`` for keys sent to the submit endpoint; a source's id for its senders' event ids."""
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(2000), default=None)
    submission_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class SourcePayload(Base):
    """One request an inbound source received (or one lead it fetched), as received, secrets redacted, and what it
    became: the last 50 of each source are kept, within the workspace's retention, and erased with the person."""

    __tablename__ = "source_payload"
    __table_args__ = (
        Index("ix_source_payload_source_id_received_at_id", "source_id", "received_at", "id"),
        Index("ix_source_payload_workspace_id_received_at", "workspace_id", "received_at"),
        Index("ix_source_payload_workspace_id_email_hash", "workspace_id", "email_hash"),
        Index("ix_source_payload_workspace_id_phone_hash", "workspace_id", "phone_hash"),
        Index("ix_source_payload_lead_id", "lead_id"),
        Index("ix_source_payload_submission_id", "submission_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    """``accepted``, ``duplicate``, ``test`` or ``rejected``."""
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    """Why it was a duplicate (``same_id``, ``same_content``) or was refused (``unauthorized``, ``invalid``, …)."""
    submission_id: Mapped[str | None] = mapped_column(String(40), default=None)
    lead_id: Mapped[str | None] = mapped_column(String(40), default=None)
    email_hash: Mapped[str | None] = mapped_column(KeyedHash(), default=None)
    """The canonical email the payload carried, as a keyed hash: erasure finds a refused payload by it."""
    phone_hash: Mapped[str | None] = mapped_column(KeyedHash(), default=None)
    """The E.164 phone the payload carried, as a keyed hash."""
    record: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON())
    """Encrypted: ``method``, ``content_type``, ``query``, ``body_format`` (``json``, ``form``, ``text`` or
    ``none``), ``body``, and for a refusal its ``detail`` and ``problems``."""
