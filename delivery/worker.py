"""The delivery worker: claims due deliveries, signs and POSTs them, records every attempt in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import aiohttp
import msgspec

from core.database import utcnow
from delivery import outbox
from delivery.signing import webhook_headers
from delivery.ssrf import UnsafeTargetError, guarded_connector
from delivery.wakeup import subscribe

if TYPE_CHECKING:
    from core.database import Database
    from core.settings import Settings

__all__ = ("DeliveryWorker", "encode_body")

_logger = logging.getLogger("leadwire.delivery")
_SNIPPET_BYTES = 2_048
_MAX_CLAIM = 500
_CLAIM_AHEAD = 4
_MIN_BATCH = 100
_BATCH_WAIT_S = 0.02
_USER_AGENT = "Leadwire-Webhooks/0.1"


def encode_body(claimed: outbox.Claimed) -> bytes:
    """The exact bytes that are signed and sent: ``{"type", "timestamp", "data"}``."""
    timestamp = claimed.message_created_at.isoformat().replace("+00:00", "Z")
    return msgspec.json.encode({"type": claimed.event_type, "timestamp": timestamp, "data": claimed.payload})


class _RateLimiter:
    """At most ``rate`` starts per second for one endpoint (in this process), spaced evenly."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_start = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            delay = self.next_start - now
            self.next_start = max(now, self.next_start) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


class DeliveryWorker:
    """One process's share of delivery. Start it, and stop it to drain what is in flight.

    A single database task does all of this worker's writes: each transaction records the outcomes that came in
    and claims replacements, so the worker never contends with itself for SQLite's write lock, and commits are
    shared by whole batches. It claims ahead, up to ``_CLAIM_AHEAD`` times the concurrency, so that the HTTP side
    is never idle while the database works; requests in flight are still bounded by the concurrency settings.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._budget = settings.delivery_concurrency * _CLAIM_AHEAD
        self._held = 0  # claimed and not yet recorded
        self._sending = asyncio.Semaphore(settings.delivery_concurrency)
        self._per_endpoint: dict[str, asyncio.Semaphore] = {}
        self._limiters: dict[str, _RateLimiter] = {}
        self._unsent: dict[str, outbox.Claimed] = {}
        self._outcomes: list[outbox.Outcome] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._db_task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._unsubscribe = subscribe(self._wake.set)

    async def start(self) -> None:
        """Open the HTTP session and start the database task."""
        self._http = aiohttp.ClientSession(
            connector=guarded_connector(
                allow_private=self.settings.allow_private_webhook_targets,
                limit=self.settings.delivery_concurrency,
                limit_per_host=self.settings.delivery_endpoint_concurrency,
            ),
            timeout=aiohttp.ClientTimeout(
                total=self.settings.delivery_timeout_seconds,
                sock_connect=min(5.0, self.settings.delivery_timeout_seconds),
            ),
            auto_decompress=False,
        )
        self._db_task = asyncio.create_task(self._db_loop())

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming; give back what was claimed but not sent; let requests in flight finish and record them."""
        self._unsubscribe()
        self._stopping = True
        for task in list(self._tasks):
            if task.get_name() in self._unsent:
                task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace_seconds)
        for task in self._tasks:
            task.cancel()
        self._wake.set()
        if self._db_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._db_task, timeout=grace_seconds)
        if self._http is not None:
            await self._http.close()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def _db_loop(self) -> None:
        failures = 0
        while True:
            outcomes, self._outcomes = self._outcomes, []
            want = 0 if self._stopping else min(_MAX_CLAIM, self._budget - self._held)
            unsent = list(self._unsent.values()) if self._stopping and not self._tasks else []
            if self._stopping and not outcomes and not self._tasks:
                await self._transact([], 0, unsent)
                return
            self._wake.clear()
            try:
                claimed = await self._transact(outcomes, want, [])
            except Exception:  # the database may be briefly unavailable: keep the outcomes and try again
                self._outcomes[:0] = outcomes
                failures += 1
                _logger.exception("delivery bookkeeping failed (%d in a row); retrying", failures)
                await asyncio.sleep(min(0.1 * 2**failures, 5.0))
                continue
            failures = 0
            self._held -= len(outcomes)
            for item in claimed:
                self._held += 1
                self._unsent[item.delivery_id] = item
                task = asyncio.create_task(self._deliver(item), name=item.delivery_id)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if claimed and len(claimed) == want:
                continue  # there may be more due right now
            if not self._outcomes:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.settings.delivery_poll_seconds)
            await self._gather_batch()

    async def _gather_batch(self) -> None:
        """Let finished attempts accumulate for a moment, so that one transaction records many of them.

        Only while enough is claimed to keep every sending slot busy: then waiting costs no throughput, and a
        transaction per handful of outcomes would (each one takes SQLite's write lock and commits).
        """
        deadline = time.monotonic() + _BATCH_WAIT_S
        while (
            not self._stopping
            and len(self._outcomes) < _MIN_BATCH
            and self._held - len(self._outcomes) > self.settings.delivery_concurrency
            and (remaining := deadline - time.monotonic()) > 0
        ):
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=remaining)

    async def _transact(
        self, outcomes: list[outbox.Outcome], want: int, unsent: list[outbox.Claimed]
    ) -> list[outbox.Claimed]:
        if not outcomes and not want and not unsent:
            return []
        async with self.db.session(write=True) as session:
            now = utcnow()
            await outbox.record_outcomes(session, outcomes, settings=self.settings, now=now)
            if unsent:
                await outbox.release(session, unsent)
            if want <= 0:
                return []
            return await outbox.claim_due(
                session, limit=want, lease_seconds=self.settings.delivery_lease_seconds, now=now
            )

    async def _deliver(self, claimed: outbox.Claimed) -> None:
        semaphore = self._per_endpoint.setdefault(
            claimed.endpoint_id, asyncio.Semaphore(self.settings.delivery_endpoint_concurrency)
        )
        async with self._sending, semaphore:
            if claimed.rate_limit_per_second:
                limiter = self._limiters.get(claimed.endpoint_id)
                if limiter is None or limiter.interval != 1.0 / claimed.rate_limit_per_second:
                    limiter = self._limiters[claimed.endpoint_id] = _RateLimiter(claimed.rate_limit_per_second)
                await limiter.wait()
            del self._unsent[claimed.delivery_id]
            outcome = await self._post(claimed)
        self._outcomes.append(outcome)
        self._wake.set()

    async def _post(self, claimed: outbox.Claimed) -> outbox.Outcome:
        assert self._http is not None
        body = encode_body(claimed)
        headers = webhook_headers(claimed.secrets, claimed.message_id, int(time.time()), body)
        headers["user-agent"] = _USER_AGENT  # per request: merging session-level defaults costs more
        attempted_at = utcnow()
        started = time.perf_counter()

        def elapsed_ms() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            async with self._http.post(claimed.url, data=body, headers=headers, allow_redirects=False) as response:
                snippet = await response.content.read(_SNIPPET_BYTES)
                return outbox.Outcome(
                    claimed=claimed,
                    attempted_at=attempted_at,
                    duration_ms=elapsed_ms(),
                    status_code=response.status,
                    response_body=snippet.decode("utf-8", "replace"),
                    retry_after_s=outbox.retry_after_seconds(response.headers.get("Retry-After"), attempted_at)
                    if response.status in {429, 503}
                    else None,
                )
        except UnsafeTargetError as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = f"timed out after {self.settings.delivery_timeout_seconds:g}s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        return outbox.Outcome(claimed=claimed, attempted_at=attempted_at, duration_ms=elapsed_ms(), error=error)
