"""The Bearer guard on ``/api/v1``: it runs before the body is read and names the calling workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import Unauthorized
from workspaces import service

if TYPE_CHECKING:
    from litestar import Request
    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler

    from core.database import Database
    from workspaces.schemas import Caller

__all__ = ("provide_caller", "require_api_key")


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Let the request through only with a live API key; remember whose it is on ``connection.state.caller``."""
    token = _bearer_token(connection.headers.get("authorization"))
    if token is None:
        raise Unauthorized("send an API key as 'Authorization: Bearer lw_…'")
    db: Database = connection.app.state.db
    async with db.session(write=False) as session:
        caller = await service.authenticate(session, token)
    if caller is None:
        raise Unauthorized("the API key is unknown or revoked")
    connection.state.caller = caller


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller the guard authenticated."""
    caller: Caller = request.state.caller
    return caller
