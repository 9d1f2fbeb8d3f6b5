"""Tables of the workspaces slice: workspace, member, membership, api_key, audit_event, console_session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, utcnow
from core.encryption import EncryptedJSON

__all__ = ("ApiKey", "AuditEvent", "ConsoleSession", "Member", "Membership", "Workspace")


class Workspace(Base):
    """A CRM workspace: owns forms, leads and webhook endpoints; nothing crosses between workspaces."""

    __tablename__ = "workspace"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """Contact for consent receipts and retention periods (see ``workspaces.schemas.WorkspaceSettings``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Member(Base):
    """A person who signs in to the console: one account, in any number of workspaces (``membership``)."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    """Canonical (``workspaces.members.canonical_email``): one account per address."""
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    """argon2id, with its parameters and salt (``workspaces.passwords``); never the password."""
    mfa: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON(), default=None)
    """The member's second factors (encrypted at rest); ``None`` while they have none. ``leadwire member
    disable-mfa`` empties it."""
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set: the member cannot sign in, and their sessions and keys open nothing."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(default=None)


class Membership(Base):
    """A member's role in one workspace (``workspaces.roles``)."""

    __tablename__ = "membership"
    __table_args__ = (Index("ix_membership_member_id", "member_id"),)

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An admin API key. Only a lookup prefix and the SHA-256 of the key are stored, never the key.

    A key never does more than its creator's role in the workspace allows, checked on every use; a key without a
    creator (made before members existed, or by ``leadwire workspace key``) acts as an owner.
    """

    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_lookup", "lookup"), Index("ix_api_key_created_by_id", "created_by_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    lookup: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="service", server_default="service")
    """``member``: a member's own key; ``service``: a named key of the workspace, made by an owner or admin."""
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), default=None)
    scopes: Mapped[list[str]] = mapped_column(default=list, server_default='["read", "write", "submit", "admin"]')
    """What the key may be used for: ``read``, ``write``, ``submit``, ``admin`` (``workspaces.roles``)."""
    forms_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The key opens the forms API (``/api/v1/forms``) and nothing else."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    """Written at most once a minute per key."""
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
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    """The client's address, truncated as submissions' are (IPv4 /24, IPv6 /48); ``None`` from the command line."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleSession(Base):
    """A member's console sign-in in one workspace. The browser's cookie carries a random token; only its SHA-256 is
    stored, as the id, so the table cannot open a session. Ended by signing out (``revoked_at``), by the member or
    an operator, when idle too long, or at ``expires_at``."""

    __tablename__ = "console_session"
    __table_args__ = (
        Index("ix_console_session_workspace_id", "workspace_id"),
        Index("ix_console_session_member_id", "member_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Hex SHA-256 of the cookie's token."""
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200), default=None)
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    """Where it signed in from, truncated (IPv4 /24, IPv6 /48)."""
    mfa_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    """When a second factor was last proven in this session (``None``: never; multi-factor sign-in comes later)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    reveal: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    """A new secret on its way to the one page that shows it (encrypted at rest); emptied when that page is shown."""
