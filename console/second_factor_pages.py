"""The second step of signing in: a code from the member's authenticator app, or one of their recovery codes (a
passkey is ``passkey_pages``). Until it is taken, the session opens nothing else; tries are throttled per member."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.pages import SECOND_STEP, page
from console.session import ConsoleUser
from console.signing_in import next_page
from core.errors import RateLimited
from workspaces import mfa, sessions
from workspaces.factors import factors_of
from workspaces.models import Member
from workspaces.service import record_audit
from workspaces.sign_in import record_sign_in

__all__ = ("second_factor", "second_factor_page")

_WRONG = "That code is not right, or was used already. Try the next code your app shows, or a recovery code."


async def _page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    user: ConsoleUser,
    status: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> Template:
    member = await session.get(Member, user.member_id)
    factors = factors_of(member.mfa if member is not None else None)
    return page(
        request, "second_factor", user, status_code=status, headers=headers, error=error, factors=factors,
        next=next_page(request),
    )  # fmt: skip


@get("/sign-in/verify", opt={"permission": "account", SECOND_STEP: True})
async def second_factor_page(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    if not user.second_factor_pending:
        return Redirect(next_page(request) or "/console", status_code=303)
    return await _page(request, db_session, user)


@post("/sign-in/verify", status_code=303, opt={"permission": "account", SECOND_STEP: True})
async def second_factor(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    """A code from the authenticator app (a time step later than the last used) or a recovery code (used up)."""
    if not user.second_factor_pending:
        return Redirect(next_page(request) or "/console", status_code=303)
    code = str((await request.form()).get("code") or "")[:64]
    try:
        await request.app.state.sign_in_limiter.check_second_factor(user.member_id)
    except RateLimited as exc:
        wait = f"Too many codes tried. Wait {exc.retry_after} seconds, then try again."
        return await _page(request, db_session, user, 429, wait, {"Retry-After": str(exc.retry_after)})
    method = await mfa.check_code(db_session, member_id=user.member_id, code=code)
    if method is None:
        await record_audit(
            db_session,
            workspace_id=user.workspace_id,
            actor="anonymous",
            action="member.second_factor_failed",
            target_type="member",
            target_id=user.member_id,
        )
        return await _page(request, db_session, user, 401, _WRONG)
    await sessions.mark_second_factor(db_session, user.session_id)
    await record_sign_in(db_session, member_id=user.member_id, workspace_id=user.workspace_id, method=method)
    return Redirect(next_page(request) or "/console", status_code=303)
