"""Keyset pagination over time-sortable ids: newest first, an opaque cursor, no OFFSET scans."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from litestar.params import QueryParameter

from core.errors import BadRequest

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import InstrumentedAttribute

__all__ = ("DEFAULT_LIMIT", "MAX_LIMIT", "Limit", "fetch_page")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size.")]
"""A page size as taken from the ``limit`` query parameter (declare it plain, not inside ``FromQuery``)."""

T = TypeVar("T")
# A cursor is the id of the last row of a page: a prefix, an underscore and 26 characters of Crockford's base32.
_CURSOR = re.compile(r"[a-z]+_[0-9a-hjkmnp-tv-z]{26}")


async def fetch_page(
    session: AsyncSession,
    statement: Select[T],
    *,
    id_column: InstrumentedAttribute[str],
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """One page of ``statement``'s rows, newest first, and the cursor of the next page (``None`` at the end).

    Args:
        session: The session to query with.
        statement: A select of one entity, already filtered to the caller's workspace.
        id_column: The entity's time-sortable id column.
        limit: How many rows at most.
        cursor: The ``next_cursor`` of the previous page, or ``None`` for the first page.

    Raises:
        BadRequest: ``cursor`` is not one this API gave out (an empty page would hide the client's mistake).
    """
    if cursor is not None and _CURSOR.fullmatch(cursor) is None:
        raise BadRequest("cursor is not a next_cursor this API gave out; omit it for the first page")
    if cursor:
        statement = statement.where(id_column < cursor)
    rows: list[Any] = list((await session.scalars(statement.order_by(id_column.desc()).limit(limit + 1))).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, str(getattr(rows[-1], id_column.key))
    return rows, None
