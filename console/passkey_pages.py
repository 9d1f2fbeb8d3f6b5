"""Passkeys in the console: the JSON the browser's script (``static/passkeys.js``) asks for and answers with, to add a
passkey from "Your account", to give one as the second step of signing in, and to sign in with one and no password;
removing one (with the password). Each ceremony's options come from one POST, the browser's answer goes to another."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from console.mfa_pages import RECOVERY_CODES_PAGE, mfa_page_for
from console.pages import MFA_SETUP, PUBLIC, SECOND_STEP
from console.session import ConsoleUser, same_origin, session_cookie
from console.signing_in import next_page
from core.client_ip import REQUEST_CLIENT, rate_limit_subject, truncated_ip
from core.errors import BadRequest, Forbidden, LeadwireError, RateLimited
from core.settings import Settings
from workspaces import members, passkeys, passwords, sessions
from workspaces.models import Member
from workspaces.passkeys import PasskeyRefused, RelyingParty
from workspaces.service import record_audit
from workspaces.sessions import Revealed, stash_reveal
from workspaces.sign_in import record_sign_in

if TYPE_CHECKING:
    from core.database import Database

__all__ = (
    "passkey_add",
    "passkey_add_options",
    "passkey_remove",
    "passkey_second_factor",
    "passkey_second_factor_options",
    "passkey_sign_in",
    "passkey_sign_in_options",
)

_ACCOUNT = {"permission": "account", MFA_SETUP: True}
_STEP = {"permission": "account", SECOND_STEP: True}
_NO_STORE = {"Cache-Control": "no-store"}


def _json(body: Any, status: int = 200, **kwargs: Any) -> Response[bytes]:
    content = body.encode() if isinstance(body, str) else msgspec.json.encode(body)
    return Response(content, status_code=status, media_type="application/json", headers=_NO_STORE, **kwargs)


def _refused(error: LeadwireError) -> Response[bytes]:
    """A problem document (``detail`` says why, in words the script shows the person)."""
    headers = {**_NO_STORE, **error.headers}
    body = msgspec.json.encode(error.to_problem())
    return Response(body, status_code=error.status_code, media_type="application/problem+json", headers=headers)


def _rp(settings: Settings) -> RelyingParty:
    return RelyingParty.of(settings.public_base_url)


def _credential(form: Any) -> str:
    return str(form.get("credential") or "")[:65_536]


@post("/account/passkeys/options", status_code=200, opt=_ACCOUNT)
async def passkey_add_options(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Response[bytes]:
    member = await db_session.get(Member, user.member_id)
    assert member is not None  # the guard found the session's member a moment ago
    options = await passkeys.registration_options(
        db_session, member=member, session_id=user.session_id, rp=_rp(app_settings)
    )
    return _json(options)


@post("/account/passkeys", status_code=200, opt=_ACCOUNT)
async def passkey_add(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Response[bytes]:
    """The passkey the browser made: kept, and where to go next (the recovery codes, when they are new)."""
    form = await request.form()
    try:
        _, codes = await passkeys.register(
            db_session,
            member_id=user.member_id,
            session_id=user.session_id,
            credential=_credential(form),
            name=str(form.get("name") or "").strip()[:100],
            rp=_rp(app_settings),
            actor=user.caller.actor,
        )
    except PasskeyRefused as exc:
        return _refused(BadRequest(str(exc)))
    if codes is not None:
        await stash_reveal(db_session, user.session_id, path=RECOVERY_CODES_PAGE, revealed=Revealed("\n".join(codes)))
        return _json({"redirect": RECOVERY_CODES_PAGE})
    return _json({"redirect": "/console/account/mfa?done=passkey_added"})


@post("/account/passkeys/{passkey_id:str}/remove", status_code=303, opt={"permission": "account"})
async def passkey_remove(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    passkey_id: FromPath[str],
) -> Response[Any]:
    """Remove one of your passkeys, given your password; your other sessions end."""
    password = str((await request.form()).get("password") or "")[:1_024]
    member = await db_session.get(Member, user.member_id)
    assert member is not None
    if not await asyncio.to_thread(passwords.verify_password, member.password_hash, password):
        errors = ["Your password is not right: the passkey stays."]
        return await mfa_page_for(request, db_session, user, errors=errors, status_code=422)
    await passkeys.remove_passkey(
        db_session, member_id=user.member_id, passkey_id=passkey_id, session_id=user.session_id, actor=user.caller.actor
    )
    return Redirect("/console/account/mfa?done=passkey_removed", status_code=303)


@post("/sign-in/verify/passkey/options", status_code=200, opt=_STEP)
async def passkey_second_factor_options(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Response[bytes]:
    options = await passkeys.authentication_options(
        db_session, rp=_rp(app_settings), purpose="second-factor", session_id=user.session_id, member_id=user.member_id
    )
    return _json(options)


@post("/sign-in/verify/passkey", status_code=200, opt=_STEP)
async def passkey_second_factor(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Response[bytes]:
    """One of the member's passkeys as the second step of signing in."""
    try:
        await request.app.state.sign_in_limiter.check_second_factor(user.member_id)
        await passkeys.authenticate(
            db_session,
            credential=_credential(await request.form()),
            rp=_rp(app_settings),
            purpose="second-factor",
            session_id=user.session_id,
            member_id=user.member_id,
        )
    except RateLimited as exc:
        return _refused(RateLimited(exc.retry_after, f"too many tries; wait {exc.retry_after} seconds"))
    except PasskeyRefused as exc:
        await record_audit(
            db_session,
            workspace_id=user.workspace_id,
            actor="anonymous",
            action="member.second_factor_failed",
            target_type="member",
            target_id=user.member_id,
            details={"method": "passkey"},
        )
        return _refused(BadRequest(str(exc)))
    await sessions.mark_second_factor(db_session, user.session_id)
    await record_sign_in(db_session, member_id=user.member_id, workspace_id=user.workspace_id, method="passkey")
    return _json({"redirect": next_page(request) or "/console"})


async def _anonymous_attempt(request: Request[Any, Any, Any], settings: Settings) -> Response[bytes] | None:
    """Why a sign-in with a passkey cannot be tried now (another site, too many tries from here), or ``None``."""
    if not same_origin(request, settings):
        return _refused(Forbidden("sign in from this server's own sign-in page"))
    try:
        await request.app.state.sign_in_limiter.check_address(rate_limit_subject(REQUEST_CLIENT.get() or "unknown"))
    except RateLimited as exc:
        wait = f"too many attempts to sign in; wait {exc.retry_after} seconds"
        return _refused(RateLimited(exc.retry_after, wait))
    return None


@post("/sign-in/passkey/options", status_code=200, opt={"permission": PUBLIC})
async def passkey_sign_in_options(
    request: Request[Any, Any, Any], app_settings: NamedDependency[Settings]
) -> Response[bytes]:
    refused = await _anonymous_attempt(request, app_settings)
    if refused is not None:
        return refused
    db: Database = request.app.state.db
    async with db.session(write=True) as session:
        options = await passkeys.authentication_options(
            session, rp=_rp(app_settings), purpose="sign-in", session_id=None, member_id=None
        )
    return _json(options)


@post("/sign-in/passkey", status_code=200, opt={"permission": PUBLIC})
async def passkey_sign_in(request: Request[Any, Any, Any], app_settings: NamedDependency[Settings]) -> Response[bytes]:
    """Signing in with a passkey alone: it proves both factors (something held, and the person, verified by it)."""
    refused = await _anonymous_attempt(request, app_settings)
    if refused is not None:
        return refused
    credential = _credential(await request.form())
    db: Database = request.app.state.db
    client = REQUEST_CLIENT.get() or "unknown"
    async with db.session(write=True) as session:
        try:
            member_id = await passkeys.authenticate(
                session, credential=credential, rp=_rp(app_settings), purpose="sign-in", session_id=None, member_id=None
            )
        except PasskeyRefused as exc:
            return _refused(BadRequest(str(exc)))
        member = await session.get(Member, member_id)
        workspaces = await members.workspaces_of(session, member_id)
        if member is None or member.disabled_at is not None or not workspaces:
            return _refused(BadRequest("this account cannot sign in here"))
        token = await sessions.open_session(
            session,
            member_id=member_id,
            workspace_id=workspaces[0][0],
            lifetime_seconds=app_settings.console_session_seconds,
            user_agent=request.headers.get("user-agent"),
            address=truncated_ip(client),
            second_factor_given=True,
        )
        await record_sign_in(session, member_id=member_id, workspace_id=workspaces[0][0], method="passkey")
    return _json({"redirect": next_page(request) or "/console"}, cookies=[session_cookie(app_settings, token)])
