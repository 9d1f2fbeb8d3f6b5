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
_MAX_RECORD_BATCH = 1_000
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

    The loop claims only as many deliveries as it has free slots, so nothing waits in memory while its lease
    runs out; outcomes are written by one recorder task in batches, one transaction per batch.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._free = settings.delivery_concurrency
        self._per_endpoint: dict[str, asyncio.Semaphore] = {}
        self._limiters: dict[str, _RateLimiter] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._outcomes: asyncio.Queue[outbox.Outcome] = asyncio.Queue()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None
        self._unsubscribe = subscribe(self._wake.set)

    async def start(self) -> None:
        """Open the HTTP session and start the claim loop and the recorder."""
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
            headers={"User-Agent": _USER_AGENT},
            auto_decompress=False,
        )
        self._tasks = [asyncio.create_task(self._claim_loop()), asyncio.create_task(self._record_loop())]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let in-flight requests finish (up to ``grace_seconds``), record them, close the session."""
        self._unsubscribe()
        self._stopping.set()
        self._wake.set()
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=grace_seconds)
        for task in self._in_flight:
            task.cancel()
        await self._outcomes.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.close()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            claimed: list[outbox.Claimed] = []
            if self._free > 0:
                try:
                    async with self.db.session(write=True) as session:
                        claimed = await outbox.claim_due(
                            session,
                            limit=min(self._free, _MAX_CLAIM),
                            lease_seconds=self.settings.delivery_lease_seconds,
                            now=utcnow(),
                        )
                except Exception:  # the database may be briefly unavailable; keep the worker alive
                    _logger.exception("claiming deliveries failed; retrying")
            for item in claimed:
                self._free -= 1
                task = asyncio.create_task(self._deliver(item))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if claimed and self._free > 0:
                continue  # there may be more due right now
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.delivery_poll_seconds)

    async def _deliver(self, claimed: outbox.Claimed) -> None:
        try:
            semaphore = self._per_endpoint.setdefault(
                claimed.endpoint_id, asyncio.Semaphore(self.settings.delivery_endpoint_concurrency)
            )
            async with semaphore:
                if claimed.rate_limit_per_second:
                    limiter = self._limiters.get(claimed.endpoint_id)
                    if limiter is None or limiter.interval != 1.0 / claimed.rate_limit_per_second:
                        limiter = self._limiters[claimed.endpoint_id] = _RateLimiter(claimed.rate_limit_per_second)
                    await limiter.wait()
                outcome = await self._post(claimed)
            self._outcomes.put_nowait(outcome)
        finally:
            self._free += 1
            self._wake.set()

    async def _post(self, claimed: outbox.Claimed) -> outbox.Outcome:
        assert self._http is not None
        body = encode_body(claimed)
        headers = webhook_headers(claimed.secrets, claimed.message_id, int(time.time()), body)
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

    async def _record_loop(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            while len(batch) < _MAX_RECORD_BATCH and not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            try:
                await self._record(batch)
            finally:
                for _ in batch:
                    self._outcomes.task_done()

    async def _record(self, batch: list[outbox.Outcome]) -> None:
        for attempt in range(5):
            try:
                async with self.db.session(write=True) as session:
                    await outbox.record_outcomes(session, batch, settings=self.settings, now=utcnow())
            except Exception:  # an unrecorded attempt is retried after its lease expires: nothing is lost
                _logger.exception("recording %d outcomes failed (try %d)", len(batch), attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))
            else:
                return
