"""Your account's second factors: an authenticator app (set up with a QR code drawn here and confirmed with a first
code; turned off with the password), its recovery codes (shown once), and passkeys (``passkey_pages``). Each change
ends the member's other sessions. These pages are open to a member who must set up a second factor."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.pages import MFA_SETUP, page, page_revealing, reveal_after_redirect
from console.session import ConsoleUser
from workspaces import mfa, passkeys, passwords, totp
from workspaces.factors import factors_of
from workspaces.models import Member
from workspaces.sessions import Revealed

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = (
    "RECOVERY_CODES_PAGE",
    "mfa_page",
    "mfa_page_for",
    "recovery_codes",
    "totp_confirm",
    "totp_disable",
    "totp_setup",
    "totp_start",
)

_SETUP = {"permission": "account", MFA_SETUP: True}
RECOVERY_CODES_PAGE = "/console/account/recovery-codes"


async def _member(session: AsyncSession, user: ConsoleUser) -> Member:
    member = await session.get(Member, user.member_id)
    assert member is not None  # the guard found the session's member a moment ago
    return member


async def mfa_page_for(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    user: ConsoleUser,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Template:
    member = await _member(session, user)
    settings: Settings = request.app.state.settings
    return page(
        request,
        "mfa",
        user,
        status_code=status_code,
        errors=errors or [],
        factors=factors_of(member.mfa),
        passkeys=await passkeys.list_passkeys(session, member_id=user.member_id),
        passkeys_possible=passkeys.RelyingParty.of(settings.public_base_url).possible,
    )


@get("/account/mfa", opt=_SETUP)
async def mfa_page(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    return await mfa_page_for(request, db_session, user)


@post("/account/totp", status_code=303, opt=_SETUP)
async def totp_start(db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]) -> Redirect:
    """A new secret for an authenticator app, shown on the next page until it is confirmed with a code."""
    await mfa.start_totp(db_session, member_id=user.member_id)
    return Redirect("/console/account/totp", status_code=303)


async def _setup_page(
    request: Request[Any, Any, Any], user: ConsoleUser, secret: str, *, error: str | None = None, status: int = 200
) -> Template:
    uri = totp.provisioning_uri(secret, account=user.email)
    qr = totp.qr_svg(uri, title=f"QR code of the authenticator app's secret for {user.email}")
    return page(request, "totp_setup", user, status_code=status, qr=qr, secret=totp.grouped(secret), error=error)


@get("/account/totp", opt=_SETUP)
async def totp_setup(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    secret = await mfa.pending_totp(db_session, member_id=user.member_id)
    if secret is None:
        return Redirect("/console/account/mfa", status_code=303)
    return await _setup_page(request, user, secret)


@post("/account/totp/confirm", status_code=303, opt=_SETUP)
async def totp_confirm(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    """The app's first code turns it on: this session counts as having given its second factor, the member's other
    sessions end, and ten recovery codes are shown once."""
    code = str((await request.form()).get("code") or "")[:64]
    codes = await mfa.confirm_totp(
        db_session, member_id=user.member_id, code=code, session_id=user.session_id, actor=user.caller.actor
    )
    if codes is None:
        secret = await mfa.pending_totp(db_session, member_id=user.member_id)
        if secret is None:
            return Redirect("/console/account/mfa", status_code=303)
        error = "That code is not right. Type the six digits your app shows now."
        return await _setup_page(request, user, secret, error=error, status=422)
    return await reveal_after_redirect(db_session, user, RECOVERY_CODES_PAGE, Revealed("\n".join(codes)))


@get("/account/recovery-codes", opt=_SETUP)
async def recovery_codes(request: Request[Any, Any, Any], user: NamedDependency[ConsoleUser]) -> Response[Any]:
    shown = await page_revealing(request, user, RECOVERY_CODES_PAGE, "recovery_codes")
    return shown or Redirect("/console/account/mfa?done=codes_shown", status_code=303)


@post("/account/totp/disable", status_code=303, opt={"permission": "account"})
async def totp_disable(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    """Turn the authenticator app off, given the member's password; their other sessions end."""
    password = str((await request.form()).get("password") or "")[:1_024]
    member = await _member(db_session, user)
    if not await asyncio.to_thread(passwords.verify_password, member.password_hash, password):
        errors = ["Your password is not right: the authenticator app stays on."]
        return await mfa_page_for(request, db_session, user, errors=errors, status_code=422)
    await mfa.disable_totp(db_session, member_id=user.member_id, session_id=user.session_id, actor=user.caller.actor)
    return Redirect("/console/account/mfa?done=totp_disabled", status_code=303)
