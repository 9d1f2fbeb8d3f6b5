"""Console sessions, kept on the server, and the one new secret each may have on its way to the page that shows it.

A member opens a session in one of their workspaces by signing in. It ends when its browser signs out, when the
member ends it from another (or signs out everywhere), when their password or second factors change (the other
sessions), when they are removed from the workspace or disabled, after ``LEADWIRE_CONSOLE_IDLE_SECONDS`` without a
request, or at its absolute expiry. A member with a second factor signs in in two steps: until the second is taken
(``mfa_verified_at``), the session opens only that step; in a workspace that requires a second factor, a member
without one can only set one up. The browser holds a random token; the table holds only the token's SHA-256, so
neither a copy of the table nor a stale cookie opens anything.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, null, or_, select, update

from core.database import utcnow
from workspaces.devices import describe_device
from workspaces.factors import factors_of
from workspaces.models import ConsoleSession, Member, Membership, Workspace
from workspaces.service import record_audit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "REVEAL_SECONDS",
    "LiveSession",
    "Revealed",
    "SessionListed",
    "end_member_session",
    "end_member_sessions",
    "end_other_sessions",
    "end_session",
    "find_session",
    "list_member_sessions",
    "mark_second_factor",
    "open_session",
    "stash_reveal",
    "switch_workspace",
    "take_reveal",
    "touch_session",
)

REVEAL_SECONDS = 120
"""From the post that made a secret to the page that shows it: one redirect."""
_USER_AGENT_LENGTH = 200


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    """A session that is open now, with what the console needs of it: who, where, and with which role."""

    id: str
    workspace_id: str
    workspace_name: str
    member_id: str
    member_name: str
    email: str
    role: str
    csrf: str
    last_seen_at: datetime
    second_factor_pending: bool = False
    """The member has a second factor and has not given it in this session yet: it opens nothing else."""
    mfa_setup_required: bool = False
    """The workspace requires a second factor and the member has none: the session opens only its set-up."""


@dataclass(frozen=True)
class SessionListed:
    """One of a member's open sessions, as their account page lists it."""

    id: str
    workspace_name: str
    device: str
    address: str | None
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Revealed:
    """A new secret (an endpoint's signing secret, an API key) on its way to the one page that shows it."""

    value: str
    previous_expires: str | None = None
    """After a rotation: until when the previous secret still signs (ISO 8601, UTC)."""


def _open_now(now: datetime, idle_seconds: int) -> tuple[Any, ...]:
    return (
        ConsoleSession.revoked_at.is_(None),
        ConsoleSession.expires_at > now,
        ConsoleSession.last_seen_at > now - timedelta(seconds=idle_seconds),
    )


async def open_session(
    session: AsyncSession,
    *,
    member_id: str,
    workspace_id: str,
    lifetime_seconds: int,
    user_agent: str | None,
    address: str | None,
    second_factor_given: bool = False,
) -> str:
    """Open a session for a member who has just signed in, and delete the member's sessions that have ended.

    Args:
        session: A write session.
        member_id: Who signed in.
        workspace_id: The workspace the session opens in (one of theirs).
        lifetime_seconds: How long the session lasts, however busy (``LEADWIRE_CONSOLE_SESSION_SECONDS``).
        user_agent: The browser's ``User-Agent``, kept (truncated) to tell sessions apart.
        address: The client's address, truncated.
        second_factor_given: The member signed in with a passkey (a second factor in itself).

    Returns:
        The token for the browser's cookie (it is not stored, and cannot be retrieved again).
    """
    now = utcnow()
    await session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.member_id == member_id,
            or_(ConsoleSession.expires_at <= now, ConsoleSession.revoked_at.is_not(None)),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id=_session_id(token),
            workspace_id=workspace_id,
            member_id=member_id,
            csrf=secrets.token_urlsafe(24),
            user_agent=(user_agent or None) and user_agent[:_USER_AGENT_LENGTH],
            address=address,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=lifetime_seconds),
            mfa_verified_at=now if second_factor_given else None,
        )
    )
    return token


async def find_session(session: AsyncSession, token: str, *, idle_seconds: int) -> LiveSession | None:
    """The open session of this token, with the member's role now; ``None`` when it was signed out, has expired or
    idled out, or its member is disabled or no longer in its workspace."""
    row = (
        await session.execute(
            select(
                ConsoleSession,
                Workspace.name,
                Member.name,
                Member.email,
                Membership.role,
                Member.mfa,
                Workspace.settings,
            )
            .join(Workspace, Workspace.id == ConsoleSession.workspace_id)
            .join(Member, Member.id == ConsoleSession.member_id)
            .join(
                Membership,
                (Membership.member_id == ConsoleSession.member_id)
                & (Membership.workspace_id == ConsoleSession.workspace_id),
            )
            .where(
                ConsoleSession.id == _session_id(token),
                *_open_now(utcnow(), idle_seconds),
                Member.disabled_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    found, workspace_name, member_name, email, role, mfa, workspace_settings = row
    has_factor = factors_of(mfa).any
    required = isinstance(workspace_settings, dict) and workspace_settings.get("require_mfa") is True
    return LiveSession(
        found.id,
        found.workspace_id,
        workspace_name,
        found.member_id,
        member_name,
        email,
        role,
        found.csrf,
        found.last_seen_at,
        second_factor_pending=has_factor and found.mfa_verified_at is None,
        mfa_setup_required=required and not has_factor,
    )


async def mark_second_factor(session: AsyncSession, session_id: str) -> None:
    """Record that the session's member has just given their second factor (or set up their first) here."""
    await session.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_id).values(mfa_verified_at=utcnow())
    )


async def end_other_sessions(session: AsyncSession, *, member_id: str, keep: str | None) -> int:
    """End every open session of the member but ``keep`` (the one that made a change; ``None``: every one).

    Returns:
        How many sessions were ended.
    """
    statement = update(ConsoleSession).where(ConsoleSession.member_id == member_id, ConsoleSession.revoked_at.is_(None))
    if keep is not None:
        statement = statement.where(ConsoleSession.id != keep)
    ended = await session.execute(statement.values(revoked_at=utcnow(), reveal=null()).returning(ConsoleSession.id))
    return len(ended.all())


async def touch_session(session: AsyncSession, session_id: str) -> None:
    """Record that the session was used just now (in a write session)."""
    await session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_seen_at=utcnow()))


async def end_session(session: AsyncSession, session_id: str) -> None:
    """Sign one session out: its cookie opens nothing any more, and a secret still on its way is dropped."""
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), reveal=null())
    )


async def list_member_sessions(session: AsyncSession, *, member_id: str, idle_seconds: int) -> list[SessionListed]:
    """The member's open sessions, in every workspace, the most recently used first."""
    rows = await session.execute(
        select(ConsoleSession, Workspace.name)
        .join(Workspace, Workspace.id == ConsoleSession.workspace_id)
        .where(ConsoleSession.member_id == member_id, *_open_now(utcnow(), idle_seconds))
        .order_by(ConsoleSession.last_seen_at.desc())
    )
    return [
        SessionListed(row.id, name, describe_device(row.user_agent), row.address, row.created_at, row.last_seen_at)
        for row, name in rows
    ]


async def end_member_session(session: AsyncSession, *, member_id: str, session_id: str) -> bool:
    """End one of the member's own sessions (another member's is not found).

    Returns:
        Whether an open session of theirs was ended.
    """
    ended = await session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.id == session_id,
            ConsoleSession.member_id == member_id,
            ConsoleSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), reveal=null())
        .returning(ConsoleSession.id)
    )
    return bool(ended.all())


async def end_member_sessions(session: AsyncSession, *, member_id: str, workspace_id: str, actor: str) -> int:
    """Sign out every open session of the member, in every workspace, the caller's own included; the audit log of
    the workspace the member is in records it.

    Returns:
        How many sessions were open.
    """
    now = utcnow()
    ended = await session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.member_id == member_id, ConsoleSession.revoked_at.is_(None), ConsoleSession.expires_at > now
        )
        .values(revoked_at=now, reveal=null())
        .returning(ConsoleSession.id)
    )
    count = len(ended.all())
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="console.signed_out_everywhere",
        target_type="member",
        target_id=member_id,
        details={"sessions": count},
    )
    return count


async def switch_workspace(session: AsyncSession, *, session_id: str, member_id: str, workspace_id: str) -> bool:
    """Move the session to another of the member's workspaces.

    Returns:
        Whether it moved (``False``: not one of their workspaces).
    """
    if await session.get(Membership, (workspace_id, member_id)) is None:
        return False
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.member_id == member_id)
        .values(workspace_id=workspace_id, reveal=null())
    )
    return True


async def stash_reveal(session: AsyncSession, session_id: str, *, path: str, revealed: Revealed) -> None:
    """Keep a new secret (encrypted) in the session's row for the page at ``path`` to show once, within
    :data:`REVEAL_SECONDS`; it replaces any other still on its way."""
    value: dict[str, Any] = {
        "path": path,
        "secret": revealed.value,
        "previous_expires": revealed.previous_expires,
        "expires_at": (utcnow() + timedelta(seconds=REVEAL_SECONDS)).isoformat(),
    }
    await session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id).values(reveal=value))


def _expires(stored: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(stored.get("expires_at")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


async def take_reveal(session: AsyncSession, session_id: str, *, path: str) -> Revealed | None:
    """The secret on its way to the page at ``path``, taken out of the row in this (write) transaction, so that a
    second visit, or a second request at the same moment, finds nothing; ``None`` if there is none, it is late, or
    it is meant for another page (which then still gets it)."""
    stored = await session.scalar(
        select(ConsoleSession.reveal)
        .where(ConsoleSession.id == session_id, ConsoleSession.reveal.is_not(None))
        .with_for_update()
    )
    if not isinstance(stored, dict):
        return None
    late = _expires(stored) <= utcnow()
    if stored.get("path") != path and not late:
        return None
    await session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id).values(reveal=null()))
    value, previous = stored.get("secret"), stored.get("previous_expires")
    if late or not isinstance(value, str) or not (previous is None or isinstance(previous, str)):
        return None
    return Revealed(value=value, previous_expires=previous)
