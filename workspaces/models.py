"""Tables of the workspaces slice: workspace, member, membership, api_key, audit_event, console_session, invitation,
password_reset, passkey, webauthn_challenge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, utcnow
from core.encryption import EncryptedJSON

__all__ = (
    "ApiKey",
    "AuditEvent",
    "ConsoleSession",
    "Invitation",
    "Member",
    "Membership",
    "Passkey",
    "PasswordReset",
    "WebAuthnChallenge",
    "Workspace",
)


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
    """The member's second factors (encrypted at rest): the TOTP secret and its last used time step, the hashes of the
    recovery codes left, how many passkeys they have (``workspaces.mfa``); ``None`` while they have none. ``leadwire
    member disable-mfa`` empties it and deletes their passkeys."""
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
    """When a second factor was proven in this session (``None``: never). While the member has a second factor and
    this is unset, the session opens only the second step of signing in."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    reveal: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    """A new secret on its way to the one page that shows it (encrypted at rest); emptied when that page is shown."""


class Invitation(Base):
    """A link that makes its bearer a member of a workspace with a role, once, until it expires. Only the SHA-256 of
    the link's token is stored."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("token_hash"), Index("ix_invitation_workspace_id", "workspace_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    """Canonical: the address the link was made for (a new account gets this address)."""
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64))
    invited_by: Mapped[str] = mapped_column(String(80))
    """The audit log's name of who made it (``member:mem_…``, ``api_key:key_…``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_by_id: Mapped[str | None] = mapped_column(String(40), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class PasswordReset(Base):
    """A link that lets a member choose a new password, once, within an hour. Only the SHA-256 of its token is
    stored."""

    __tablename__ = "password_reset"
    __table_args__ = (UniqueConstraint("token_hash"), Index("ix_password_reset_member_id", "member_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class Passkey(Base):
    """A member's WebAuthn credential: a second factor, and a way to sign in without a password. The public key is
    not a secret; the private key never leaves the member's authenticator."""

    __tablename__ = "passkey"
    __table_args__ = (UniqueConstraint("credential_id"), Index("ix_passkey_member_id", "member_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    credential_id: Mapped[str] = mapped_column(String(1400))
    """base64url, as browsers send it (at most 1,023 bytes)."""
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    """COSE-encoded."""
    sign_count: Mapped[int] = mapped_column(default=0)
    transports: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class WebAuthnChallenge(Base):
    """A challenge handed to a browser for one WebAuthn ceremony, taken (deleted) by the answer to it: each is
    answered at most once, within a few minutes."""

    __tablename__ = "webauthn_challenge"
    __table_args__ = (Index("ix_webauthn_challenge_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Hex SHA-256 of the challenge."""
    purpose: Mapped[str] = mapped_column(String(20))
    """``register``, ``second-factor`` or ``sign-in`` (a passkey without a password)."""
    session_id: Mapped[str | None] = mapped_column(String(64), default=None)
    """The console session it was made for; ``None`` for signing in without a password."""
    expires_at: Mapped[datetime] = mapped_column()
