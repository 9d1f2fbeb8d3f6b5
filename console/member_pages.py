"""The members page (owners and admins): who is in the workspace with which role; add a person (a new account's
one-time password shown once), change a role, remove someone. Only owners make, demote or remove owners."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.messages import editor_errors
from console.pages import page, page_revealing, reveal_after_redirect
from console.session import ConsoleUser
from core.errors import Conflict, Forbidden, ValidationFailed
from workspaces import invitations, members, passwords, service
from workspaces.factors import factors_of
from workspaces.roles import ROLE_LABELS, ROLES
from workspaces.schemas import WorkspaceSettingsPatch, WorkspaceUpdate
from workspaces.sessions import Revealed

__all__ = (
    "member_add",
    "member_new",
    "member_remove",
    "member_role",
    "members_page",
    "members_page_for",
    "require_mfa_change",
)


def _new_member_page(member_id: str) -> str:
    return f"/console/members/{member_id}/new"


async def members_page_for(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    user: ConsoleUser,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
    email: str = "",
) -> Template:
    """The Members page, with the workspace's members, the invitations still open and whether a second factor is
    required (and ``errors`` from a form that did not work)."""
    # An admin cannot hand out or take away ownership: they see the roles they may give.
    assignable = ROLES if user.role == "owner" else tuple(role for role in ROLES if role != "owner")
    workspace = await service.get_workspace(session, user.workspace_id)
    return page(
        request,
        "members",
        user,
        status_code=status_code,
        errors=errors or [],
        members=await members.list_members(session, workspace_id=user.workspace_id),
        roles=ROLES,
        assignable=assignable,
        labels=ROLE_LABELS,
        email=email,
        invitations=await invitations.list_pending(session, workspace_id=user.workspace_id),
        require_mfa=service.settings_of(workspace).require_mfa,
        mailed=request.app.state.mailer.configured,
        factors=factors_of,
    )


@get("/members", opt={"permission": "members:read"})
async def members_page(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    return await members_page_for(request, db_session, user)


@post("/members", status_code=303, opt={"permission": "members:write"})
async def member_add(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    form = await request.form()
    email, role = str(form.get("email") or "").strip(), str(form.get("role") or "")
    password = passwords.one_time_password()
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    try:
        found, created = await members.add_member(
            db_session, workspace_id=user.workspace_id, email=email, role=role, password_hash=hashed, by=user.caller
        )
    except ValidationFailed as exc:
        return await members_page_for(
            request, db_session, user, errors=editor_errors(exc), status_code=422, email=email
        )
    except (Forbidden, Conflict) as exc:
        errors = [str(exc.detail)]
        return await members_page_for(
            request, db_session, user, errors=errors, status_code=exc.status_code, email=email
        )
    if not created:
        return Redirect("/console/members?done=member_added", status_code=303)
    return await reveal_after_redirect(db_session, user, _new_member_page(found.member.id), Revealed(password))


@get("/members/{member_id:str}/new", opt={"permission": "members:write"})
async def member_new(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    member_id: FromPath[str],
) -> Response[Any]:
    found = await members.get_member(db_session, workspace_id=user.workspace_id, member_id=member_id)
    shown = await page_revealing(request, user, _new_member_page(member_id), "new_member", found=found)
    return shown or Redirect("/console/members?done=member_shown", status_code=303)


@post("/members/{member_id:str}/role", status_code=303, opt={"permission": "members:write"})
async def member_role(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    member_id: FromPath[str],
) -> Response[Any]:
    role = str((await request.form()).get("role") or "")
    try:
        await members.change_role(
            db_session, workspace_id=user.workspace_id, member_id=member_id, role=role, by=user.caller
        )
    except ValidationFailed as exc:
        return await members_page_for(request, db_session, user, errors=editor_errors(exc), status_code=422)
    except (Forbidden, Conflict) as exc:
        return await members_page_for(request, db_session, user, errors=[str(exc.detail)], status_code=exc.status_code)
    return Redirect("/console/members?done=role_changed", status_code=303)


@post("/members/{member_id:str}/remove", status_code=303, opt={"permission": "members:write"})
async def member_remove(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    member_id: FromPath[str],
) -> Response[Any]:
    try:
        await members.remove_member(db_session, workspace_id=user.workspace_id, member_id=member_id, by=user.caller)
    except (Forbidden, Conflict) as exc:
        return await members_page_for(request, db_session, user, errors=[str(exc.detail)], status_code=exc.status_code)
    if member_id == user.member_id:
        return Redirect("/console/sign-in", status_code=303)
    return Redirect("/console/members?done=member_removed", status_code=303)


@post("/members/require-mfa", status_code=303, opt={"permission": "workspace:write"})
async def require_mfa_change(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    """Owners only: whether every member needs a second factor."""
    wanted = (await request.form()).get("require_mfa") == "1"
    update = WorkspaceUpdate(settings=WorkspaceSettingsPatch(require_mfa=wanted))
    try:
        await service.update_workspace(
            db_session, workspace_id=user.workspace_id, data=update, actor=user.caller.actor, role=user.role
        )
    except Forbidden as exc:
        return await members_page_for(request, db_session, user, errors=[str(exc.detail)], status_code=403)
    return Redirect(f"/console/members?done={'mfa_required' if wanted else 'mfa_not_required'}#mfa", status_code=303)
