"""Console sessions, kept on the server, and the one new secret each may have on its way to the page that shows it.

A session is opened with a live API key and ends when its browser signs out, when someone signs the workspace out
everywhere, when its key is revoked, or at its absolute expiry. The browser holds a random token; the table holds
only the token's SHA-256, so neither a copy of the table nor a stale cookie opens anything.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, null, or_, select, update

from core.database import utcnow
from workspaces.models import ApiKey, ConsoleSession, Workspace
from workspaces.service import record_audit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from workspaces.schemas import Caller

__all__ = (
    "REVEAL_SECONDS",
    "LiveSession",
    "Revealed",
    "end_session",
    "end_workspace_sessions",
    "find_session",
    "open_session",
    "stash_reveal",
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
    """A session that is open now, with what the console needs of it."""

    id: str
    workspace_id: str
    workspace_name: str
    api_key_id: str
    csrf: str
    last_seen_at: datetime


@dataclass(frozen=True)
class Revealed:
    """A new secret (an endpoint's signing secret, an API key) on its way to the one page that shows it."""

    value: str
    previous_expires: str | None = None
    """After a rotation: until when the previous secret still signs (ISO 8601, UTC)."""


async def open_session(
    session: AsyncSession, *, caller: Caller, lifetime_seconds: int, user_agent: str | None
) -> tuple[str, LiveSession]:
    """Open a session for the key that signed in, and delete the workspace's sessions that have ended.

    Args:
        session: A write session.
        caller: The workspace and the live key that signed in.
        lifetime_seconds: How long the session lasts, however busy (``LEADWIRE_CONSOLE_SESSION_SECONDS``).
        user_agent: The browser's ``User-Agent``, kept (truncated) to tell sessions apart.

    Returns:
        The token for the browser's cookie (it is not stored, and cannot be retrieved again) and the session.
    """
    now = utcnow()
    await session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.workspace_id == caller.workspace_id,
            or_(ConsoleSession.expires_at <= now, ConsoleSession.revoked_at.is_not(None)),
        )
    )
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        id=_session_id(token),
        workspace_id=caller.workspace_id,
        api_key_id=caller.api_key_id,
        csrf=secrets.token_urlsafe(24),
        user_agent=(user_agent or None) and user_agent[:_USER_AGENT_LENGTH],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=lifetime_seconds),
    )
    session.add(row)
    name = await session.scalar(select(Workspace.name).where(Workspace.id == caller.workspace_id))
    return token, LiveSession(row.id, row.workspace_id, name or "", row.api_key_id, row.csrf, now)


async def find_session(session: AsyncSession, token: str) -> LiveSession | None:
    """The open session of this token: not signed out, not expired, and its key still live; otherwise ``None``."""
    row = (
        await session.execute(
            select(ConsoleSession, Workspace.name)
            .join(ApiKey, ApiKey.id == ConsoleSession.api_key_id)
            .join(Workspace, Workspace.id == ConsoleSession.workspace_id)
            .where(
                ConsoleSession.id == _session_id(token),
                ConsoleSession.revoked_at.is_(None),
                ConsoleSession.expires_at > utcnow(),
                ApiKey.revoked_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    found, name = row
    return LiveSession(found.id, found.workspace_id, name, found.api_key_id, found.csrf, found.last_seen_at)


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


async def end_workspace_sessions(session: AsyncSession, *, workspace_id: str, actor: str) -> int:
    """Sign out every open session of the workspace, the caller's own included, and record it in the audit log.

    Returns:
        How many sessions were open.
    """
    now = utcnow()
    ended = await session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.workspace_id == workspace_id,
            ConsoleSession.revoked_at.is_(None),
            ConsoleSession.expires_at > now,
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
        target_type="workspace",
        target_id=workspace_id,
        details={"sessions": count},
    )
    return count


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
