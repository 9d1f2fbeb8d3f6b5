"""Retention: delete old spam, submissions and source payloads, blank old webhook response bodies, per each
workspace's settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import delete, select

from core.database import utcnow
from delivery import service as delivery
from leads.models import SourcePayload, Submission
from workspaces import service as workspaces

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.database import Database
    from core.settings import Settings

__all__ = ("PurgeReport", "PurgeScheduler", "purge")

_logger = logging.getLogger("leadwire.retention")
_FIRST_DELAY_S = (30.0, 60.0)  # after start-up: not in the way of migrations and the first requests
_JITTER = 0.1
_FIRST_BATCH = 10
_SLOW_WRITE_S = 0.25


class PurgeReport(msgspec.Struct, kw_only=True):
    """What one purge did."""

    workspaces: int = 0
    """How many workspaces were looked at."""
    spam_deleted: int = 0
    """Spam submissions older than their workspace's ``retain_spam_days``."""
    submissions_deleted: int = 0
    """Other submissions (and spam not already counted) older than ``retain_submissions_days``."""
    attempt_bodies_blanked: int = 0
    """Webhook response bodies older than ``retain_attempt_bodies_days``."""
    source_payloads_deleted: int = 0
    """Raw payloads inbound sources received: refused ones (never a lead, like spam) older than
    ``retain_spam_days``, any older than ``retain_submissions_days``."""


async def _in_batches(
    db: Database,
    find: Callable[[AsyncSession, str, int], Awaitable[list[str]]],
    apply: Callable[[AsyncSession, list[str]], Awaitable[int]],
    batch_size: int,
) -> int:
    """Find ids in a read transaction, then change them in a short write transaction; repeat until done.

    The search may scan, so it runs where it blocks nobody (SQLite's readers never block its one writer); the write
    transaction only touches rows by primary key and checks their age again. Batches start small and double while
    writes stay quick, up to ``batch_size``, and halve when one is slow: a delete can cost more than it looks (each
    deleted submission makes the database look for consent events that point at it), and SQLite's write lock must
    never be held for long. Ids are followed in order from the last one seen, so a run ends even when a concurrent
    run holds some of the rows (it is purging them anyway).
    """
    total = 0
    after = ""
    size = min(batch_size, _FIRST_BATCH)
    while True:
        async with db.session(write=False) as session:
            ids = await find(session, after, size)
        if not ids:
            return total
        started = time.monotonic()
        async with db.session(write=True) as session:
            total += await apply(session, ids)
        if len(ids) < size:
            return total
        after = ids[-1]
        quick = time.monotonic() - started < _SLOW_WRITE_S
        size = min(batch_size, size * 2) if quick else max(1, size // 2)


def _submissions_past(workspace_id: str, older_than: datetime, verdict: str | None) -> list[ColumnElement[bool]]:
    conditions = [Submission.workspace_id == workspace_id, Submission.created_at < older_than]
    if verdict is not None:
        conditions.append(Submission.verdict == verdict)
    return conditions


async def _delete_submissions(
    db: Database, *, workspace_id: str, older_than: datetime, verdict: str | None, batch_size: int
) -> int:
    """Delete the workspace's submissions made before ``older_than`` (of one verdict, when given).

    Consent events keep their place in the record: their ``submission_id`` is set to NULL by the foreign key.
    """
    conditions = _submissions_past(workspace_id, older_than, verdict)

    async def find(session: AsyncSession, after: str, limit: int) -> list[str]:
        statement = select(Submission.id).where(*conditions, Submission.id > after)
        return list(await session.scalars(statement.order_by(Submission.id).limit(limit)))

    async def apply(session: AsyncSession, ids: list[str]) -> int:
        # SKIP LOCKED (PostgreSQL; SQLite has one writer anyway): rows another purge is deleting are left to it.
        due = select(Submission.id).where(Submission.id.in_(ids), *conditions).with_for_update(skip_locked=True)
        result = await session.execute(
            delete(Submission)
            .where(Submission.id.in_(due.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return await _in_batches(db, find, apply, batch_size)


async def _delete_source_payloads(
    db: Database, *, workspace_id: str, older_than: datetime, refused_only: bool, batch_size: int
) -> int:
    """Delete the workspace's source payloads received before ``older_than`` (only the refused ones, when told)."""
    conditions = [SourcePayload.workspace_id == workspace_id, SourcePayload.received_at < older_than]
    if refused_only:
        conditions.append(SourcePayload.outcome == "rejected")

    async def find(session: AsyncSession, after: str, limit: int) -> list[str]:
        statement = select(SourcePayload.id).where(*conditions, SourcePayload.id > after)
        return list(await session.scalars(statement.order_by(SourcePayload.id).limit(limit)))

    async def apply(session: AsyncSession, ids: list[str]) -> int:
        statement = delete(SourcePayload).where(SourcePayload.id.in_(ids), *conditions)
        result = await session.execute(statement.execution_options(synchronize_session=False))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return await _in_batches(db, find, apply, batch_size)


async def _blank_attempt_bodies(db: Database, *, workspace_id: str, older_than: datetime, batch_size: int) -> int:
    async def find(session: AsyncSession, after: str, limit: int) -> list[str]:
        return await delivery.attempts_past_retention(
            session, workspace_id=workspace_id, older_than=older_than, after_id=after, limit=limit
        )

    async def apply(session: AsyncSession, ids: list[str]) -> int:
        return await delivery.blank_attempt_bodies(session, attempt_ids=ids, older_than=older_than)

    return await _in_batches(db, find, apply, batch_size)


async def purge(db: Database, *, now: datetime | None = None, batch_size: int = 1_000) -> PurgeReport:
    """Apply every workspace's retention periods once.

    Deletes spam older than ``retain_spam_days``, every submission older than ``retain_submissions_days`` when
    that is set, and blanks webhook response bodies older than ``retain_attempt_bodies_days``. Source payloads
    follow the same periods: refused ones go with spam, the others with submissions. It works in batches
    of short transactions, so it never holds SQLite's write lock for long. Running it again, or in several
    processes at once, is safe: what is gone no longer matches, and concurrent runs share the work.

    Args:
        db: The database.
        now: The time the periods count back from; the current time when omitted.
        batch_size: The most rows one write transaction changes (batches start smaller and grow while quick).

    Returns:
        How many rows of each kind were deleted or blanked by this run.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or utcnow()
    started = time.monotonic()
    async with db.session(write=False) as session:
        settings = await workspaces.workspace_settings(session)
    report = PurgeReport(workspaces=len(settings))
    for workspace_id, kept in settings.items():
        report.spam_deleted += await _delete_submissions(
            db,
            workspace_id=workspace_id,
            older_than=now - timedelta(days=kept.retain_spam_days),
            verdict="spam",
            batch_size=batch_size,
        )
        report.source_payloads_deleted += await _delete_source_payloads(
            db,
            workspace_id=workspace_id,
            older_than=now - timedelta(days=kept.retain_spam_days),
            refused_only=True,
            batch_size=batch_size,
        )
        if kept.retain_submissions_days is not None:
            report.submissions_deleted += await _delete_submissions(
                db,
                workspace_id=workspace_id,
                older_than=now - timedelta(days=kept.retain_submissions_days),
                verdict=None,
                batch_size=batch_size,
            )
            report.source_payloads_deleted += await _delete_source_payloads(
                db,
                workspace_id=workspace_id,
                older_than=now - timedelta(days=kept.retain_submissions_days),
                refused_only=False,
                batch_size=batch_size,
            )
        report.attempt_bodies_blanked += await _blank_attempt_bodies(
            db,
            workspace_id=workspace_id,
            older_than=now - timedelta(days=kept.retain_attempt_bodies_days),
            batch_size=batch_size,
        )
    _logger.info(
        "retention purge: %d workspaces, %d spam and %d other submissions deleted, %d response bodies blanked,"
        " %d source payloads deleted in %.2f s",
        report.workspaces,
        report.spam_deleted,
        report.submissions_deleted,
        report.attempt_bodies_blanked,
        report.source_payloads_deleted,
        time.monotonic() - started,
    )
    return report


class PurgeScheduler:
    """Runs :func:`purge` every ``purge_interval_seconds`` in a worker process, until stopped.

    A failed run is logged and tried again at the next interval: retention must never take a worker down. Runs
    are spread by ±10 % so that several workers drift apart; if they do overlap, they share the work.
    """

    def __init__(
        self, db: Database, settings: Settings, *, first_delay: float | None = None, interval: float | None = None
    ) -> None:
        self.db = db
        self.interval = float(settings.purge_interval_seconds) if interval is None else interval
        self.first_delay = random.uniform(*_FIRST_DELAY_S) if first_delay is None else first_delay  # noqa: S311
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the background task."""
        self._task = asyncio.create_task(self._run(), name="leadwire-retention-purge")

    async def stop(self) -> None:
        """Cancel the background task (a run in progress rolls back its current batch) and wait for it to end."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        delay = self.first_delay
        while True:
            await asyncio.sleep(delay)
            try:
                await purge(self.db)
            except Exception:
                _logger.exception("retention purge failed; trying again in %.0f s", self.interval)
            delay = self.interval * random.uniform(1 - _JITTER, 1 + _JITTER)  # noqa: S311
