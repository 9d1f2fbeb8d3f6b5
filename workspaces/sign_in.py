"""Signing a member in with email and password: throttled, with one answer for every failure, and timed alike.

An unknown address, a wrong password, a disabled account and an account in no workspace all get ``None`` after the
same argon2 verification (against a dummy hash when there is no account), so neither the answer nor its time tells
whether an address has an account. The password is verified outside any write transaction: guessing must not hold
SQLite's one writer. A member with a second factor gets a session that waits for it (``workspaces.second_step``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import update

from core.client_ip import rate_limit_subject, truncated_ip
from core.database import utcnow
from core.errors import NotFound
from workspaces import invitations, members, passwords, sessions
from workspaces.factors import factors_of
from workspaces.models import Member
from workspaces.service import record_audit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.database import Database
    from core.ratelimit import SignInLimiter

__all__ = ("SignedIn", "record_sign_in", "sign_in")

_logger = logging.getLogger("leadwire.workspaces")


@dataclass(frozen=True)
class SignedIn:
    """A new console session: the token for the browser's cookie, and whether it waits for a second factor."""

    token: str
    second_factor_pending: bool


async def sign_in(
    db: Database,
    limiter: SignInLimiter,
    *,
    email: str,
    password: str,
    client: str,
    user_agent: str | None,
    lifetime_seconds: int,
    invitation: str | None = None,
) -> SignedIn | None:
    """Open a console session for the member with this email and password, in their oldest workspace.

    Args:
        db: The database (several short transactions are used, none held while the password is checked).
        limiter: The sign-in limits, per account and per client address.
        email: As typed.
        password: As typed.
        client: The client's address.
        user_agent: The browser's, kept with the session.
        lifetime_seconds: The session's absolute lifetime.
        invitation: The token of an invitation to this address: the member joins its workspace, and the session
            opens there.

    Returns:
        The new session, or ``None`` when the email and password do not open an account.

    Raises:
        RateLimited: Too many attempts for this address or from this client.
        NotFound: The invitation was used, revoked or has expired meanwhile.
    """
    account = " ".join(email.split()).lower()[:254]
    await limiter.check_attempt(account=account, client=rate_limit_subject(client))
    async with db.session(write=False) as session:
        member = await members.find_member(session, email)
        workspaces = await members.workspaces_of(session, member.id) if member is not None else []
    stored = member.password_hash if member is not None else passwords.dummy_hash()
    matches = await asyncio.to_thread(passwords.verify_password, stored, password)
    if member is None or not matches or member.disabled_at is not None or not (workspaces or invitation):
        await _failed(db, member, [workspace_id for workspace_id, _, _ in workspaces], client)
        return None
    rehashed = await asyncio.to_thread(passwords.hash_password, password) if passwords.needs_rehash(stored) else None
    pending = factors_of(member.mfa).any
    async with db.session(write=True) as session:
        if invitation is not None:
            workspace_id = await invitations.accept_as_member(session, token=invitation, member=member)
            if workspace_id is None:
                raise NotFound("this invitation was used, revoked or has expired")
        else:
            workspace_id = workspaces[0][0]
        if rehashed is not None:
            await session.execute(update(Member).where(Member.id == member.id).values(password_hash=rehashed))
        token = await sessions.open_session(
            session,
            member_id=member.id,
            workspace_id=workspace_id,
            lifetime_seconds=lifetime_seconds,
            user_agent=user_agent,
            address=truncated_ip(client),
        )
        if not pending:
            await record_sign_in(session, member_id=member.id, workspace_id=workspace_id, rehashed=rehashed is not None)
    return SignedIn(token, second_factor_pending=pending)


async def record_sign_in(
    session: AsyncSession, *, member_id: str, workspace_id: str, method: str = "password", rehashed: bool = False
) -> None:
    """Note a completed sign-in: the member's ``last_sign_in_at`` and the workspace's audit log (``method``:
    ``password``, ``totp``, ``recovery_code``, ``passkey``)."""
    await session.execute(update(Member).where(Member.id == member_id).values(last_sign_in_at=utcnow()))
    details: dict[str, object] = {} if method == "password" else {"method": method}
    if rehashed:
        details["rehashed"] = True
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=f"member:{member_id}",
        action="member.signed_in",
        target_type="member",
        target_id=member_id,
        details=details,
    )


async def _failed(db: Database, member: Member | None, workspace_ids: list[str], client: str) -> None:
    """Record a failed sign-in in the audit log of each workspace the account belongs to (an unknown address has no
    log of its own: the process log says where the attempt came from, never the address typed)."""
    if member is None or not workspace_ids:
        _logger.info("sign-in failed for an unknown account from %s", truncated_ip(client))
        return
    async with db.session(write=True) as session:
        for workspace_id in workspace_ids:
            await record_audit(
                session,
                workspace_id=workspace_id,
                actor="anonymous",
                action="member.sign_in_failed",
                target_type="member",
                target_id=member.id,
            )
