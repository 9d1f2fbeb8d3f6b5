"""A source's Meta fetches as the workspace sees them: listed with their attempts and errors, and retried."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from sqlalchemy import select

from core.database import call_after_commit, utcnow
from core.errors import Conflict, NotFound
from core.pagination import fetch_page
from ingest.sources.models import SourceFetch
from ingest.sources.service import get_source
from workspaces import service as workspaces

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("FetchStatus", "list_fetches", "retry_fetch")

FetchStatus = Literal["pending", "done", "failed"]
"""``pending``: waiting for its (next) attempt; ``done``: the lead is stored; ``failed``: given up on."""


async def list_fetches(
    session: AsyncSession,
    *,
    workspace_id: str,
    source_id: str,
    status: FetchStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[SourceFetch], str | None]:
    """One page of the source's Meta fetches, newest first, optionally of one status.

    Raises:
        NotFound: No such source in this workspace.
        BadRequest: ``cursor`` is not one this API gave out.
    """
    source = await get_source(session, workspace_id=workspace_id, source_id=source_id)
    statement = select(SourceFetch).where(SourceFetch.source_id == source.id)
    if status is not None:
        statement = statement.where(SourceFetch.status == status)
    return await fetch_page(session, statement, id_column=SourceFetch.id, limit=limit, cursor=cursor)


async def retry_fetch(
    session: AsyncSession,
    *,
    workspace_id: str,
    source_id: str,
    fetch_id: str,
    actor: str,
    wake: Callable[[], None] | None = None,
) -> SourceFetch:
    """Fetch a failed Meta lead again now, with its retry schedule started afresh (say, once the page access token
    is replaced). ``wake`` (the fetcher's) is called once the change is committed.

    Raises:
        NotFound: No such source in this workspace, or no such fetch of it.
        Conflict: The fetch is done (its lead is stored), or still pending (it will be attempted anyway).
    """
    source = await get_source(session, workspace_id=workspace_id, source_id=source_id)
    fetch = await session.scalar(
        select(SourceFetch).where(SourceFetch.id == fetch_id, SourceFetch.source_id == source.id)
    )
    if fetch is None:
        raise NotFound("no such fetch of this source")
    if fetch.status == "done":
        raise Conflict("this fetch is done: its lead is stored")
    if fetch.status != "failed":
        raise Conflict(
            f"this fetch is still pending: its next attempt is at {fetch.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    await workspaces.record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="source.fetch_retried",
        target_type="source_fetch",
        target_id=fetch.id,
        details={"source_id": source.id, "attempts": fetch.attempts, "last_error": fetch.last_error},
    )
    now = utcnow()
    fetch.status, fetch.attempts, fetch.next_attempt_at, fetch.updated_at = "pending", 0, now, now
    if wake is not None:
        call_after_commit(session, wake)
    return fetch
