"""Invitations in the console: an owner or admin invites by email and role from the Members page (the link shown
once, and mailed when SMTP is configured) and revokes one; the person invited follows the link, and either chooses a
name and password (a new account) or signs in with their own (an account they have) to join."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.member_pages import members_page_for
from console.messages import editor_errors
from console.pages import PUBLIC, page, page_revealing, reveal_after_redirect
from console.session import ConsoleUser, same_origin, session_cookie
from console.signing_in import WRONG, signed_in_redirect
from core.client_ip import REQUEST_CLIENT, truncated_ip
from core.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from core.settings import Settings
from workspaces import invitations, passwords, sessions
from workspaces.invitation_routes import send_invitation
from workspaces.sessions import Revealed
from workspaces.sign_in import record_sign_in, sign_in

if TYPE_CHECKING:
    from core.database import Database

__all__ = ("invitation_accept", "invitation_create", "invitation_link", "invitation_page", "invitation_revoke")

_GONE = (
    "This invitation link no longer opens anything: it was used, revoked, or has expired. Ask whoever invited you "
    "for a new one."
)


def _link_page(invitation_id: str) -> str:
    return f"/console/members/invitations/{invitation_id}/link"


@post("/members/invite", status_code=303, opt={"permission": "invitations:write"})
async def invitation_create(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    form = await request.form()
    email, role = str(form.get("email") or "").strip(), str(form.get("role") or "")
    try:
        made = await send_invitation(db_session, request.app.state, user.caller, email=email, role=role)
    except ValidationFailed as exc:
        return await members_page_for(
            request, db_session, user, errors=editor_errors(exc), status_code=422, email=email
        )
    except (Forbidden, Conflict) as exc:
        errors = [str(exc.detail)]
        return await members_page_for(
            request, db_session, user, errors=errors, status_code=exc.status_code, email=email
        )
    return await reveal_after_redirect(db_session, user, _link_page(made.id), Revealed(made.link))


@get("/members/invitations/{invitation_id:str}/link", opt={"permission": "invitations:write"})
async def invitation_link(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    invitation_id: FromPath[str],
) -> Response[Any]:
    found = next(
        (
            i
            for i in await invitations.list_pending(db_session, workspace_id=user.workspace_id)
            if i.id == invitation_id
        ),
        None,
    )
    if found is None:
        raise NotFound(f"no pending invitation {invitation_id}")
    mailed = request.app.state.mailer.configured
    shown = await page_revealing(
        request, user, _link_page(invitation_id), "new_invitation", invitation=found, mailed=mailed
    )
    return shown or Redirect("/console/members?done=invitation_shown", status_code=303)


@post("/members/invitations/{invitation_id:str}/revoke", status_code=303, opt={"permission": "invitations:write"})
async def invitation_revoke(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    invitation_id: FromPath[str],
) -> Response[Any]:
    try:
        await invitations.revoke_invitation(
            db_session, workspace_id=user.workspace_id, invitation_id=invitation_id, by=user.caller
        )
    except Forbidden as exc:
        return await members_page_for(request, db_session, user, errors=[str(exc.detail)], status_code=403)
    return Redirect("/console/members?done=invitation_revoked", status_code=303)


async def _open(request: Request[Any, Any, Any], token: str) -> invitations.OpenInvitation | None:
    db: Database = request.app.state.db
    async with db.session(write=False) as session:
        return await invitations.find_open(session, token)


def _accept_page(
    request: Request[Any, Any, Any], found: invitations.OpenInvitation, status: int = 200, **context: Any
) -> Template:
    context = {"errors": [], "their_name": "", **context}
    return page(
        request,
        "invitation",
        None,
        status_code=status,
        found=found,
        min_length=passwords.MIN_LENGTH,
        **context,
    )


def _gone(request: Request[Any, Any, Any]) -> Template:
    return page(request, "message", None, status_code=404, heading="Invitation not valid", message=_GONE)


@get("/invitations/{token:str}", opt={"permission": PUBLIC})
async def invitation_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
    found = await _open(request, token)
    return _accept_page(request, found) if found is not None else _gone(request)


@post("/invitations/{token:str}", status_code=303, opt={"permission": PUBLIC})
async def invitation_accept(
    request: Request[Any, Any, Any], token: FromPath[str], app_settings: NamedDependency[Settings]
) -> Response[Any]:
    """A new account (name and password), or an account the address has already (its password), joins."""
    found = await _open(request, token)
    if found is None:
        return _gone(request)
    if not same_origin(request, app_settings):
        return _accept_page(request, found, 403, errors=["Accept the invitation from this page."])
    form = await request.form()
    password = str(form.get("password") or "")[:1_024]
    if found.has_account:
        return await _join(request, app_settings, found, token, password)
    return await _make_account(request, app_settings, found, token, str(form.get("name") or ""), password)


async def _make_account(
    request: Request[Any, Any, Any],
    settings: Settings,
    found: invitations.OpenInvitation,
    token: str,
    typed_name: str,
    password: str,
) -> Response[Any]:
    name = " ".join(typed_name.split())[:200]
    if not name or "\x00" in name:
        return _accept_page(request, found, 422, errors=["Give your name: your team sees it beside your changes."])
    try:
        passwords.check_new_password(password, email=found.invitation.email)
    except ValidationFailed as exc:
        return _accept_page(request, found, 422, errors=editor_errors(exc), their_name=name)
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    db: Database = request.app.state.db
    client = REQUEST_CLIENT.get() or "unknown"
    try:
        async with db.session(write=True) as session:
            made = await invitations.accept_as_new(session, token=token, name=name, password_hash=hashed)
            if made is None:
                return _gone(request)
            member_id, workspace_id = made
            cookie_token = await sessions.open_session(
                session,
                member_id=member_id,
                workspace_id=workspace_id,
                lifetime_seconds=settings.console_session_seconds,
                user_agent=request.headers.get("user-agent"),
                address=truncated_ip(client),
            )
            await record_sign_in(session, member_id=member_id, workspace_id=workspace_id)
    except Conflict:  # an account was made for the address meanwhile (rolled back: the link still works)
        joining = dataclasses.replace(found, has_account=True)
        return _accept_page(request, joining, 409, errors=["This address has an account now: sign in to join."])
    return Redirect("/console", status_code=303, cookies=[session_cookie(settings, cookie_token)])


async def _join(
    request: Request[Any, Any, Any],
    settings: Settings,
    found: invitations.OpenInvitation,
    token: str,
    password: str,
) -> Response[Any]:
    if not password or "\x00" in password:
        return _accept_page(request, found, 401, errors=[WRONG])
    try:
        signed_in = await sign_in(
            request.app.state.db,
            request.app.state.sign_in_limiter,
            email=found.invitation.email,
            password=password,
            client=REQUEST_CLIENT.get() or "unknown",
            user_agent=request.headers.get("user-agent"),
            lifetime_seconds=settings.console_session_seconds,
            invitation=token,
        )
    except RateLimited as exc:
        wait = f"Too many attempts to sign in. Wait {exc.retry_after} seconds, then try again."
        return _accept_page(request, found, 429, errors=[wait])
    except NotFound:
        return _gone(request)
    if signed_in is None:
        return _accept_page(request, found, 401, errors=[WRONG])
    return signed_in_redirect(settings, signed_in, None)
