"""Signing in with an API key and signing out, here or in every browser at once."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.pages import page
from console.session import ConsoleUser, clear_cookie, same_origin, session_cookie, wrong_address
from core.settings import Settings
from workspaces import service as workspaces
from workspaces import sessions as console_sessions

__all__ = ("sign_in", "sign_in_page", "sign_out", "sign_out_everywhere")


@get("/sign-in", name="console:sign-in")
async def sign_in_page(request: Request[Any, Any, Any]) -> Template:
    settings: Settings = request.app.state.settings
    return page(request, "sign_in", None, error=wrong_address(request, settings), next=_next(request))


@post("/sign-in", status_code=303)
async def sign_in(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], app_settings: NamedDependency[Settings]
) -> Response[Any]:
    form = await request.form()
    key = str(form.get("api_key") or "").strip()
    wanted = _next(request)
    if not same_origin(request, app_settings):
        error = wrong_address(request, app_settings) or "Sign in from this page."
        return page(request, "sign_in", None, status_code=403, error=error, next=wanted)
    caller = await workspaces.authenticate(db_session, key) if key and "\x00" not in key else None
    if caller is None:
        return page(request, "sign_in", None, status_code=401, error="That key is not a live API key.", next=wanted)
    token, _ = await console_sessions.open_session(
        db_session,
        caller=caller,
        lifetime_seconds=app_settings.console_session_seconds,
        user_agent=request.headers.get("user-agent"),
    )
    return Redirect(wanted or "/console", status_code=303, cookies=[session_cookie(app_settings, token)])


def _next(request: Request[Any, Any, Any]) -> str | None:
    """Where to go after signing in: a console page only (never another site, nor ``//host``)."""
    wanted = request.query_params.get("next") or ""
    if wanted.startswith("/console/") and "//" not in wanted and "\\" not in wanted and wanted.isprintable():
        return wanted
    return None


@post("/sign-out", status_code=303)
async def sign_out(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Redirect:
    await console_sessions.end_session(db_session, user.session_id)
    return Redirect("/console/sign-in?done=signed_out", status_code=303, cookies=[clear_cookie(app_settings)])


@post("/sign-out-everywhere", status_code=303)
async def sign_out_everywhere(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Redirect:
    """Every session of the workspace ends, in every browser, this one included."""
    await console_sessions.end_workspace_sessions(db_session, workspace_id=user.workspace_id, actor=user.caller.actor)
    return Redirect(
        "/console/sign-in?done=signed_out_everywhere", status_code=303, cookies=[clear_cookie(app_settings)]
    )
