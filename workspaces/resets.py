"""Password resets by mail: a single-use link, good for an hour, that lets a member choose a new password and ends
every one of their sessions.

A request never says whether the address has an account: the console answers at once, alike for every address, and
this module's ``request_reset`` runs afterwards, in the background, making a link (and mailing it) only for an
account that can sign in. Only the SHA-256 of a link's token is stored. A reset does not touch second factors.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from core.database import utcnow
from core.ids import new_id
from core.security import hash_link_token, new_link_token
from workspaces import members
from workspaces.account_mail import reset_message
from workspaces.models import Member, PasswordReset

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.database import Database
    from core.mail import Mailer

__all__ = ("RESET_SECONDS", "find_reset", "make_reset", "request_reset", "reset_path", "use_reset")

RESET_SECONDS = 3_600
"""How long a reset link works (once)."""


def reset_path(token: str) -> str:
    """Where a reset link leads, under the public base URL."""
    return f"/console/reset-password/{token}"


async def make_reset(session: AsyncSession, *, email: str) -> tuple[Member, str] | None:
    """Make a reset link for the account of ``email``, if it can sign in (it exists, is not disabled, and belongs
    to a workspace); the request is recorded in each of its workspaces' logs.

    Returns:
        The member and the link's token (not stored, and not to be had again), or ``None``.
    """
    member = await members.find_member(session, email)
    if member is None or member.disabled_at is not None or not await members.workspaces_of(session, member.id):
        return None
    token = new_link_token()
    now = utcnow()
    session.add(
        PasswordReset(
            id=new_id("pwr"),
            member_id=member.id,
            token_hash=hash_link_token(token),
            created_at=now,
            expires_at=now + timedelta(seconds=RESET_SECONDS),
        )
    )
    await members.audit_everywhere(session, member.id, actor="anonymous", action="member.password_reset_requested")
    return member, token


async def request_reset(db: Database, mailer: Mailer, *, email: str, base_url: str) -> None:
    """Mail a reset link to the account of ``email``, if there is one that can sign in; otherwise do nothing. Run in
    the background, after the request was answered."""
    async with db.session(write=False) as session:
        member = await members.find_member(session, email)
    if member is None or member.disabled_at is not None:
        return
    async with db.session(write=True) as session:
        made = await make_reset(session, email=member.email)
    if made is not None:
        link = base_url.rstrip("/") + reset_path(made[1])
        await mailer.send(reset_message(mailer, to=made[0].email, link=link))


def _usable(token: str) -> tuple[ColumnElement[bool], ...]:
    return (
        PasswordReset.token_hash == hash_link_token(token),
        PasswordReset.used_at.is_(None),
        PasswordReset.expires_at > utcnow(),
    )


async def find_reset(session: AsyncSession, token: str) -> Member | None:
    """The member a reset link is for, while it still works (and they can sign in)."""
    member = await session.scalar(
        select(Member).join(PasswordReset, PasswordReset.member_id == Member.id).where(*_usable(token))
    )
    return member if member is not None and member.disabled_at is None else None


async def use_reset(session: AsyncSession, *, token: str, password_hash: str) -> str | None:
    """Set the member's new password with a reset link: the link, and any other the member still had, stop working,
    and every session of the member ends.

    Returns:
        The member's id, or ``None`` when the link opens nothing (used, late, unknown).
    """
    reset = await session.scalar(select(PasswordReset).where(*_usable(token)).with_for_update())
    if reset is None:
        return None
    now = utcnow()
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.member_id == reset.member_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    await members.set_password(
        session,
        member_id=reset.member_id,
        password_hash=password_hash,
        actor=f"member:{reset.member_id}",
        action="member.password_reset",
    )
    return reset.member_id
