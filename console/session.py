"""Console sessions: a signed, HttpOnly, SameSite=Strict cookie naming the API key that signed in.

The cookie holds the key's id, never the key. Every request checks that the key is still live, so revoking it ends
its sessions at once; sessions also end after ``LEADWIRE_CONSOLE_SESSION_SECONDS``. Every POST carries the session's
CSRF token in a hidden field and, when the browser sends one, an ``Origin`` of our own.

A new secret (a signing secret, an API key) crosses one redirect (post, redirect, get) in a second cookie that only
its own page receives and that page clears, so that reloading the page that shows it posts nothing again.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from litestar.datastructures import Cookie
from sqlalchemy import select

from core.errors import LeadwireError
from workspaces.models import ApiKey, Workspace
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from litestar import Request
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.settings import Settings

__all__ = (
    "COOKIE",
    "REVEAL_COOKIE",
    "ConsoleUser",
    "CsrfFailed",
    "Revealed",
    "SignInRequired",
    "check_post",
    "clear_cookie",
    "load_user",
    "reveal_cookie",
    "same_origin",
    "session_cookie",
    "take_reveal",
)

COOKIE = "leadwire_console"
_SALT = "leadwire.console.session"
REVEAL_COOKIE = "leadwire_console_reveal"
_REVEAL_SALT = "leadwire.console.reveal"
_REVEAL_SECONDS = 120  # from the post that made a secret to the page that shows it: one redirect


class SignInRequired(LeadwireError):
    """No session, an expired one, or one whose key was revoked: the console sends the browser to sign in."""

    status_code = 401
    title = "Sign in"
    slug = "sign-in"


class CsrfFailed(LeadwireError):
    status_code = 403
    title = "Forbidden"
    slug = "csrf"


@dataclass(frozen=True)
class ConsoleUser:
    workspace_id: str
    workspace_name: str
    api_key_id: str
    csrf: str

    @property
    def caller(self) -> Caller:
        """The same caller the admin API would see for this key: services and the audit log take it."""
        return Caller(workspace_id=self.workspace_id, api_key_id=self.api_key_id)


@dataclass(frozen=True)
class Revealed:
    """A new secret (an endpoint's signing secret, an API key) on its way to the one page that shows it."""

    value: str
    previous_expires: str | None = None  # after a rotation: until when the previous secret still signs


def _serializer(settings: Settings, salt: str = _SALT) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=salt)


def session_cookie(settings: Settings, *, workspace_id: str, api_key_id: str) -> Cookie:
    """A new session for the key: a fresh CSRF token, signed with the time it was made."""
    value = _serializer(settings).dumps({"w": workspace_id, "k": api_key_id, "c": secrets.token_urlsafe(24)})
    return _cookie(settings, value, max_age=settings.console_session_seconds)


def clear_cookie(settings: Settings) -> Cookie:
    """The same cookie, emptied and expired: the browser drops it."""
    return _cookie(settings, "", max_age=0)


def reveal_cookie(settings: Settings, user: ConsoleUser, path: str, revealed: Revealed | None) -> Cookie:
    """The cookie that carries ``revealed`` to the page at ``path``, and only there (signed, bound to this
    session's key and to the path; for ``None``, the same cookie expired)."""
    value = ""
    if revealed is not None:
        value = _serializer(settings, _REVEAL_SALT).dumps(
            {"k": user.api_key_id, "p": path, "v": revealed.value, "x": revealed.previous_expires}
        )
    # No Max-Age on the way there: a session cookie, which browsers keep in memory rather than write to disk (the
    # signature's age still limits it to _REVEAL_SECONDS).
    return _cookie(settings, value, max_age=None if revealed else 0, key=REVEAL_COOKIE, path=path)


def take_reveal(request: Request[Any, Any, Any], settings: Settings, user: ConsoleUser, path: str) -> Revealed | None:
    """What this browser was sent to see on the page at ``path``, if it is still on its way and was made with this
    session's key; the page then clears the cookie with :func:`reveal_cookie`."""
    raw = request.cookies.get(REVEAL_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(settings, _REVEAL_SALT).loads(raw, max_age=_REVEAL_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") != user.api_key_id or data.get("p") != path:
        return None
    value, expires = data.get("v"), data.get("x")
    if not isinstance(value, str) or not (expires is None or isinstance(expires, str)):
        return None
    return Revealed(value=value, previous_expires=expires)


def _cookie(
    settings: Settings, value: str, *, max_age: int | None, key: str = COOKIE, path: str = "/console"
) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=path,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=settings.public_base_url.startswith("https://"),
    )


async def load_user(request: Request[Any, Any, Any], session: AsyncSession, settings: Settings) -> ConsoleUser:
    """The signed-in user of this request.

    Raises:
        SignInRequired: No cookie, a forged or expired one, or its key has been revoked.
    """
    raw = request.cookies.get(COOKIE)
    if not raw:
        raise SignInRequired("sign in with an API key")
    try:
        data = _serializer(settings).loads(raw, max_age=settings.console_session_seconds)
    except BadSignature as exc:  # SignatureExpired is a BadSignature
        raise SignInRequired("your session has ended; sign in again") from exc
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("w", "k", "c")):
        raise SignInRequired("sign in with an API key")
    row = (
        await session.execute(
            select(ApiKey.id, Workspace.name)
            .join(Workspace, Workspace.id == ApiKey.workspace_id)
            .where(ApiKey.id == data["k"], ApiKey.workspace_id == data["w"], ApiKey.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        raise SignInRequired("the key you signed in with has been revoked")
    return ConsoleUser(workspace_id=data["w"], workspace_name=row[1], api_key_id=data["k"], csrf=data["c"])


def same_origin(request: Request[Any, Any, Any], settings: Settings) -> bool:
    """No ``Origin`` (or ``Referer``) at all, or one of our own."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent or sent == "null":
        return sent is None
    own = urlsplit(settings.public_base_url)
    theirs = urlsplit(sent)
    return (theirs.scheme, theirs.netloc) == (own.scheme, own.netloc)


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
