"""Console sessions: an HttpOnly, SameSite=Strict cookie carrying the signed token of a session kept on the server.

The session's row (``workspaces.sessions``) names the member who signed in and the workspace they are working in; the
cookie holds nothing worth reading. Every request checks that the session is still open, its member still in the
workspace and not disabled, and reads their role there now, so signing out, ending the session from elsewhere,
removal or a new role take effect at once; it also ends after ``LEADWIRE_CONSOLE_IDLE_SECONDS`` without a request
and ``LEADWIRE_CONSOLE_SESSION_SECONDS`` after sign-in. Every POST carries the session's CSRF token in a hidden field
and, when the browser sends one, an ``Origin`` of our own.

A new secret (a signing secret, an API key) crosses one redirect (post, redirect, get) encrypted in the session's
row, and the page that shows it takes it out in the same transaction, so that a reload or a replay shows nothing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, Signer
from litestar.datastructures import Cookie

from core.database import utcnow
from core.errors import LeadwireError
from workspaces import sessions
from workspaces.roles import ROLES, Role, role_allows
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from litestar import Request
    from litestar.connection import ASGIConnection
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.settings import Settings

__all__ = (
    "COOKIE",
    "ConsoleUser",
    "CsrfFailed",
    "MfaSetupRequired",
    "SecondFactorRequired",
    "SignInRequired",
    "check_post",
    "clear_cookie",
    "load_user",
    "same_origin",
    "session_cookie",
    "wrong_address",
)

COOKIE = "leadwire_console"
_SALT = "leadwire.console.session-token"
_TOUCH_AFTER = timedelta(seconds=60)  # ``last_seen_at`` is written at most this often


class SignInRequired(LeadwireError):
    """No session, or one that has ended (signed out, expired, idle too long, its member removed): the console sends
    the browser to sign in."""

    status_code = 401
    title = "Sign in"
    slug = "sign-in"


class SecondFactorRequired(LeadwireError):
    """The session waits for the member's second factor: the console sends the browser to that step of signing in."""

    status_code = 401
    title = "Sign in"
    slug = "sign-in"


class MfaSetupRequired(LeadwireError):
    """The workspace requires a second factor and the member has none: the console sends them to set one up."""

    status_code = 403
    title = "Forbidden"
    slug = "forbidden"


class CsrfFailed(LeadwireError):
    status_code = 403
    title = "Forbidden"
    slug = "csrf"


@dataclass(frozen=True)
class ConsoleUser:
    session_id: str
    workspace_id: str
    workspace_name: str
    member_id: str
    member_name: str
    email: str
    role: str
    csrf: str
    last_seen_at: datetime
    second_factor_pending: bool = False
    """The member has a second factor and has not given it in this session yet."""
    mfa_setup_required: bool = False
    """The workspace requires a second factor and the member has none."""

    @property
    def caller(self) -> Caller:
        """The member as services and the audit log take them: their role in this workspace, now."""
        return Caller(workspace_id=self.workspace_id, role=_role(self.role), member_id=self.member_id)

    def can(self, permission: str) -> bool:
        """Whether the member's role allows ``permission`` (pages show only what it does)."""
        return role_allows(self.role, permission)

    @property
    def seen_long_ago(self) -> bool:
        """Whether ``last_seen_at`` is old enough to be written again."""
        return utcnow() - self.last_seen_at >= _TOUCH_AFTER

    @classmethod
    def of(cls, live: sessions.LiveSession) -> ConsoleUser:
        return cls(
            live.id,
            live.workspace_id,
            live.workspace_name,
            live.member_id,
            live.member_name,
            live.email,
            live.role,
            live.csrf,
            live.last_seen_at,
            live.second_factor_pending,
            live.mfa_setup_required,
        )


def _role(stored: str) -> Role:
    return next((role for role in ROLES if role == stored), "viewer")


def _signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, salt=_SALT)


def session_cookie(settings: Settings, token: str) -> Cookie:
    """The cookie that carries a new session's token (signed, so that a made-up one is refused unread)."""
    value = _signer(settings).sign(token).decode("ascii")
    return _cookie(settings, value, max_age=settings.console_session_seconds)


def clear_cookie(settings: Settings) -> Cookie:
    """The same cookie, emptied and expired: the browser drops it."""
    return _cookie(settings, "", max_age=0)


def _cookie(settings: Settings, value: str, *, max_age: int) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        path="/console",
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=settings.public_base_url.startswith("https://"),
    )


async def load_user(
    request: ASGIConnection[Any, Any, Any, Any], session: AsyncSession, settings: Settings
) -> ConsoleUser:
    """The signed-in user of this request.

    Raises:
        SignInRequired: No cookie, a forged one, or its session has ended.
    """
    raw = request.cookies.get(COOKIE)
    if not raw:
        raise SignInRequired("sign in with your email and password")
    try:
        token = _signer(settings).unsign(raw).decode("ascii")
    except (BadSignature, UnicodeError) as exc:
        raise SignInRequired("sign in with your email and password") from exc
    live = await sessions.find_session(session, token, idle_seconds=settings.console_idle_seconds)
    if live is None:
        raise SignInRequired("your session has ended; sign in again")
    return ConsoleUser.of(live)


def same_origin(request: Request[Any, Any, Any], settings: Settings) -> bool:
    """No ``Origin`` (or ``Referer``) at all, or one of our own."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent or sent == "null":
        return sent is None
    own = urlsplit(settings.public_base_url)
    theirs = urlsplit(sent)
    return (theirs.scheme, theirs.netloc) == (own.scheme, own.netloc)


_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def wrong_address(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    """Why signing in here cannot work, when the browser reached this server under a name other than its public
    address (``localhost`` against ``127.0.0.1``, say): the session cookie and the same-origin check belong to the
    public address. ``None`` when the address is right, or when the request came from another site altogether."""
    own = urlsplit(settings.public_base_url)
    host = request.headers.get("host", "")
    sent = request.headers.get("origin")
    if sent:
        theirs = urlsplit(sent)
        # The browser is on this very server (its Origin names the Host it sent to), under the wrong name.
        if theirs.netloc != host or (theirs.scheme, theirs.netloc) == (own.scheme, own.netloc):
            return None
        here = f"{theirs.scheme}://{theirs.netloc}"
    else:
        # No Origin on a GET: warn only between loopback names, where a proxy cannot be rewriting Host.
        hostname = urlsplit(f"//{host}").hostname
        if host == own.netloc or hostname not in _LOOPBACK_NAMES or own.hostname not in _LOOPBACK_NAMES:
            return None
        here = f"{own.scheme}://{host}"
    public = f"{own.scheme}://{own.netloc}"
    return (
        f"You opened the console at {here}, but this server's public address (LEADWIRE_PUBLIC_BASE_URL) is "
        f"{public}, and signing in works only there. Open {public}/console/sign-in, or set LEADWIRE_PUBLIC_BASE_URL "
        f"to {here}."
    )


async def check_post(request: Request[Any, Any, Any], user: ConsoleUser, settings: Settings) -> None:
    """A POST must come from our own page, carrying the session's token, and hold nothing the database refuses.

    Raises:
        CsrfFailed: Another origin, a missing or wrong token, or a NUL character in a value.
    """
    form = await request.form()
    token = str(form.get("csrf") or "")
    if not same_origin(request, settings) or not hmac.compare_digest(token.encode(), user.csrf.encode()):
        raise CsrfFailed("this form has expired or came from another site; go back, reload and try again")
    if any("\x00" in str(value) for _, value in form.multi_items()):
        raise CsrfFailed("the form holds a NUL character, which cannot be stored; remove it and try again")
