"""Your account: change your password (your other sessions end), your second factor (``mfa_pages``), see your
sessions and end any, switch workspace."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.messages import editor_errors
from console.pages import page
from console.session import ConsoleUser, clear_cookie
from core.errors import ValidationFailed
from core.settings import Settings
from workspaces import members, passwords
from workspaces import sessions as console_sessions
from workspaces.factors import factors_of
from workspaces.models import Member

__all__ = ("account_page", "password_change", "session_end", "workspace_switch")


async def _account_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    user: ConsoleUser,
    settings: Settings,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Template:
    member = await session.get(Member, user.member_id)
    return page(
        request,
        "account",
        user,
        status_code=status_code,
        errors=errors or [],
        sessions=await console_sessions.list_member_sessions(
            session, member_id=user.member_id, idle_seconds=settings.console_idle_seconds
        ),
        workspaces=await members.workspaces_of(session, user.member_id),
        min_length=passwords.MIN_LENGTH,
        factors=factors_of(member.mfa if member is not None else None),
    )


@get("/account", opt={"permission": "account"})
async def account_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Template:
    return await _account_page(request, db_session, user, app_settings)


@post("/account/password", status_code=303, opt={"permission": "account"})
async def password_change(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Response[Any]:
    """A new password, given the current one: every other session of the member ends."""
    form = await request.form()
    current, new = str(form.get("current") or ""), str(form.get("new") or "")
    member = await db_session.get(Member, user.member_id)
    assert member is not None  # the guard found the session's member a moment ago
    if not await asyncio.to_thread(passwords.verify_password, member.password_hash, current[:1_024]):
        errors = ["The current password is not right."]
        return await _account_page(request, db_session, user, app_settings, errors=errors, status_code=422)
    try:
        passwords.check_new_password(new, email=member.email)
    except ValidationFailed as exc:
        errors = editor_errors(exc)
        return await _account_page(request, db_session, user, app_settings, errors=errors, status_code=422)
    hashed = await asyncio.to_thread(passwords.hash_password, new)
    await members.set_password(
        db_session,
        member_id=user.member_id,
        password_hash=hashed,
        actor=user.caller.actor,
        keep_session=user.session_id,
    )
    return Redirect("/console/account?done=password_changed", status_code=303)


@post("/account/sessions/{session_id:str}/end", status_code=303, opt={"permission": "account"})
async def session_end(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
    session_id: FromPath[str],
) -> Redirect:
    """End one of your sessions; ending this one signs you out."""
    await console_sessions.end_member_session(db_session, member_id=user.member_id, session_id=session_id)
    if session_id == user.session_id:
        return Redirect("/console/sign-in?done=signed_out", status_code=303, cookies=[clear_cookie(app_settings)])
    return Redirect("/console/account?done=session_ended#sessions", status_code=303)


@post("/account/workspace", status_code=303, opt={"permission": "account"})
async def workspace_switch(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Redirect:
    """Work in another of your workspaces, in this session."""
    workspace_id = str((await request.form()).get("workspace_id") or "")
    moved = await console_sessions.switch_workspace(
        db_session, session_id=user.session_id, member_id=user.member_id, workspace_id=workspace_id
    )
    return Redirect("/console/account?done=switched" if moved else "/console/account", status_code=303)
