"""Members: people with an email and a password, each with a role in the workspaces they belong to.

An owner may do everything; an admin everything but ownership (making, demoting or removing owners). A workspace
always keeps an owner: the last one can be neither removed nor demoted. Passwords arrive here already hashed
(``workspaces.passwords``), because hashing takes a tenth of a second that no write transaction should wait for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, null, select, update

from core.database import utcnow
from core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from core.ids import new_id
from workspaces import keys, sessions
from workspaces.models import ConsoleSession, Member, Membership, Passkey, Workspace
from workspaces.roles import ROLES
from workspaces.service import clean_name, record_audit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from workspaces.schemas import Caller

__all__ = (
    "MemberOfWorkspace",
    "add_member",
    "audit_everywhere",
    "canonical_email",
    "change_role",
    "clear_mfa",
    "find_member",
    "get_member",
    "list_members",
    "remove_member",
    "set_password",
    "workspaces_of",
)


def canonical_email(email: str, *, field: str = "email") -> str:
    """The address as accounts are keyed: checked for syntax (no DNS lookup) and in lower case.

    Raises:
        ValidationFailed: Not an email address.
    """
    try:
        normalized = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationFailed([FieldError(field, "invalid_email", str(exc))]) from None
    return normalized.lower()


@dataclass(frozen=True)
class MemberOfWorkspace:
    """A member as one workspace sees them: the account and the role there."""

    member: Member
    role: str


async def find_member(session: AsyncSession, email: str) -> Member | None:
    """The account of this address (canonical or not), or ``None``."""
    try:
        canonical = canonical_email(email)
    except ValidationFailed:
        return None
    return await session.scalar(select(Member).where(Member.email == canonical))


async def get_member(session: AsyncSession, *, workspace_id: str, member_id: str) -> MemberOfWorkspace:
    """A member of this workspace.

    Raises:
        NotFound: No such member here (a member of another workspace only is not found either).
    """
    row = (
        await session.execute(
            select(Member, Membership.role)
            .join(Membership, Membership.member_id == Member.id)
            .where(Membership.workspace_id == workspace_id, Member.id == member_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no member {member_id}")
    return MemberOfWorkspace(row[0], row[1])


async def list_members(session: AsyncSession, *, workspace_id: str) -> list[MemberOfWorkspace]:
    """The workspace's members, by role (owners first), then by email."""
    rows = await session.execute(
        select(Member, Membership.role)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(Member.email)
    )
    found = [MemberOfWorkspace(member, role) for member, role in rows]
    return sorted(found, key=lambda m: ROLES.index(m.role) if m.role in ROLES else len(ROLES))


async def workspaces_of(session: AsyncSession, member_id: str) -> list[tuple[str, str, str]]:
    """The workspaces a member belongs to, oldest membership first: ``(workspace id, name, role)``."""
    rows = await session.execute(
        select(Workspace.id, Workspace.name, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.member_id == member_id)
        .order_by(Membership.created_at, Workspace.id)
    )
    return [(workspace_id, name, role) for workspace_id, name, role in rows]


def _may_touch(caller_role: str, *roles: str) -> None:
    if caller_role != "owner" and "owner" in roles:
        raise Forbidden("only an owner can make, demote or remove an owner")


async def add_member(
    session: AsyncSession,
    *,
    workspace_id: str,
    email: str,
    role: str,
    password_hash: str,
    by: Caller | None,
    name: str | None = None,
    actor: str | None = None,
) -> tuple[MemberOfWorkspace, bool]:
    """Add a person to the workspace with a role, making their account if the address has none.

    Args:
        session: A write session.
        workspace_id: The workspace.
        email: Their address.
        role: Their role here.
        password_hash: The hash of the new account's password (unused when the account exists).
        by: Who adds them (``None``: the operator's command line, who may make owners).
        name: A new account's name; by default the part of the address before the @.
        actor: How the audit log names who added them, when not ``by`` (a person accepting an invitation).

    Returns:
        The member with their role, and whether the account was made now.

    Raises:
        Forbidden: An admin making an owner.
        Conflict: They are a member already.
        ValidationFailed: Not an email address, or not a role.
    """
    if role not in ROLES:
        raise ValidationFailed([FieldError("role", "invalid", f"one of {', '.join(ROLES)}")])
    if by is not None:
        _may_touch(by.role, role)
    canonical = canonical_email(email)
    member = await session.scalar(select(Member).where(Member.email == canonical))
    created = member is None
    if member is None:
        member = Member(
            id=new_id("mem"),
            email=canonical,
            name=clean_name(name or canonical.partition("@")[0]),
            password_hash=password_hash,
        )
        session.add(member)
        await session.flush()
    elif await session.get(Membership, (workspace_id, member.id)) is not None:
        raise Conflict(f"{canonical} is a member of this workspace already")
    session.add(Membership(workspace_id=workspace_id, member_id=member.id, role=role))
    await session.flush()
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor or (by.actor if by is not None else "cli"),
        action="member.added",
        target_type="member",
        target_id=member.id,
        details={"role": role, "new_account": created},
    )
    return MemberOfWorkspace(member, role), created


async def _owners(session: AsyncSession, workspace_id: str) -> int:
    # Two changes at once must not both see another owner: take the workspace's row first (PostgreSQL; SQLite's
    # write transactions are serial already).
    await session.execute(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update())
    count = await session.scalar(
        select(func.count()).where(Membership.workspace_id == workspace_id, Membership.role == "owner")
    )
    return int(count or 0)


async def change_role(
    session: AsyncSession, *, workspace_id: str, member_id: str, role: str, by: Caller
) -> MemberOfWorkspace:
    """Give a member another role here. Their sessions and keys follow at once (roles are read on every request).

    Raises:
        NotFound: No such member here.
        Forbidden: An admin making, demoting or promoting to owner.
        Conflict: It would leave the workspace without an owner.
    """
    found = await get_member(session, workspace_id=workspace_id, member_id=member_id)
    if role not in ROLES:
        raise ValidationFailed([FieldError("role", "invalid", f"one of {', '.join(ROLES)}")])
    if role == found.role:
        return found
    _may_touch(by.role, role, found.role)
    if found.role == "owner" and await _owners(session, workspace_id) <= 1:
        raise Conflict("this is the workspace's last owner; make another owner first")
    await session.execute(
        update(Membership)
        .where(Membership.workspace_id == workspace_id, Membership.member_id == member_id)
        .values(role=role)
    )
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=by.actor,
        action="member.role_changed",
        target_type="member",
        target_id=member_id,
        details={"from": found.role, "to": role},
    )
    return MemberOfWorkspace(found.member, role)


async def remove_member(session: AsyncSession, *, workspace_id: str, member_id: str, by: Caller) -> None:
    """Take a member out of the workspace: their sessions here end and the keys they made here are revoked.

    Raises:
        NotFound: No such member here.
        Forbidden: An admin removing an owner.
        Conflict: The workspace's last owner.
    """
    found = await get_member(session, workspace_id=workspace_id, member_id=member_id)
    _may_touch(by.role, found.role)
    if found.role == "owner" and await _owners(session, workspace_id) <= 1:
        raise Conflict("this is the workspace's last owner; make another owner first")
    membership = await session.get(Membership, (workspace_id, member_id))
    await session.delete(membership)
    await session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.workspace_id == workspace_id,
            ConsoleSession.member_id == member_id,
            ConsoleSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), reveal=null())
    )
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=by.actor,
        action="member.removed",
        target_type="member",
        target_id=member_id,
        details={"role": found.role},
    )
    await keys.revoke_keys_of(session, workspace_id=workspace_id, member_id=member_id, actor=by.actor)


async def audit_everywhere(
    session: AsyncSession, member_id: str, *, actor: str, action: str, details: dict[str, Any] | None = None
) -> None:
    """Record a change to the member's own account (password, second factors) in the log of each of their
    workspaces: each owner sees what happened to the accounts that can act in their workspace."""
    for workspace_id, _, _ in await workspaces_of(session, member_id):
        await record_audit(
            session,
            workspace_id=workspace_id,
            actor=actor,
            action=action,
            target_type="member",
            target_id=member_id,
            details=details,
        )


async def set_password(
    session: AsyncSession,
    *,
    member_id: str,
    password_hash: str,
    actor: str,
    keep_session: str | None = None,
    action: str = "member.password_changed",
) -> int:
    """Store a new password hash and end the member's sessions, but for ``keep_session`` (the one that changed it).

    Returns:
        How many sessions were ended.

    Raises:
        NotFound: No such member.
    """
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member {member_id}")
    member.password_hash = password_hash
    member.password_changed_at = utcnow()
    ended = await sessions.end_other_sessions(session, member_id=member_id, keep=keep_session)
    await audit_everywhere(session, member_id, actor=actor, action=action, details={"sessions_ended": ended})
    return ended


async def clear_mfa(session: AsyncSession, *, member_id: str, actor: str) -> bool:
    """Forget every second factor of the member, TOTP, recovery codes and passkeys alike, and end their sessions (the
    operator's way back in for a locked-out member).

    Returns:
        Whether there was any.
    """
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member {member_id}")
    passkeys = await session.execute(delete(Passkey).where(Passkey.member_id == member_id).returning(Passkey.id))
    had = bool(member.mfa) or bool(passkeys.all())
    await session.execute(update(Member).where(Member.id == member_id).values(mfa=null()))  # SQL NULL, not JSON null
    await sessions.end_other_sessions(session, member_id=member_id, keep=None)
    await audit_everywhere(session, member_id, actor=actor, action="member.mfa_cleared")
    return had
