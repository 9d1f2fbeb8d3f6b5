"""The Bearer guard on ``/api/v1``: it runs before the body is read, names the calling workspace and key, and lets the
request through only if the route's permission (``opt={"permission": ...}``, ``workspaces.roles``) is the caller's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import Forbidden, Unauthorized
from workspaces import keys
from workspaces.roles import PERMISSIONS

if TYPE_CHECKING:
    from litestar import Request
    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler

    from core.database import Database
    from workspaces.schemas import Caller

__all__ = ("provide_caller", "require_api_key", "required_permission", "why_forbidden")


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def required_permission(handler: BaseRouteHandler) -> str:
    """The permission a route declares.

    Raises:
        Forbidden: It declares none, or one the matrix does not know: such a route is closed to everyone.
    """
    permission = handler.opt.get("permission")
    if not isinstance(permission, str) or permission not in PERMISSIONS:
        raise Forbidden("this route declares no permission, so it is closed")
    return permission


def why_forbidden(caller: Caller, permission: str) -> str:
    """A sentence saying why ``caller`` may not use ``permission``."""
    grant = PERMISSIONS[permission]
    if caller.role not in grant.roles:
        return f"your role here ({caller.role}) does not allow {permission}"
    if caller.api_key_id is not None and grant.scope is None:
        return f"{permission} is for signed-in members, not API keys"
    if caller.api_key_id is not None and grant.scope not in caller.scopes:
        return f"this API key lacks the {grant.scope} scope that {permission} needs"
    return f"this API key is limited to the forms API; {permission} is not part of it"


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Let the request through only with a live API key that holds the route's permission; remember the caller on
    ``connection.state.caller``. ``last_used_at`` is written at most once a minute per key."""
    token = _bearer_token(connection.headers.get("authorization"))
    if token is None:
        raise Unauthorized("send an API key as 'Authorization: Bearer lw_…'")
    db: Database = connection.app.state.db
    async with db.session(write=False) as session:
        found = await keys.authenticate(session, token)
    if found is None:
        raise Unauthorized("the API key is unknown or revoked, or its creator has left the workspace")
    permission = required_permission(handler)
    if not found.caller.allows(permission):
        raise Forbidden(why_forbidden(found.caller, permission))
    if found.used_long_ago:
        async with db.session(write=True) as session:
            await keys.touch_key(session, found.caller.api_key_id or "")
    connection.state.caller = found.caller


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller the guard authenticated."""
    caller: Caller = request.state.caller
    return caller
