"""Request-scoped dependencies shared by every slice's routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Request
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.database import Database

__all__ = ("SAFE_METHODS", "provide_db_session")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """One transaction per request: a write transaction for unsafe methods, committed before the response is sent.

    Litestar runs this generator's cleanup before it sends the response, so a client never hears "created" for
    something that was not committed; an exception in the handler rolls the transaction back.
    """
    db: Database = request.app.state.db
    async with db.session(write=request.method not in SAFE_METHODS) as session:
        yield session
