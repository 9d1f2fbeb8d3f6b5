"""Tables of the workspaces slice: workspace, api_key, audit_event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, utcnow

__all__ = ("ApiKey", "AuditEvent", "Workspace")


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
