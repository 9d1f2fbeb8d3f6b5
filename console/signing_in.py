"""Signing in with email and password, and signing out, here or in every browser at once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.pages import MFA_SETUP, PUBLIC, SECOND_STEP, page
from console.session import ConsoleUser, clear_cookie, same_origin, session_cookie, wrong_address
from core.client_ip import REQUEST_CLIENT
from core.errors import RateLimited
from core.settings import Settings
from workspaces import sessions as console_sessions
from workspaces.passkeys import RelyingParty
from workspaces.sign_in import SignedIn
from workspaces.sign_in import sign_in as open_member_session

__all__ = (
    "VERIFY_PAGE",
    "next_page",
    "sign_in",
    "sign_in_page",
    "sign_out",
    "sign_out_everywhere",
    "signed_in_redirect",
)

VERIFY_PAGE = "/console/sign-in/verify"
"""The page of the second step of signing in."""

_LONGEST_PASSWORD = 1_024  # characters read at all; a longer one cannot be right (passwords.MAX_LENGTH is 128)
WRONG = "That email and password do not match an account that can sign in here."
"""The one answer to every failed sign-in: unknown address, wrong password, disabled account alike."""


@get("/sign-in", name="console:sign-in", opt={"permission": PUBLIC})
async def sign_in_page(request: Request[Any, Any, Any]) -> Template:
    settings: Settings = request.app.state.settings
    return page(
        request,
        "sign_in",
        None,
        error=wrong_address(request, settings),
        next=next_page(request),
        email="",
        passkeys_possible=RelyingParty.of(settings.public_base_url).possible,
    )


@post("/sign-in", status_code=303, opt={"permission": PUBLIC})
async def sign_in(request: Request[Any, Any, Any], app_settings: NamedDependency[Settings]) -> Response[Any]:
    form = await request.form()
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    wanted = next_page(request)
    shown = email[:254] if email.isprintable() else ""

    def again(status: int, error: str, headers: dict[str, str] | None = None) -> Template:
        return page(
            request,
            "sign_in",
            None,
            status_code=status,
            headers=headers,
            error=error,
            next=wanted,
            email=shown,
            passkeys_possible=RelyingParty.of(app_settings.public_base_url).possible,
        )

    if not same_origin(request, app_settings):
        return again(403, wrong_address(request, app_settings) or "Sign in from this page.")
    if not email or not password or "\x00" in email + password or len(password) > _LONGEST_PASSWORD:
        return again(401, WRONG)
    try:
        signed_in = await open_member_session(
            request.app.state.db,
            request.app.state.sign_in_limiter,
            email=email,
            password=password,
            client=REQUEST_CLIENT.get() or "unknown",
            user_agent=request.headers.get("user-agent"),
            lifetime_seconds=app_settings.console_session_seconds,
        )
    except RateLimited as exc:
        wait = f"Too many attempts to sign in. Wait {exc.retry_after} seconds, then try again."
        return again(429, wait, {"Retry-After": str(exc.retry_after)})
    if signed_in is None:
        return again(401, WRONG)
    return signed_in_redirect(app_settings, signed_in, wanted)


def signed_in_redirect(settings: Settings, signed_in: SignedIn, wanted: str | None) -> Redirect:
    """To the page asked for (or the dashboard) with the new session's cookie; first to the second step of signing
    in when the member has a second factor."""
    cookie = session_cookie(settings, signed_in.token)
    if signed_in.second_factor_pending:
        target = VERIFY_PAGE + (f"?{urlencode({'next': wanted})}" if wanted else "")
        return Redirect(target, status_code=303, cookies=[cookie])
    return Redirect(wanted or "/console", status_code=303, cookies=[cookie])


def next_page(request: Request[Any, Any, Any]) -> str | None:
    """Where to go after signing in: a console page only (never another site, nor ``//host``)."""
    wanted = request.query_params.get("next") or ""
    if wanted.startswith("/console/") and "//" not in wanted and "\\" not in wanted and wanted.isprintable():
        return wanted
    return None


@post("/sign-out", status_code=303, opt={"permission": "account", SECOND_STEP: True})
async def sign_out(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Redirect:
    await console_sessions.end_session(db_session, user.session_id)
    return Redirect("/console/sign-in?done=signed_out", status_code=303, cookies=[clear_cookie(app_settings)])


@post("/sign-out-everywhere", status_code=303, opt={"permission": "account", MFA_SETUP: True})
async def sign_out_everywhere(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Redirect:
    """Every session of the member ends, in every browser and workspace, this one included."""
    await console_sessions.end_member_sessions(
        db_session, member_id=user.member_id, workspace_id=user.workspace_id, actor=user.caller.actor
    )
    return Redirect(
        "/console/sign-in?done=signed_out_everywhere", status_code=303, cookies=[clear_cookie(app_settings)]
    )
