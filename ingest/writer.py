"""Group commit: one task writes every submission that arrives while the previous batch commits, in one transaction.

SQLite has one writer at a time, and each transaction costs a commit (an fsync in WAL mode) plus several round
trips through aiosqlite's thread. Writing the submissions that queued up meanwhile together turns N of those into
one, while each client is still answered only after its own submission is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from core.database import utcnow
from core.errors import ServiceUnavailable
from ingest.persist import Pending, Written, write_batch
from leads.models import IdempotencyRecord

if TYPE_CHECKING:
    from core.database import Database
    from core.metrics import Metrics

__all__ = ("SubmissionWriter",)

logger = logging.getLogger("leadwire.ingest")

_MAX_BATCH = 200
_ATTEMPTS = 3
_PURGE_EVERY = timedelta(minutes=10)
# The database cannot be reached or stayed locked through the retries: nothing to gain by writing items one by one.
_UNAVAILABLE = (OperationalError, SATimeoutError, OSError, TimeoutError)


class SubmissionWriter:
    """Owns the write path of submissions for one process; lives on ``app.state`` for the life of the app."""

    def __init__(self, db: Database, *, max_batch: int = _MAX_BATCH, metrics: Metrics | None = None) -> None:
        self._db = db
        self._metrics = metrics
        self._max_batch = max_batch
        self._queue: list[tuple[Pending, asyncio.Future[Written]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._drained = asyncio.Event()
        self._next_purge = utcnow()
        self.batches = 0
        """Transactions committed (for tests and metrics: fewer than submissions means batching happened)."""

    async def start(self) -> None:
        """Start the writing task."""
        self._task = asyncio.create_task(self._run(), name="leadwire-submission-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self._closing = True
        self._wake.set()
        if not task.done():
            await self._drained.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def write(self, item: Pending) -> Written:
        """Queue ``item`` and wait until its batch has committed.

        Raises:
            ServiceUnavailable: The database refused the write even on its own (the client may retry).
        """
        if self._task is None or self._task.done():
            raise ServiceUnavailable("the service is shutting down; try again")
        future: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wake.set()
        return await asyncio.shield(future)  # a client that hangs up does not cancel the write of its submission

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._commit(batch)
            if self._closing:
                self._drained.set()
                return
            if utcnow() >= self._next_purge:
                await self._purge_expired_keys()

    async def _commit(self, batch: list[tuple[Pending, asyncio.Future[Written]]]) -> None:
        """Write one batch and settle every future in it, whatever happens: this task must never die."""
        items = [item for item, _ in batch]
        try:
            results = await self._transaction(items)
        except _UNAVAILABLE as exc:
            # The database is down or locked beyond the retries: each client hears 503 now rather than waiting.
            if not self._db.outage.failed(exc):
                logger.warning("the database refused a batch of %d submissions: %s", len(batch), exc)
            for _, future in batch:
                _settle(future, exception=ServiceUnavailable("the submission could not be stored; try again"))
            return
        except Exception as exc:
            if len(batch) > 1:
                # One item may be what the database refuses: write each on its own so the others still land.
                logger.warning("a batch of %d submissions failed (%s); writing them one by one", len(batch), exc)
                for entry in batch:
                    await self._commit([entry])
                return
            logger.exception("a submission could not be stored")
            _settle(batch[0][1], exception=ServiceUnavailable("the submission could not be stored; try again"))
            return
        self.batches += 1
        self._db.outage.recovered()
        for (_, future), result in zip(batch, results, strict=True):
            if self._metrics is not None and result.error is None and result.replay is None:
                self._metrics.submissions.labels(result.verdict).inc()
            _settle(future, result=result)

    async def _transaction(self, items: list[Pending]) -> list[Written]:
        """Write the batch, retrying transient failures (a lock timeout, a deadlock, a key taken meanwhile)."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return await self._db.transact(write_batch, items, utcnow())
            except (OperationalError, IntegrityError) as exc:
                if attempt == _ATTEMPTS:
                    raise
                logger.info("retrying a batch of %d submissions after %s", len(items), type(exc.orig).__name__)
                await asyncio.sleep(0.05 * attempt)
            except DBAPIError as exc:
                if "deadlock" not in str(exc).lower() or attempt == _ATTEMPTS:
                    raise
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    async def _purge_expired_keys(self) -> None:
        now = utcnow()
        self._next_purge = now + _PURGE_EVERY
        try:
            async with self._db.session(write=True) as session:
                await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
        except Exception:  # the purge is housekeeping: it must not take the writer down with it
            logger.warning("could not purge expired idempotency keys; will try again", exc_info=True)


def _settle(
    future: asyncio.Future[Written], *, result: Written | None = None, exception: Exception | None = None
) -> None:
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        assert result is not None
        future.set_result(result)
