"""Tables of the consent slice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, utcnow

__all__ = ("ConsentEvent", "ConsentNotice")


class ConsentNotice(Base):
    """The exact text a prospect was shown for one purpose of one form. Immutable: a new text is a new version."""

    __tablename__ = "consent_notice"
    __table_args__ = (
        UniqueConstraint("form_id", "purpose", "version"),
        UniqueConstraint("form_id", "purpose", "channel", "text_sha256"),
        Index("ix_consent_notice_workspace_id_form_id", "workspace_id", "form_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    form_id: Mapped[str] = mapped_column(ForeignKey("form.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentEvent(Base):
    """One fact about one person's consent to one purpose. Append-only: a change of mind is a new event.

    ``state`` is ``given`` or ``refused`` at submission; later ``confirmed`` (double opt-in) or ``withdrawn``.
    ``indication`` says how the person expressed it: ``checkbox`` (ticked on a form), ``api`` (asserted by the
    client that posted the JSON), and later ``link`` or ``source``.
    """

    __tablename__ = "consent_event"
    __table_args__ = (
        Index("ix_consent_event_lead_id_id", "lead_id", "id"),
        Index("ix_consent_event_workspace_id_id", "workspace_id", "id"),
        # Receipts read a submission's events; deleting a submission (retention) updates them: both need this.
        Index("ix_consent_event_submission_id", "submission_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    lead_id: Mapped[str] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submission.id", ondelete="SET NULL"))
    notice_id: Mapped[str] = mapped_column(ForeignKey("consent_notice.id", ondelete="RESTRICT"))
    form_id: Mapped[str] = mapped_column(ForeignKey("form.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    indication: Mapped[str] = mapped_column(String(16))
    page_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(45), default=None)
    """Truncated, as on submissions; kept for confirmations and withdrawals made through a link."""
    user_agent: Mapped[str | None] = mapped_column(String(500), default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
