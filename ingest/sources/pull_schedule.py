"""Where each pull source stands, in the ``source_pull`` table: its schedule, its lease, its cursor and its counts.

Workers claim due sources under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already serialises claims), hold it while they poll (every renewal checks it is still theirs and unexpired), and
move the cursor only when a window's every lead is committed. A worker that dies holds nothing once its lease ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update

from core.database import utcnow
from ingest.sources.models import Source, SourcePull
from ingest.sources.providers import provider

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "Taken",
    "claim_pulls",
    "due_pulls_exist",
    "fail_window",
    "finish_window",
    "hold",
    "pull_states",
    "release",
    "schedule_pull",
)


@dataclass(slots=True)
class Taken:
    """What one window brought: records answered, new submissions, records that did not fit the form."""

    records: int = 0
    stored: int = 0
    rejected: int = 0
    problem: str | None = None
    """Why the last refused record was refused."""


def _interval(kind: str, configured_seconds: int) -> timedelta:
    api = provider(kind).pull
    return api.interval(configured_seconds) if api is not None else timedelta(minutes=10)


async def schedule_pull(session: AsyncSession, source: Source, *, now: datetime | None = None) -> None:
    """Pull the source as soon as the provider allows: now, unless its last call was too recent or it is blocked.

    Creates the source's pull state the first time (a new source, or one just given pull credentials).
    """
    now = now or utcnow()
    state = await session.get(SourcePull, source.id)
    if state is None:
        session.add(
            SourcePull(
                source_id=source.id, workspace_id=source.workspace_id, next_pull_at=now, created_at=now, updated_at=now
            )
        )
        return
    api = provider(source.kind).pull
    soonest = [now]
    if state.last_pull_at is not None and api is not None:
        soonest.append(state.last_pull_at + api.min_interval)
    if state.blocked_until is not None:
        soonest.append(state.blocked_until)
    state.next_pull_at = max(soonest)
    state.updated_at = now


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        SourcePull.next_pull_at <= now,
        or_(SourcePull.lease_expires_at.is_(None), SourcePull.lease_expires_at <= now),
        or_(SourcePull.blocked_until.is_(None), SourcePull.blocked_until <= now),
        Source.enabled.is_(True),
        Source.deleted_at.is_(None),
    ]


async def due_pulls_exist(session: AsyncSession, *, now: datetime) -> bool:
    """Whether any source is due (a read, so that an idle worker does not take the write lock every second)."""
    statement = select(SourcePull.source_id).join(Source, Source.id == SourcePull.source_id).where(*_due(now)).limit(1)
    return (await session.scalar(statement)) is not None


async def claim_pulls(
    session: AsyncSession, *, owner: str, now: datetime, lease: timedelta, limit: int, configured_interval: int
) -> list[str]:
    """Lease due sources to ``owner`` and schedule their next pull (kept even if the owner dies while polling, so
    that a provider's minimum interval holds across crashes); returns their ids."""
    statement = (
        select(SourcePull, Source.kind)
        .join(Source, Source.id == SourcePull.source_id)
        .where(*_due(now))
        .order_by(SourcePull.next_pull_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=SourcePull)
    )
    claimed = []
    for state, kind in (await session.execute(statement)).all():
        state.lease_owner = owner
        state.lease_expires_at = now + lease
        state.next_pull_at = now + _interval(kind, configured_interval)
        state.updated_at = now
        claimed.append(state.source_id)
    return claimed


def _held(source_id: str, owner: str, now: datetime) -> list[ColumnElement[bool]]:
    return [SourcePull.source_id == source_id, SourcePull.lease_owner == owner, SourcePull.lease_expires_at > now]


async def hold(session: AsyncSession, *, source_id: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """Renew ``owner``'s lease; False when it is no longer theirs (it ran out): the poll must stop."""
    result = await session.execute(
        update(SourcePull).where(*_held(source_id, owner, now)).values(lease_expires_at=now + lease, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish_window(
    session: AsyncSession, *, source_id: str, owner: str, now: datetime, end: datetime, taken: Taken
) -> bool:
    """Every lead of the window up to ``end`` is committed: move the cursor there. False if the lease was lost."""
    state = await session.get(SourcePull, source_id, with_for_update=True)
    if state is None or state.lease_owner != owner:
        return False
    state.cursor = end
    state.last_pull_at = now
    state.pulls += 1
    state.records += taken.records
    state.stored += taken.stored
    state.rejected += taken.rejected
    state.last_error = taken.problem[:500] if taken.problem else None
    state.last_error_at = now if taken.problem else state.last_error_at
    state.updated_at = now
    return True


async def fail_window(
    session: AsyncSession,
    *,
    source_id: str,
    owner: str,
    now: datetime,
    error: str,
    called: bool,
    blocked_for: timedelta | None,
    taken: Taken,
) -> None:
    """The window could not be taken whole: say why, keep the cursor, and wait out a provider's block."""
    state = await session.get(SourcePull, source_id, with_for_update=True)
    if state is None or state.lease_owner != owner:
        return
    state.pulls += 1
    state.failures += 1
    state.records += taken.records
    state.stored += taken.stored
    state.rejected += taken.rejected
    state.last_error = error[:500]
    state.last_error_at = now
    if called:
        state.last_pull_at = now
    if blocked_for is not None:
        state.blocked_until = now + blocked_for
        state.next_pull_at = max(state.next_pull_at, state.blocked_until)
    state.updated_at = now


async def release(session: AsyncSession, *, source_id: str, owner: str) -> None:
    """Give the lease back."""
    await session.execute(
        update(SourcePull)
        .where(SourcePull.source_id == source_id, SourcePull.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )


async def pull_states(session: AsyncSession, source_ids: list[str]) -> dict[str, SourcePull]:
    """The pull state of each of these sources that has one."""
    if not source_ids:
        return {}
    rows = await session.scalars(select(SourcePull).where(SourcePull.source_id.in_(source_ids)))
    return {state.source_id: state for state in rows}
