"""Forgot your password: a reset link by mail, the same answer for every address, and the page the link opens.

Without SMTP configured nothing can be mailed: the page says so, and that an operator resets a password from the
command line (``leadwire member reset-password``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from console.messages import editor_errors
from console.pages import PUBLIC, page
from console.session import same_origin
from core.client_ip import REQUEST_CLIENT, rate_limit_subject
from core.errors import RateLimited, ValidationFailed
from core.settings import Settings
from workspaces import passwords, resets

if TYPE_CHECKING:
    from core.database import Database
    from core.mail import Mailer

__all__ = ("forgot_password", "forgot_password_page", "reset_password", "reset_password_page")

_LONGEST_ADDRESS = 254
_GONE = "This link no longer works: it was used, or an hour has passed. Ask for another on the sign-in page."


def _forgot(request: Request[Any, Any, Any], status: int = 200, **context: Any) -> Template:
    mailer: Mailer = request.app.state.mailer
    headers = {"Retry-After": str(context.pop("retry_after"))} if "retry_after" in context else None
    context = {"error": None, "email": "", **context}
    return page(
        request, "forgot_password", None, status_code=status, headers=headers, mailed=mailer.configured, **context
    )


@get("/forgot-password", opt={"permission": PUBLIC})
async def forgot_password_page(request: Request[Any, Any, Any]) -> Template:
    return _forgot(request)


@post("/forgot-password", status_code=303, opt={"permission": PUBLIC})
async def forgot_password(request: Request[Any, Any, Any], app_settings: NamedDependency[Settings]) -> Response[Any]:
    """One answer for every address, at once: the link (if any) is made and mailed in the background."""
    mailer: Mailer = request.app.state.mailer
    if not mailer.configured:
        return _forgot(request)
    email = str((await request.form()).get("email") or "").strip()
    shown = email[:254] if email.isprintable() else ""
    if not same_origin(request, app_settings):
        return _forgot(request, 403, error="Ask for a link from this page.", email=shown)
    if not email or len(email) > _LONGEST_ADDRESS or "\x00" in email:
        return _forgot(request, 422, error="Type the email address you sign in with.", email=shown)
    try:
        await request.app.state.sign_in_limiter.check_reset(
            account=" ".join(email.split()).lower(), client=rate_limit_subject(REQUEST_CLIENT.get() or "unknown")
        )
    except RateLimited as exc:
        wait = f"Too many requests for a link. Wait {exc.retry_after} seconds, then try again."
        return _forgot(request, 429, error=wait, email=shown, retry_after=exc.retry_after)
    db: Database = request.app.state.db
    base = app_settings.public_base_url
    mailer.in_background(
        lambda: resets.request_reset(db, mailer, email=email, base_url=base), what="a password reset's mail"
    )
    return Redirect("/console/forgot-password?done=reset_sent", status_code=303)


def _reset_page(request: Request[Any, Any, Any], status: int = 200, errors: list[str] | None = None) -> Template:
    return page(
        request, "reset_password", None, status_code=status, errors=errors or [], min_length=passwords.MIN_LENGTH
    )


def _gone(request: Request[Any, Any, Any]) -> Template:
    return page(request, "message", None, status_code=404, heading="Link not valid", message=_GONE)


@get("/reset-password/{token:str}", opt={"permission": PUBLIC})
async def reset_password_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
    db: Database = request.app.state.db
    async with db.session(write=False) as session:
        member = await resets.find_reset(session, token)
    return _reset_page(request) if member is not None else _gone(request)


@post("/reset-password/{token:str}", status_code=303, opt={"permission": PUBLIC})
async def reset_password(
    request: Request[Any, Any, Any], token: FromPath[str], app_settings: NamedDependency[Settings]
) -> Response[Any]:
    """The new password, checked as any new password is; every session of the member ends."""
    db: Database = request.app.state.db
    async with db.session(write=False) as session:
        member = await resets.find_reset(session, token)
    if member is None:
        return _gone(request)
    if not same_origin(request, app_settings):
        return _reset_page(request, 403, ["Choose your password on this page."])
    password = str((await request.form()).get("password") or "")[:1_024]
    try:
        passwords.check_new_password(password, email=member.email)
    except ValidationFailed as exc:
        return _reset_page(request, 422, editor_errors(exc))
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    async with db.session(write=True) as session:
        used = await resets.use_reset(session, token=token, password_hash=hashed)
    if used is None:
        return _gone(request)
    return Redirect("/console/sign-in?done=password_reset", status_code=303)
