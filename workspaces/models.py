"""Tables of the workspaces slice: workspace, api_key, audit_event, console_session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, utcnow
from core.encryption import EncryptedJSON

__all__ = ("ApiKey", "AuditEvent", "ConsoleSession", "Workspace")


class Workspace(Base):
    """A CRM workspace: owns forms, leads and webhook endpoints; nothing crosses between workspaces."""

    __tablename__ = "workspace"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """Contact for consent receipts and retention periods (see ``workspaces.schemas.WorkspaceSettings``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An admin API key. Only a lookup prefix and the SHA-256 of the key are stored, never the key."""

    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_lookup", "lookup"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    lookup: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEvent(Base):
    """Who did what to which thing, and when. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_workspace_id_id", "workspace_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(40), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleSession(Base):
    """A console sign-in. The browser's cookie carries a random token; only its SHA-256 is stored, as the id, so the
    table cannot open a session. Ended by signing out (``revoked_at``), by revoking its key, or at ``expires_at``."""

    __tablename__ = "console_session"
    __table_args__ = (
        Index("ix_console_session_workspace_id", "workspace_id"),
        Index("ix_console_session_api_key_id", "api_key_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Hex SHA-256 of the cookie's token."""
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    reveal: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    """A new secret on its way to the one page that shows it (encrypted at rest); emptied when that page is shown."""
