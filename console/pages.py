"""What every console page shares: the signed-in user, the page's template and headers, notices, and small readers.

Every page declares the permission it needs (``opt={"permission": ...}``, ``workspaces.roles``; ``public`` for
signing in): the guard checks it against the member's role before anything else runs. Every page but sign-in needs
a session (``console.session``); every POST needs its CSRF token. A new secret (a signing secret, an API key) is
shown on one page, once, after a redirect (``reveal_after_redirect``, ``page_revealing``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

# Litestar reads ``provide_user``'s annotations when the app starts: these must exist at runtime.
from litestar import Request  # noqa: TC002
from litestar.di import NamedDependency  # noqa: TC002
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: TC002

from console.charts import Series
from console.session import ConsoleUser, MfaSetupRequired, SecondFactorRequired, check_post, load_user
from core.dependencies import SAFE_METHODS
from core.errors import Forbidden
from core.settings import Settings  # noqa: TC001  # as above
from forms import service as forms
from workspaces import sessions as console_sessions
from workspaces.auth import required_permission

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler

    from core.database import Database
    from forms.models import Form
    from workspaces.sessions import Revealed

__all__ = (
    "HEADERS",
    "MFA_SETUP",
    "OUTCOMES",
    "PAGE_SIZE",
    "SECOND_STEP",
    "VERDICTS",
    "forms_of",
    "page",
    "page_revealing",
    "provide_user",
    "require_permission",
    "reveal_after_redirect",
    "utc_day",
)

PAGE_SIZE = 25
"""Rows per page of the console's long lists (leads, deliveries, the audit log)."""
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
"""Sent with every console page: nothing cached, nothing framed, no script but our own."""
_NOTICES = {
    "test_sent": "A webhook.test event is on its way.",
    "retried": "The delivery will be sent again in a moment.",
    "not_retried": "Not sent again: it is already waiting for its next attempt, or its endpoint was deleted.",
    "erased": "The person's data was erased. Their consent history is kept, without personal data.",
    "withdrawn": "The consent is withdrawn, and the CRM endpoints are told (consent.withdrawn).",
    "saved": "Saved.",
    "created": "Form created. It is a draft: shape it below, then publish it.",
    "published": "Published: the public link and the snippet work now.",
    "archived": "Archived: the public link and the snippet no longer take submissions.",
    "enabled": "The endpoint is enabled.",
    "disabled": "The endpoint is disabled: nothing is sent to it until you enable it again.",
    "signed_out": "You have signed out.",
    "signed_out_everywhere": "Every one of your console sessions has ended, this one included. Sign in again.",
    "key_shown": "An API key is shown only once, and this one was. If it was not copied, revoke it and make another.",
    "key_revoked": "The key is revoked: it no longer opens the API.",
    "password_changed": "Your password is changed, and your other sessions have ended.",
    "session_ended": "That session has ended.",
    "reset_sent": "If an account exists for that address, a link is on its way. It works once, within an hour.",
    "password_reset": "Your new password is set, and every session of your account has ended. Sign in with it.",
    "switched": "You are now working in this workspace.",
    "mfa_needed": "This workspace requires a second factor of every member: set one up to continue.",
    "codes_shown": "Recovery codes are shown only once, and these were. If they were not kept, turn the app off and "
    "on again for new ones.",
    "totp_disabled": "The authenticator app is off, and your other sessions have ended.",
    "passkey_added": "The passkey is added, and your other sessions have ended.",
    "passkey_removed": "The passkey is removed, and your other sessions have ended.",
    "member_added": "The member is added.",
    "member_shown": "A one-time password is shown only once, and this one was. Reset it from the command line if it "
    "was not copied.",
    "role_changed": "The role is changed: it applies from their next request.",
    "invitation_shown": "An invitation's link is shown only once, and this one was. If it was not copied (and was not "
    "mailed), revoke it and invite again.",
    "invitation_revoked": "The invitation is revoked: its link opens nothing.",
    "mfa_required": "Every member now needs a second factor: those without one are sent to set one up.",
    "mfa_not_required": "A second factor is no longer required here (members who have one keep it).",
    "member_removed": "The member is removed: their sessions here ended and their keys here are revoked.",
    "secrets_shown": "A source's secrets are shown only once, and these were. If one was not copied, delete the "
    "source and add another.",
    "source_enabled": "The source is enabled: it takes what its sender pushes.",
    "source_disabled": "The source is disabled: it refuses what its sender pushes until you enable it again.",
    "source_deleted": "The source is deleted: its URL takes nothing more. What it sent stays.",
    "fetch_retried": "The lead will be fetched again in a moment.",
    "fetch_not_retried": "Not fetched again: it is already stored, or waiting for its next attempt.",
    "secret_shown": "A signing secret is shown only once, and this one was. If it was not copied, rotate it to "
    "make a new one.",
}
VERDICTS = [
    Series("accepted", "Accepted", "#1d4ed8"),
    Series("duplicate", "Duplicate", "#7c3aed"),
    Series("test", "Test", "#0f766e"),
    Series("spam", "Spam", "#b45309"),
]
"""A submission's verdicts, in the dashboard's chart and the leads list's filter alike."""
OUTCOMES = [
    Series("succeeded", "Succeeded", "#15803d"),
    Series("pending", "Pending", "#6b7280"),
    Series("failed", "Failed", "#b91c1c"),
]
"""A delivery's outcomes, in the dashboard's chart and the deliveries list's filter alike."""


PUBLIC = "public"
"""The permission of the pages anyone may open: signing in, and the console's script."""
SECOND_STEP = "second_step"
"""``opt`` key of the pages a session waiting for its second factor may open (the second step, signing out)."""
MFA_SETUP = "mfa_setup"
"""``opt`` key of the pages a member who must set up a second factor may open (setting one up)."""
_USER = "console_user"


async def require_permission(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard of every console page: a signed-in member whose role holds the page's permission.

    A session waiting for its member's second factor opens only the pages marked ``opt={SECOND_STEP: True}``; a
    member who must set up a second factor (the workspace requires one) opens only those and the pages marked
    ``opt={MFA_SETUP: True}``.

    Raises:
        SignInRequired: No open session.
        SecondFactorRequired: The session waits for the member's second factor.
        MfaSetupRequired: The member must set up a second factor first.
        Forbidden: The member's role does not allow the page (or the page declares no permission).
    """
    if handler.opt.get("permission") == PUBLIC:
        return
    permission = required_permission(handler)
    db: Database = connection.app.state.db
    async with db.session(write=False) as session:
        user = await load_user(connection, session, connection.app.state.settings)
    if user.second_factor_pending and not handler.opt.get(SECOND_STEP):
        raise SecondFactorRequired("give your second factor to finish signing in")
    if user.mfa_setup_required and not (handler.opt.get(MFA_SETUP) or handler.opt.get(SECOND_STEP)):
        raise MfaSetupRequired("this workspace requires a second factor: set one up first")
    if not user.can(permission):
        raise Forbidden(f"your role in {user.workspace_name} ({user.role}) does not allow this")
    connection.state[_USER] = user


async def provide_user(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], app_settings: NamedDependency[Settings]
) -> ConsoleUser:
    """The signed-in user the guard found; a POST must also carry the session's CSRF token from our own origin."""
    user: ConsoleUser = request.state[_USER]
    if request.method == "POST":
        await check_post(request, user, app_settings)
    if user.seen_long_ago:
        if request.method in SAFE_METHODS:  # the request's own transaction only reads
            db: Database = request.app.state.db
            async with db.session(write=True) as session:
                await console_sessions.touch_session(session, user.session_id)
        else:
            await console_sessions.touch_session(db_session, user.session_id)
    return user


def page(
    request: Request[Any, Any, Any],
    name: str,
    user: ConsoleUser | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """The template ``console/{name}.html`` with the user, their CSRF token and the notice that ``?done=`` names."""
    notice = _NOTICES.get(request.query_params.get("done", ""))
    return Template(
        template_name=f"console/{name}.html",
        context={
            "user": user,
            "csrf": user.csrf if user else "",
            "notice": notice,
            "path": request.url.path,
            **context,
        },
        headers={**HEADERS, **headers} if headers else HEADERS,
        status_code=status_code,
    )


async def forms_of(session: AsyncSession, user: ConsoleUser) -> list[Form]:
    """The workspace's forms for lists, pickers and name maps (the first 100, newest first)."""
    found, _ = await forms.list_forms(session, workspace_id=user.workspace_id, status=None, limit=100, cursor=None)
    return found


def utc_day(value: str | None, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` from a date input as a UTC time: its start, or with ``end`` the start of the next day."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


async def reveal_after_redirect(session: AsyncSession, user: ConsoleUser, path: str, revealed: Revealed) -> Redirect:
    """Post, redirect, get: a new secret waits for the page at ``path`` in the session's row (encrypted, never in a
    cookie), so that a reload cannot post again."""
    await console_sessions.stash_reveal(session, user.session_id, path=path, revealed=revealed)
    return Redirect(path, status_code=303, headers={"Cache-Control": "no-store"})


async def page_revealing(
    request: Request[Any, Any, Any], user: ConsoleUser, path: str, name: str, **context: Any
) -> Template | None:
    """The page at ``path`` showing the secret on its way there, once; ``None`` when there is none: shown already
    (a reload, the back button, a replayed request), late, or made for another session."""
    # A GET's own transaction only reads: the secret is taken out of the row in a write transaction of its own.
    db: Database = request.app.state.db
    async with db.session(write=True) as session:
        revealed = await console_sessions.take_reveal(session, user.session_id, path=path)
    if revealed is None:
        return None
    return page(request, name, user, revealed=revealed, **context)
