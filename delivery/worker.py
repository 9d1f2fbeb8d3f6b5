"""The delivery worker: claims due deliveries, signs and POSTs them, records every attempt in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING

import aiohttp
import msgspec

from core.database import utcnow
from delivery import outbox
from delivery.failures import describe_failure
from delivery.signing import webhook_headers
from delivery.ssrf import UnsafeTargetError, guarded_connector
from delivery.wakeup import subscribe

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.database import Database
    from core.metrics import Metrics
    from core.settings import Settings

__all__ = ("DeliveryWorker", "encode_body")

_logger = logging.getLogger("leadwire.delivery")
_SNIPPET_BYTES = 2_048
_MAX_CLAIM = 500
_CLAIM_AHEAD = 4
_MIN_BATCH = 100
_BATCH_WAIT_S = 0.02
_ISOLATE_AFTER = 3
_STOP_RECORD_S = 10.0
_SENDING = "leadwire-delivery-sending"  # task name of a delivery whose request has started: stop() lets it finish
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
    shared by whole batches. It claims ahead, up to ``_CLAIM_AHEAD`` times the concurrency, so the HTTP side is
    never idle while the database works; an endpoint that already has its share queued here is left to others.
    Only deliveries still to be sent or being sent count: an outcome waiting to be recorded holds no slot, so the
    transaction that records a batch of outcomes claims their replacements.

    Every claimed delivery ends in exactly one of two ways: an outcome is recorded (the attempt was made, or
    failed before sending), or its lease is given back or left to expire without a request having been sent.
    """

    def __init__(self, db: Database, settings: Settings, metrics: Metrics | None = None) -> None:
        self.db = db
        self.settings = settings
        self._metrics = metrics
        self._budget = settings.delivery_concurrency * _CLAIM_AHEAD
        self._endpoint_share = settings.delivery_endpoint_concurrency * _CLAIM_AHEAD
        self._in_flight: dict[str, int] = {}  # claimed and not yet sent or given up, per endpoint
        self._in_flight_total = 0
        self._sending = asyncio.Semaphore(settings.delivery_concurrency)
        self._per_endpoint: dict[str, asyncio.Semaphore] = {}
        self._limiters: dict[str, _RateLimiter] = {}
        self._unsent: dict[tuple[str, str], outbox.Claimed] = {}
        self._to_release: list[outbox.Claimed] = []
        self._outcomes: list[outbox.Outcome] = []
        self._gone: set[str] = set()  # endpoints that answered 410 since this worker started
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._db_task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        """Open the HTTP session and start the database task."""
        self._http = aiohttp.ClientSession(
            connector=guarded_connector(
                allow_private=self.settings.allow_private_webhook_targets,
                limit=self.settings.delivery_concurrency,
                # The worker's own semaphores bound requests per endpoint; a per-host pool limit on top would make
                # requests wait for a connection inside their timeout, and time out without having been sent.
                limit_per_host=0,
            ),
            timeout=aiohttp.ClientTimeout(
                total=self.settings.delivery_timeout_seconds,
                sock_connect=min(5.0, self.settings.delivery_timeout_seconds),
            ),
            auto_decompress=False,
        )
        self._unsubscribe = subscribe(self._wake.set)
        self._db_task = asyncio.create_task(self._db_loop())

    async def stop(self) -> None:
        """Stop claiming; give back what was claimed but not sent; let requests in flight finish and record them.

        Waits up to the request timeout for requests in flight. Safe to call more than once.
        """
        if self._stopping:
            return
        self._stopping = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        try:
            for task in list(self._tasks):
                if task.get_name() != _SENDING:
                    task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.settings.delivery_timeout_seconds + 1)
            for task in self._tasks:
                task.cancel()
            self._wake.set()
            if self._db_task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(self._db_task, timeout=_STOP_RECORD_S)
        finally:
            if self._http is not None:
                await self._http.close()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    def _claim_room(self) -> int:
        if self._stopping:
            return 0
        return max(0, min(_MAX_CLAIM, self._budget - self._in_flight_total))

    def _busy_endpoints(self) -> frozenset[str]:
        return frozenset(eid for eid, count in self._in_flight.items() if count >= self._endpoint_share)

    async def _db_loop(self) -> None:
        failures = 0
        while True:
            outcomes, self._outcomes = self._outcomes, []
            releases, self._to_release = self._to_release, []
            want = self._claim_room()
            if self._stopping and not outcomes and not releases and not self._tasks:
                return
            self._wake.clear()
            try:
                claimed = await self._transact(outcomes, releases, want)
            except Exception as exc:  # the database may be briefly unavailable: keep the work and try again
                failures += 1
                if not self.db.outage.failed(exc):
                    _logger.exception("delivery bookkeeping failed (%d in a row); retrying", failures)
                if failures >= _ISOLATE_AFTER:
                    # One outcome may be poisoned (a value the database refuses): record one at a time so that it
                    # cannot block the others; its delivery is attempted again when its lease expires.
                    outcomes = await self._record_one_by_one(outcomes)
                self._outcomes[:0] = outcomes
                self._to_release[:0] = releases
                await asyncio.sleep(min(0.1 * 2**failures, 5.0))
                continue
            failures = 0
            self.db.outage.recovered()
            for item in claimed:
                if self._stopping:
                    self._to_release.append(item)
                    continue
                self._in_flight[item.endpoint_id] = self._in_flight.get(item.endpoint_id, 0) + 1
                self._in_flight_total += 1
                self._unsent[(item.delivery_id, item.lease_token)] = item
                task = asyncio.create_task(self._deliver(item))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if claimed and len(claimed) == want:
                continue  # there may be more due right now
            if not self._outcomes and not self._to_release:
                await self._wait_for_wake(self.settings.delivery_poll_seconds)
            await self._gather_batch()

    async def _wait_for_wake(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: this runs about once per delivery, and wait_for creates a task each time.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    def _finished(self, claimed: outbox.Claimed) -> None:
        """Count a delivery out of flight: its outcome, or its lease to give back, is queued for the database."""
        self._in_flight_total -= 1
        left = self._in_flight[claimed.endpoint_id] - 1
        if left > 0:
            self._in_flight[claimed.endpoint_id] = left
        else:
            del self._in_flight[claimed.endpoint_id]
            self._per_endpoint.pop(claimed.endpoint_id, None)
            # A limiter outlives its endpoint's last delivery until its next start has passed: a new one would let
            # the endpoint's next delivery go at once, however soon after the last.
            now = time.monotonic()
            for endpoint_id in [e for e, lim in self._limiters.items() if lim.next_start <= now]:
                if endpoint_id not in self._in_flight:
                    del self._limiters[endpoint_id]

    async def _gather_batch(self) -> None:
        """Let finished attempts accumulate for a moment, so that one transaction records many of them.

        Only while enough is claimed to keep every sending slot busy: then waiting costs no throughput, and a
        transaction per handful of outcomes would (each one takes SQLite's write lock and commits).
        """
        deadline = time.monotonic() + _BATCH_WAIT_S
        while (
            not self._stopping
            and len(self._outcomes) < _MIN_BATCH
            and self._in_flight_total > self.settings.delivery_concurrency
            and (remaining := deadline - time.monotonic()) > 0
        ):
            self._wake.clear()
            await self._wait_for_wake(remaining)

    async def _transact(
        self, outcomes: list[outbox.Outcome], releases: list[outbox.Claimed], want: int
    ) -> list[outbox.Claimed]:
        if not outcomes and not releases and not want:
            return []
        async with self.db.session(write=True) as session:
            now = utcnow()
            await outbox.record_outcomes(session, outcomes, settings=self.settings, now=now)
            if self._metrics is not None:
                for outcome in outcomes:
                    self._metrics.record_attempt(status_code=outcome.status_code, duration_ms=outcome.duration_ms)
            if releases:
                await outbox.release(session, releases)
            if want <= 0:
                return []
            return await outbox.claim_due(
                session,
                limit=want,
                lease_seconds=self.settings.delivery_lease_seconds,
                now=now,
                skip_endpoints=self._busy_endpoints(),
            )

    async def _record_one_by_one(self, outcomes: list[outbox.Outcome]) -> list[outbox.Outcome]:
        """Record each outcome in its own transaction, so that one the database refuses cannot block the rest.

        Returns what is still to be recorded: everything when nothing could be recorded (the database is down, so
        keep trying), else nothing: a refused outcome is dropped, and its delivery is sent again after its lease.
        """
        refused = []
        for outcome in outcomes:
            try:
                async with self.db.session(write=True) as session:
                    await outbox.record_outcomes(session, [outcome], settings=self.settings, now=utcnow())
            except Exception:
                refused.append(outcome)
        if outcomes and len(refused) == len(outcomes):
            return outcomes
        for outcome in refused:
            _logger.error("dropped the outcome of delivery %s: the database refused it", outcome.claimed.delivery_id)
        return []

    async def _deliver(self, claimed: outbox.Claimed) -> None:
        """Wait for this endpoint's turn, then for a sending slot, then send; always settle the claim."""
        key = (claimed.delivery_id, claimed.lease_token)
        outcome: outbox.Outcome | None = None
        try:
            semaphore = self._per_endpoint.setdefault(
                claimed.endpoint_id, asyncio.Semaphore(self.settings.delivery_endpoint_concurrency)
            )
            # The endpoint's own limits come first, so that a slow or rate-limited endpoint waits without holding
            # one of the slots every other endpoint needs.
            async with semaphore:
                if claimed.rate_limit_per_second:
                    limiter = self._limiters.get(claimed.endpoint_id)
                    if limiter is None or limiter.interval != 1.0 / claimed.rate_limit_per_second:
                        limiter = self._limiters[claimed.endpoint_id] = _RateLimiter(claimed.rate_limit_per_second)
                    await limiter.wait()
                async with self._sending:
                    if not self._may_send(claimed):
                        return
                    task = asyncio.current_task()
                    if task is not None:
                        task.set_name(_SENDING)
                    self._unsent.pop(key, None)
                    outcome = await self._post(claimed)
            if outcome.status_code == HTTPStatus.GONE:
                self._gone.add(claimed.endpoint_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an outcome is owed for every claim that was sent, whatever went wrong
            _logger.exception("delivery %s failed unexpectedly", claimed.delivery_id)
            outcome = outbox.Outcome(
                claimed=claimed, attempted_at=utcnow(), duration_ms=0, error=f"internal error: {type(exc).__name__}"
            )
        finally:
            if outcome is not None:
                self._outcomes.append(outcome)
            elif self._unsent.pop(key, None) is not None:
                self._to_release.append(claimed)  # not sent: give the lease back
            self._finished(claimed)
            self._wake.set()

    def _may_send(self, claimed: outbox.Claimed) -> bool:
        """Whether the claim may still be sent: the endpoint has not said 410, and the lease outlasts a request."""
        if claimed.endpoint_id in self._gone:
            return False
        margin = timedelta(seconds=self.settings.delivery_timeout_seconds + 1)
        return utcnow() + margin < claimed.lease_expires_at

    async def _post(self, claimed: outbox.Claimed) -> outbox.Outcome:
        assert self._http is not None
        body = encode_body(claimed)
        headers = webhook_headers(claimed.secrets, claimed.message_id, int(time.time()), body)
        headers["user-agent"] = _USER_AGENT  # per request: merging session-level defaults costs more
        # Ask for an uncompressed answer: the first 2 KB are stored as text for people to read.
        headers["accept-encoding"] = "identity"
        attempted_at = utcnow()
        started = time.perf_counter()

        def elapsed_ms() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            async with self._http.post(claimed.url, data=body, headers=headers, allow_redirects=False) as response:
                snippet = await _read_snippet(response)
                return outbox.Outcome(
                    claimed=claimed,
                    attempted_at=attempted_at,
                    duration_ms=elapsed_ms(),
                    status_code=response.status,
                    response_body=_storable(snippet.decode("utf-8", "replace")),
                    retry_after_s=outbox.retry_after_seconds(response.headers.get("Retry-After"), attempted_at)
                    if response.status in {429, 503}
                    else None,
                )
        except UnsafeTargetError as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = f"timed out after {self.settings.delivery_timeout_seconds:g}s"
        except aiohttp.ClientError as exc:
            error = describe_failure(exc)
        return outbox.Outcome(
            claimed=claimed, attempted_at=attempted_at, duration_ms=elapsed_ms(), error=_storable(error)[:500]
        )


async def _read_snippet(response: aiohttp.ClientResponse) -> bytes:
    """Up to the first 2 KB of the body, however it arrives in chunks (within the request's timeout)."""
    chunks: list[bytes] = []
    size = 0
    while size < _SNIPPET_BYTES:
        chunk = await response.content.read(_SNIPPET_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _storable(text: str) -> str:
    """Text every database can store: PostgreSQL refuses NUL characters in text columns."""
    return text.replace("\x00", "\ufffd")
