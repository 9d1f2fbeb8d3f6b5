"""Invitations: a single-use, expiring link that makes its bearer a member of a workspace with a role.

Owners and admins invite by email and role (only owners invite owners). The link's token is shown once to the inviter
(and mailed, when SMTP is configured); only its SHA-256 is stored. Following it, a new person chooses a name and a
password; someone who has an account for the address signs in with it and joins. Inviting an address again replaces
its pending invitation. Each step is in the workspace's audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from core.database import utcnow
from core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from core.ids import new_id
from core.security import hash_link_token, new_link_token
from workspaces import members
from workspaces.models import Invitation, Member, Membership, Workspace
from workspaces.roles import ROLES
from workspaces.service import record_audit

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession

    from workspaces.schemas import Caller

__all__ = (
    "OpenInvitation",
    "accept_as_member",
    "accept_as_new",
    "find_open",
    "invitation_path",
    "invite",
    "list_pending",
    "revoke_invitation",
)


def invitation_path(token: str) -> str:
    """Where an invitation's link leads, under the public base URL."""
    return f"/console/invitations/{token}"


@dataclass(frozen=True)
class OpenInvitation:
    """An invitation that can still be accepted, as its page shows it."""

    invitation: Invitation
    workspace_name: str
    has_account: bool
    """Whether the address has an account already (its owner signs in to join)."""


def _pending(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > now)


def _may_invite(caller: Caller, role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed([FieldError("role", "invalid", f"one of {', '.join(ROLES)}")])
    if role == "owner" and caller.role != "owner":
        raise Forbidden("only an owner can invite an owner")


async def invite(
    session: AsyncSession, *, workspace_id: str, email: str, role: str, by: Caller, max_age_seconds: int
) -> tuple[Invitation, str]:
    """Invite an address to the workspace with a role.

    Returns:
        The invitation and its link's token, which is not stored and cannot be had again.

    Raises:
        ValidationFailed: Not an email address, or not a role.
        Forbidden: An admin inviting an owner.
        Conflict: The address is a member here already.
    """
    _may_invite(by, role)
    canonical = members.canonical_email(email)
    existing = await session.scalar(
        select(Membership.member_id)
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.workspace_id == workspace_id, Member.email == canonical)
    )
    if existing is not None:
        raise Conflict(f"{canonical} is a member of this workspace already")
    now = utcnow()
    await session.execute(
        update(Invitation)
        .where(Invitation.workspace_id == workspace_id, Invitation.email == canonical, *_pending(now))
        .values(revoked_at=now)
    )
    token = new_link_token()
    invitation = Invitation(
        id=new_id("inv"),
        workspace_id=workspace_id,
        email=canonical,
        role=role,
        token_hash=hash_link_token(token),
        invited_by=by.actor,
        created_at=now,
        expires_at=now + timedelta(seconds=max_age_seconds),
    )
    session.add(invitation)
    await session.flush()
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=by.actor,
        action="invitation.created",
        target_type="invitation",
        target_id=invitation.id,
        details={"role": role},
    )
    return invitation, token


async def list_pending(session: AsyncSession, *, workspace_id: str) -> list[Invitation]:
    """The workspace's invitations that can still be accepted, newest first."""
    rows = await session.scalars(
        select(Invitation)
        .where(Invitation.workspace_id == workspace_id, *_pending(utcnow()))
        .order_by(Invitation.created_at.desc())
    )
    return list(rows)


async def revoke_invitation(session: AsyncSession, *, workspace_id: str, invitation_id: str, by: Caller) -> None:
    """Make a pending invitation's link open nothing.

    Raises:
        NotFound: No pending invitation of that id here.
        Forbidden: An admin revoking an owner's invitation.
    """
    invitation = await session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.workspace_id == workspace_id, *_pending(utcnow())
        )
    )
    if invitation is None:
        raise NotFound(f"no pending invitation {invitation_id}")
    if invitation.role == "owner" and by.role != "owner":
        raise Forbidden("only an owner can revoke an owner's invitation")
    invitation.revoked_at = utcnow()
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=by.actor,
        action="invitation.revoked",
        target_type="invitation",
        target_id=invitation.id,
    )


async def find_open(session: AsyncSession, token: str) -> OpenInvitation | None:
    """The invitation of a link's token, if it can still be accepted."""
    row = (
        await session.execute(
            select(Invitation, Workspace.name)
            .join(Workspace, Workspace.id == Invitation.workspace_id)
            .where(Invitation.token_hash == hash_link_token(token), *_pending(utcnow()))
        )
    ).first()
    if row is None:
        return None
    invitation, workspace_name = row
    account = await session.scalar(select(Member.id).where(Member.email == invitation.email))
    return OpenInvitation(invitation, workspace_name, account is not None)


async def _take(session: AsyncSession, token: str) -> Invitation | None:
    """The invitation, marked accepted in this transaction (so that a second use, even at the same moment, finds
    nothing), or ``None``."""
    invitation = await session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_link_token(token), *_pending(utcnow())).with_for_update()
    )
    if invitation is not None:
        invitation.accepted_at = utcnow()
    return invitation


async def _accepted(session: AsyncSession, invitation: Invitation, member_id: str) -> None:
    invitation.accepted_by_id = member_id
    await record_audit(
        session,
        workspace_id=invitation.workspace_id,
        actor=f"member:{member_id}",
        action="invitation.accepted",
        target_type="invitation",
        target_id=invitation.id,
        details={"role": invitation.role, "invited_by": invitation.invited_by},
    )


async def accept_as_new(session: AsyncSession, *, token: str, name: str, password_hash: str) -> tuple[str, str] | None:
    """Make the invited person's account (the invitation's address, their name and password) and membership.

    Returns:
        The new member's id and the workspace's, or ``None`` when the link opens nothing any more.

    Raises:
        Conflict: The address has an account now (its owner signs in to join instead).
        ValidationFailed: A name with nothing visible in it.
    """
    invitation = await _take(session, token)
    if invitation is None:
        return None
    if await session.scalar(select(Member.id).where(Member.email == invitation.email)) is not None:
        raise Conflict(f"{invitation.email} has an account already: sign in to join")
    found, _ = await members.add_member(
        session,
        workspace_id=invitation.workspace_id,
        email=invitation.email,
        role=invitation.role,
        password_hash=password_hash,
        by=None,
        name=name,
        actor=f"invitation:{invitation.id}",
    )
    await _accepted(session, invitation, found.member.id)
    return found.member.id, invitation.workspace_id


async def accept_as_member(session: AsyncSession, *, token: str, member: Member) -> str | None:
    """Add an existing account, signed in just now, to the invitation's workspace: only the account of the address
    the invitation was made for.

    Returns:
        The workspace's id, or ``None`` when the link opens nothing any more (or not for this account).
    """
    invitation = await _take(session, token)
    if invitation is None or invitation.email != member.email:
        return None
    if await session.get(Membership, (invitation.workspace_id, member.id)) is None:
        await members.add_member(
            session,
            workspace_id=invitation.workspace_id,
            email=member.email,
            role=invitation.role,
            password_hash=member.password_hash,
            by=None,
            actor=f"invitation:{invitation.id}",
        )
    await _accepted(session, invitation, member.id)
    return invitation.workspace_id
