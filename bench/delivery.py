"""Delivery throughput: the worker against a no-database aiohttp ceiling, both posting to a local receiver.

Run from the repository root::

    .venv/bin/python bench/delivery.py [--messages N] [--worker-process]

A bare asyncio HTTP/1.1 receiver runs in a separate process on 127.0.0.1 and answers every POST with ``200 ok``.
The same signed bodies are first posted by aiohttp (the ceiling) and by httpx (for orientation) with concurrency C
and no database; then N messages for one endpoint at the receiver are enqueued in a fresh SQLite database, and
delivered with the default settings (concurrency 100, 20 per endpoint) by ``DeliveryWorker`` in this process, or
with ``--worker-process`` by a ``leadwire worker`` process, timed until every delivery row is ``succeeded``. The last
line printed is a JSON object with the figures. The exit status is 0 whatever the figures are, and non-zero when a
delivery failed or the receiver counted a different number of requests than were sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import ctypes
import io
import json
import logging
import multiprocessing
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

# Run as ``python bench/delivery.py``, this file's folder comes first on sys.path, where ``delivery`` would mean this
# very file rather than the project's package: put the repository root there instead.
_BENCH_DIR = Path(__file__).resolve().parent
_ROOT = _BENCH_DIR.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_ROOT))

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator
    from ctypes import c_longlong
    from multiprocessing.connection import Connection

    from core.database import Database
    from core.settings import Settings

__all__ = ("main",)

_logger = logging.getLogger("leadwire.bench")

TARGET_RATIO = 0.45
TARGET_PER_S = 2_000
_MESSAGES = 5_000
_BACKLOG = 100_000  # --worker-process: a backlog of this size, drained by one `leadwire worker`
_EVENT_TYPE = "lead.created"
_USER_AGENT = "Leadwire-Webhooks/0.1"
_SECRET_KEY = "bench-secret-key-not-used-for-anything-real-0123456789"  # noqa: S105 (a throwaway database)
_ENCRYPTION_KEY = "YmVuY2gtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMhISE="  # 32 bytes, URL-safe base64: a throwaway database
_ENQUEUE_BATCH = 1_000
_SNIPPET_BYTES = 2_048
_RECEIVER_START_TIMEOUT_S = 20.0
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
_REFUSAL = b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_MAX_HEAD = 65_536


# --- the receiver (runs in its own process) -------------------------------------------------------------------------


class _ReceiverProtocol(asyncio.Protocol):
    """Just enough HTTP/1.1: request line and headers, a Content-Length body, keep-alive and pipelining."""

    def __init__(self, counter: c_longlong) -> None:
        self.counter = counter
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's transports are not asyncio.Transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        buffer = self.buffer
        buffer += data
        answered = 0
        close = False
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                close = len(buffer) > _MAX_HEAD
                break
            head = bytes(buffer[:end]).lower()
            length = _content_length(head)
            if length is None or b"\r\ntransfer-encoding:" in head:
                self.transport.write(_REFUSAL)
                close = True
                break
            total = end + 4 + length
            if len(buffer) < total:
                break
            del buffer[:total]
            answered += 1
            if b"\r\nconnection: close" in head or b" http/1.0\r\n" in head:
                close = True
                break
        if answered:
            self.counter.value += answered
            self.transport.write(_RESPONSE * answered)
        if close:
            self.transport.close()


def _content_length(head: bytes) -> int | None:
    """The Content-Length of a lower-cased request head (0 when absent), or ``None`` when it is not a number."""
    start = head.find(b"\r\ncontent-length:")
    if start < 0:
        return 0
    start += len(b"\r\ncontent-length:")
    stop = head.find(b"\r\n", start)
    try:
        return int(head[start : stop if stop >= 0 else None])
    except ValueError:
        return None


def _receiver_main(control: Connection, counter: c_longlong, cpu: int | None) -> None:
    """Serve until the parent says stop or goes away (its end of ``control`` closes)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_serve(control, counter))


async def _serve(control: Connection, counter: c_longlong) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _ReceiverProtocol(counter), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()

    def on_control() -> None:
        with contextlib.suppress(EOFError, OSError):
            control.recv()  # "stop", or nothing at all when the parent has gone
        stop.set()

    loop.add_reader(control.fileno(), on_control)
    control.send(port)
    async with server:
        await stop.wait()


class Receiver:
    """The receiver process, seen from the benchmark: its URL and how many requests it has answered."""

    def __init__(self, *, cpu: int | None) -> None:
        context = multiprocessing.get_context("spawn")
        self._counter: c_longlong = context.RawValue(ctypes.c_longlong, 0)
        self._control, child_end = context.Pipe()
        self._process = context.Process(
            target=_receiver_main, args=(child_end, self._counter, cpu), name="bench-receiver", daemon=True
        )
        self._process.start()
        child_end.close()
        if not self._control.poll(_RECEIVER_START_TIMEOUT_S):
            self.close()
            raise RuntimeError("the receiver process did not start")
        self.port: int = self._control.recv()
        self.url = f"http://127.0.0.1:{self.port}/hooks/bench"

    @property
    def count(self) -> int:
        """Requests answered so far (read without the lock: only the receiver writes it)."""
        return self._counter.value

    def close(self) -> None:
        """Ask the process to stop, then terminate or kill it if it does not."""
        with contextlib.suppress(OSError, BrokenPipeError):
            self._control.send("stop")
        self._process.join(3)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(3)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._control.close()

    async def verify(self) -> None:
        """Two keep-alive requests on one connection, then a pipelined pair: four ``200 ok`` and a count of four."""
        before = self.count
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            body = b'{"check":true}'
            request = (
                b"POST /hooks/bench HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            for batch in (1, 1, 2):
                writer.write(request * batch)
                for _ in range(batch):
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                    if not head.startswith(b"HTTP/1.1 200 OK\r\n") or b"Content-Length: 2" not in head:
                        raise RuntimeError(f"unexpected response from the receiver: {head!r}")
                    if await asyncio.wait_for(reader.readexactly(2), 5) != b"ok":
                        raise RuntimeError("unexpected response body from the receiver")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if self.count - before != 4:
            raise RuntimeError(f"the receiver counted {self.count - before} requests, not 4")


# --- what gets sent ---------------------------------------------------------------------------------------------------


def _payload(index: int) -> dict[str, Any]:
    """A lead of realistic size (the ``data`` of a ``lead.created`` event)."""
    return {
        "lead_id": f"lead_{index:010d}",
        "form_id": "form_01jbenchbenchbenchbenchbe",
        "fields": {
            "email": f"person{index}@example.com",
            "name": "Ada Lovelace",
            "company": "Analytical Engines Ltd",
            "phone": "+44 20 7946 0000",
            "message": "Please call me back about the enterprise plan.",
        },
        "consent": {"marketing": True, "text_version": "2024-06-01"},
        "source": {"page": "https://example.com/pricing", "utm_source": "newsletter", "utm_campaign": "spring"},
    }


Request = tuple[bytes, dict[str, str]]
Mark = tuple[float, float, float]


def _mark() -> Mark:
    return time.perf_counter(), time.thread_time(), time.process_time()


@dataclass(frozen=True)
class Timing:
    """One phase: wall seconds, and CPU seconds of the event-loop thread and of this whole process (the receiver
    is another process, so it is not included; the process figure includes aiosqlite's threads). With
    ``--worker-process`` the process is the worker's, and its event-loop thread is not measured."""

    seconds: float
    loop_cpu_s: float | None
    process_cpu_s: float | None

    @classmethod
    def since(cls, mark: Mark) -> Timing:
        wall, thread, process = _mark()
        return cls(wall - mark[0], thread - mark[1], process - mark[2])


def _build_requests(count: int, url: str) -> tuple[list[Request], float]:
    """Signed bodies and headers made exactly as the worker makes them; also the cost per request in µs."""
    from core.database import utcnow
    from core.ids import new_id
    from delivery.outbox import Claimed
    from delivery.signing import new_secret, webhook_headers
    from delivery.worker import encode_body

    secrets = [new_secret()]
    claims = [
        Claimed(
            delivery_id=new_id("dlv"),
            lease_token="",
            message_id=new_id("msg"),
            event_type=_EVENT_TYPE,
            payload=_payload(index),
            message_created_at=utcnow(),
            endpoint_id="ep_bench",
            url=url,
            secrets=secrets,
            lease_expires_at=utcnow(),
            rate_limit_per_second=None,
        )
        for index in range(count)
    ]
    started = time.perf_counter()
    requests: list[Request] = []
    for claimed in claims:
        body = encode_body(claimed)  # exactly as DeliveryWorker._post does
        headers = webhook_headers(claimed.secrets, claimed.message_id, int(time.time()), body)
        requests.append((body, headers))
    return requests, (time.perf_counter() - started) / max(count, 1) * 1e6


async def _run_lanes(
    requests: list[Request], concurrency: int, send: Callable[[Request], Coroutine[Any, Any, int]]
) -> tuple[Timing, int]:
    """``concurrency`` lanes taking requests from one queue; returns the time taken and the non-200 count."""
    pending: Iterator[Request] = iter(requests)
    failures = 0

    async def lane() -> None:
        nonlocal failures
        for request in pending:
            if await send(request) != 200:
                failures += 1

    started = _mark()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return Timing.since(started), failures


async def _bench_aiohttp(url: str, requests: list[Request], concurrency: int) -> tuple[Timing, int]:
    import aiohttp

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=15, sock_connect=5),  # as the worker's defaults
        headers={"User-Agent": _USER_AGENT},
        auto_decompress=False,
    ) as http:

        async def send(request: Request) -> int:
            body, headers = request
            async with http.post(url, data=body, headers=headers, allow_redirects=False) as response:
                await response.content.read(_SNIPPET_BYTES)
                return response.status

        return await _run_lanes(requests, concurrency, send)


async def _bench_httpx(url: str, requests: list[Request], concurrency: int) -> tuple[Timing, int]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=15, headers={"User-Agent": _USER_AGENT}) as http:

        async def send(request: Request) -> int:
            body, headers = request
            response = await http.post(url, content=body, headers=headers)
            return response.status_code

        return await _run_lanes(requests, concurrency, send)


# --- the worker -------------------------------------------------------------------------------------------------------


def _setting_default(name: str) -> Any:
    """The default of a ``Settings`` field: the benchmark runs with what an operator gets out of the box."""
    import msgspec

    from core.settings import Settings

    return next(field.default for field in msgspec.structs.fields(Settings) if field.name == name)


def _worker_settings(args: argparse.Namespace) -> dict[str, str]:
    """The worker's ``LEADWIRE_*`` settings (names without the prefix), in this process or a ``leadwire worker``."""
    return {
        "encryption_keys": _ENCRYPTION_KEY,
        "allow_private_webhook_targets": "true",
        "delivery_concurrency": str(args.concurrency),
        "delivery_endpoint_concurrency": str(args.endpoint_concurrency),
        "delivery_poll_seconds": str(args.poll_seconds),
    }


def _settings(database_url: str, args: argparse.Namespace) -> Settings:
    from core.settings import load_settings

    environ = {f"LEADWIRE_{name.upper()}": value for name, value in _worker_settings(args).items()}
    environ |= {
        "LEADWIRE_DATABASE_URL": database_url,
        "LEADWIRE_SECRET_KEY": _SECRET_KEY,
        "LEADWIRE_RUN_WORKER": "false",
        "LEADWIRE_LOG_LEVEL": "warning",
    }
    return load_settings(environ)


async def _enqueue_all(db: Database, settings: Settings, url: str, messages: int) -> float:
    """One workspace, one endpoint at the receiver, ``messages`` messages; returns the seconds it took."""
    from delivery.outbox import Event, enqueue_many
    from delivery.schemas import EndpointCreate
    from delivery.service import create_endpoint
    from workspaces.service import create_workspace

    started = time.perf_counter()
    async with db.session(write=True) as session:
        workspace, _ = await create_workspace(session, name="Bench")
        await create_endpoint(
            session, workspace_id=workspace.id, data=EndpointCreate(url=url), settings=settings, actor="bench"
        )
    for first in range(0, messages, _ENQUEUE_BATCH):
        events = [Event(workspace.id, _EVENT_TYPE, _payload(index)) for index in range(first, first + _ENQUEUE_BATCH)]
        await db.transact(enqueue_many, events[: messages - first])
    return time.perf_counter() - started


async def _status_counts(db: Database) -> dict[str, int]:
    from sqlalchemy import func, select

    from delivery.models import Delivery

    async with db.session(write=False) as session:
        rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {str(status): int(count) for status, count in rows}


async def _pending(db: Database) -> int:
    """Deliveries still to be made (an index range: cheap enough to ask often while a worker writes)."""
    from sqlalchemy import func, select

    from delivery.models import Delivery

    async with db.session(write=False) as session:
        return int(await session.scalar(select(func.count()).where(Delivery.status == "pending")) or 0)


async def _attempt_summary(db: Database) -> tuple[int, int]:
    """Attempts stored, and how many of them were not a 200."""
    from sqlalchemy import func, select

    from delivery.models import DeliveryAttempt

    async with db.session(write=False) as session:
        total = await session.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0
        bad = (
            await session.scalar(
                select(func.count())
                .select_from(DeliveryAttempt)
                .where(DeliveryAttempt.status_code.is_distinct_from(200))
            )
            or 0
        )
    return total, bad


@dataclass
class WorkerResult:
    """What the worker phase measured."""

    enqueue_s: float = 0.0
    sent: Timing | None = None
    done: Timing | None = None
    received: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    bad_attempts: int = 0
    stalled: bool = False
    batches: dict[str, BatchLog] = field(default_factory=dict)
    first_request_s: float | None = None  # --worker-process: from its start to the first request received
    drained: Timing | None = None  # --worker-process: from the first request received to the end
    exit_code: int | None = None  # --worker-process: after SIGTERM
    log_tail: str = ""  # --worker-process: the end of its log, when something went wrong


async def _wait_for(
    progress: Callable[[], Coroutine[Any, Any, int]], goal: int, *, interval: float, stall_s: float
) -> bool:
    """Poll ``progress`` until it reaches ``goal``; ``False`` when it has not moved for ``stall_s`` seconds."""
    last, last_change = -1, time.perf_counter()
    while (value := await progress()) < goal:
        now = time.perf_counter()
        if value != last:
            last, last_change = value, now
        elif now - last_change > stall_s:
            return False
        await asyncio.sleep(interval)
    return True


@dataclass
class BatchLog:
    """Sizes and durations of one kind of worker transaction (the duration includes waiting for the lock)."""

    sizes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def summary(self, name: str) -> str:
        if not self.sizes:
            return f"{name}: no calls seen (was it renamed?)"
        count = len(self.sizes)
        return (
            f"{name}: {count} transactions of {sum(self.sizes) / count:.1f} deliveries on average "
            f"(median {statistics.median(self.sizes):g}, max {max(self.sizes)}); "
            f"{statistics.mean(self.seconds) * 1000:.1f} ms each on average, "
            f"median {statistics.median(self.seconds) * 1000:.1f} ms, max {max(self.seconds) * 1000:.0f} ms"
        )


@contextlib.contextmanager
def _traced_outbox(*, enabled: bool) -> Iterator[dict[str, BatchLog]]:
    """Count the worker's claim and record transactions by wrapping ``delivery.outbox`` functions (in memory only)."""
    from delivery import outbox

    logs = {"claim_due": BatchLog(), "record_outcomes": BatchLog()}
    originals = {name: getattr(outbox, name) for name in logs}

    def traced(name: str, function: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        async def wrapper(session: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = await function(session, *args, **kwargs)
            batch = result if name == "claim_due" else (args[0] if args else kwargs["outcomes"])
            logs[name].sizes.append(len(batch))
            logs[name].seconds.append(time.perf_counter() - started)
            return result

        return wrapper

    if enabled:
        for name, function in originals.items():
            setattr(outbox, name, traced(name, function))
    try:
        yield logs
    finally:
        for name, function in originals.items():
            setattr(outbox, name, function)


async def _bench_worker(
    receiver: Receiver, database_url: str, args: argparse.Namespace, profiler: cProfile.Profile | None
) -> WorkerResult:
    from core.database import Database

    settings = _settings(database_url, args)
    db = Database(settings)
    result = WorkerResult()
    try:
        result.enqueue_s = await _enqueue_all(db, settings, receiver.url, args.messages)
        start_count = receiver.count
        if args.worker_process:
            await _drain_with_process(
                db, database_url, args=args, result=result, received=lambda: receiver.count - start_count
            )
        else:
            with _traced_outbox(enabled=args.trace) as result.batches:
                await _deliver_all(
                    db,
                    settings,
                    args=args,
                    result=result,
                    received=lambda: receiver.count - start_count,
                    profiler=profiler,
                )
        await asyncio.sleep(0.2)  # anything sent twice would arrive now
        result.received = receiver.count - start_count
        result.statuses = await _status_counts(db)
        result.attempts, result.bad_attempts = await _attempt_summary(db)
    finally:
        await db.dispose()
    return result


async def _deliver_all(
    db: Database,
    settings: Settings,
    *,
    args: argparse.Namespace,
    result: WorkerResult,
    received: Callable[[], int],
    profiler: cProfile.Profile | None,
) -> None:
    """Start the worker and time it until the receiver has every message and every delivery is ``succeeded``."""
    from delivery.worker import DeliveryWorker

    async def sent() -> int:
        return received()

    async def succeeded() -> int:
        return (await _status_counts(db)).get("succeeded", 0)

    worker = DeliveryWorker(db, settings)  # only now: nothing has woken it before, nothing was sent early
    if profiler is not None:
        profiler.enable()
    started = _mark()
    await worker.start()
    try:
        ok = await _wait_for(sent, args.messages, interval=0.005, stall_s=args.stall_seconds)
        result.sent = Timing.since(started)
        ok = ok and await _wait_for(succeeded, args.messages, interval=0.05, stall_s=args.stall_seconds)
        result.done = Timing.since(started)
        result.stalled = not ok
    finally:
        if profiler is not None:
            profiler.disable()
        await worker.stop()


async def _drain_with_process(
    db: Database, database_url: str, *, args: argparse.Namespace, result: WorkerResult, received: Callable[[], int]
) -> None:
    """Start ``leadwire worker`` and time it, from its start, until every delivery is ``succeeded``."""
    from bench.backlog import drain_with_worker_process

    drain = await drain_with_worker_process(
        database_url=database_url,
        secret_key=_SECRET_KEY,
        settings=_worker_settings(args),
        messages=args.messages,
        received=received,
        pending=lambda: _pending(db),
        stall_s=args.stall_seconds,
    )
    result.sent = None if drain.sent_s is None else Timing(drain.sent_s, None, None)
    result.done = None if drain.done_s is None else Timing(drain.done_s, None, drain.cpu_s)
    result.stalled = drain.stalled
    result.first_request_s = drain.first_request_s
    if drain.done_s is not None and drain.first_request_s is not None:
        cpu = (
            None
            if drain.cpu_s is None or drain.first_request_cpu_s is None
            else drain.cpu_s - drain.first_request_cpu_s
        )
        result.drained = Timing(drain.done_s - drain.first_request_s, None, cpu)
    result.exit_code = drain.exit_code
    if drain.stalled or drain.exit_code:
        result.log_tail = drain.log_tail


# --- reporting --------------------------------------------------------------------------------------------------------


_AREAS = (
    (str(Path(__file__).resolve()), "this benchmark (polling, --trace)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("aiosqlite", "aiosqlite"),
    ("aiohttp", "aiohttp, yarl, multidict"),
    ("yarl", "aiohttp, yarl, multidict"),
    ("multidict", "aiohttp, yarl, multidict"),
    ("asyncio", "asyncio"),
    ("selectors", "asyncio"),
    (str(_ROOT / "delivery"), "leadwire delivery/"),
    (str(_ROOT / "core"), "leadwire core/"),
    ("json", "json"),
)


def _area(filename: str, function: str) -> str:
    if function == "<method 'poll' of 'select.epoll' objects>" or function.endswith("'select' objects>"):
        return "idle (waiting in select/epoll)"
    for needle, area in _AREAS:
        if needle in filename:
            return area
    return f"built-in: {function[:48]}" if filename == "~" else f"other: {Path(filename).name}"


def _print_profile(profiler: cProfile.Profile, path: str, lines: int) -> None:
    """Own time by area, then the top functions by own time.

    Cumulative times are not printed: SQLAlchemy's asyncio layer runs ORM code in greenlets, which cProfile
    follows poorly, so cumulative figures double count. Own time (tottime) adds up to the event-loop thread's wall time.
    """
    profiler.dump_stats(path)
    stats = pstats.Stats(profiler)
    by_area: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        area = _area(filename, function)
        by_area[area] = by_area.get(area, 0.0) + own
    total = sum(by_area.values()) or 1.0
    print(f"--- worker phase profile: own time of the event-loop thread by area ({total:.2f}s in all) ---")
    for area, own in sorted(by_area.items(), key=lambda item: -item[1])[:15]:
        print(f"{area:60} {own:7.2f}s {own / total:6.1%}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(lines)
    print(f"--- worker phase profile: top functions by own time (full stats in {path}) ---")
    print(out.getvalue().split("\n", 6)[-1].rstrip())


def _rate(count: int, timing: Timing | None) -> float | None:
    return round(count / timing.seconds, 1) if timing is not None and timing.seconds > 0 else None


def _cpu_us(count: int, seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / count * 1e6, 1)


def _phase_figures(name: str, count: int, timing: Timing | None) -> dict[str, Any]:
    return {
        f"{name}_per_s": _rate(count, timing),
        f"{name}_s": round(timing.seconds, 3) if timing else None,
        f"{name}_loop_cpu_us": _cpu_us(count, timing.loop_cpu_s if timing else None),
        f"{name}_process_cpu_us": _cpu_us(count, timing.process_cpu_s if timing else None),
    }


def _cpu_cell(value: float | None, width: int) -> str:
    return f"{value:{width}.0f}" if value is not None else f"{'-':>{width}}"


def _report(args: argparse.Namespace, figures: dict[str, Any], problems: list[str]) -> None:
    ceiling = figures["aiohttp_ceiling_per_s"]
    worker = "leadwire worker process" if args.worker_process else "DeliveryWorker"
    rows = [
        (f"aiohttp, no database (ceiling, {figures['ceiling_messages']})", "aiohttp"),  # the best of --ceiling-runs
        ("httpx, no database", "httpx"),
        (f"{worker}, all sent", "worker_sent"),
        (f"{worker}, all recorded", "worker"),
    ]
    if args.worker_process:
        rows.append(("  the same, after its first request", "worker_drain"))
    print()
    print(
        f"{args.messages} messages to one endpoint, concurrency {args.concurrency} ({args.endpoint_concurrency} per "
        f"endpoint), {figures['loop']} loop, python {platform.python_version()}"
        f"{', pinned' if figures['pinned'] else ''}{', PROFILED (slower)' if figures['profiled'] else ''}"
    )
    print(f"{'':40} {'deliveries/s':>13} {'seconds':>9} {'vs ceiling':>11} {'loop CPU µs':>12} {'process CPU µs':>15}")
    for label, key in rows:
        rate = figures["aiohttp_ceiling_per_s" if key == "aiohttp" else f"{key}_per_s"]
        if rate is None:
            print(f"{label:40} {'skipped':>13}")
            continue
        share = f"{rate / ceiling:.0%}" if ceiling else "-"
        print(
            f"{label:40} {rate:13.1f} {figures[f'{key}_s']:9.2f} {share:>11} "
            f"{_cpu_cell(figures[f'{key}_loop_cpu_us'], 12)} {_cpu_cell(figures[f'{key}_process_cpu_us'], 15)}"
        )
    whose = (
        "of the worker process, from its start"
        if args.worker_process
        else "of the event-loop thread and of this process"
    )
    started = (
        f" The worker process sent its first request {figures['worker_first_request_s']:.1f}s after it was started."
        if figures.get("worker_first_request_s") is not None
        else ""
    )
    print(
        f"(CPU is per message, {whose}, the receiver excluded. Enqueueing took {figures['enqueue_s']:.1f}s before "
        f"the clock; encoding and signing cost {figures['sign_encode_us']:.1f} µs a message.{started} Target: "
        f"worker ≥ {TARGET_RATIO:.0%} of the ceiling and ≥ {TARGET_PER_S}/s: "
        f"{'met' if figures['meets_target'] else 'NOT met'}.)"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(json.dumps(figures))


# --- main -------------------------------------------------------------------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--messages",
        "-n",
        type=int,
        help=f"messages to deliver (default {_MESSAGES}; {_BACKLOG} with --worker-process)",
    )
    concurrency = _setting_default("delivery_concurrency")
    per_endpoint = _setting_default("delivery_endpoint_concurrency")
    parser.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=concurrency,
        help=f"LEADWIRE_DELIVERY_CONCURRENCY, and the ceiling's requests in flight (default {concurrency})",
    )
    parser.add_argument(
        "--endpoint-concurrency",
        "-e",
        type=int,
        default=per_endpoint,
        help=f"LEADWIRE_DELIVERY_ENDPOINT_CONCURRENCY (default {per_endpoint})",
    )
    parser.add_argument(
        "--worker-process", action="store_true", help="deliver with a `leadwire worker` process instead of in this one"
    )
    parser.add_argument(
        "--ceiling-messages", type=int, default=10_000, help="requests per ceiling run (default 10000, at most N)"
    )
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="event loop under test")
    parser.add_argument("--skip-httpx", action="store_true", help="do not measure httpx")
    parser.add_argument("--ceiling-runs", type=int, default=3, help="aiohttp runs; the fastest is the ceiling (3)")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="LEADWIRE_DELIVERY_POLL_SECONDS (default 1)")
    parser.add_argument("--stall-seconds", type=float, default=30.0, help="give up after this long without progress")
    parser.add_argument("--pin", action="store_true", help="pin the receiver to CPU 1 and this process to CPU 0")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the worker phase, print its top and save it here")
    parser.add_argument("--profile-lines", type=int, default=30, help="rows of the printed profile (default 30)")
    parser.add_argument("--trace", action="store_true", help="count and time the worker's claim and record batches")
    args = parser.parse_args(argv)
    if args.messages is None:
        args.messages = _BACKLOG if args.worker_process else _MESSAGES
    if min(args.messages, args.concurrency, args.endpoint_concurrency, args.ceiling_runs, args.ceiling_messages) < 1:
        parser.error("--messages, the concurrencies, --ceiling-runs and --ceiling-messages must be positive")
    if args.worker_process and (args.profile or args.trace):
        parser.error("--profile and --trace watch the worker in this process: not with --worker-process")
    return args


async def _run(args: argparse.Namespace, receiver: Receiver, database_url: str) -> tuple[dict[str, Any], list[str]]:
    await receiver.verify()
    problems: list[str] = []
    requests, sign_encode_us = _build_requests(min(args.messages, args.ceiling_messages), receiver.url)
    timings: dict[str, Timing | None] = {"aiohttp": None, "httpx": None}
    ceiling_runs: list[float] = []
    plan = [("aiohttp", _bench_aiohttp)] * args.ceiling_runs + ([] if args.skip_httpx else [("httpx", _bench_httpx)])
    for name, bench in plan:
        before = receiver.count
        timing, failures = await bench(receiver.url, requests, args.concurrency)
        if failures or receiver.count - before != len(requests):
            problems.append(f"{name}: {failures} non-200 answers, {receiver.count - before} requests received")
        if name == "aiohttp":
            ceiling_runs.append(_rate(len(requests), timing) or 0.0)
        best = timings[name]
        if best is None or timing.seconds < best.seconds:  # the ceiling is the best of its runs
            timings[name] = timing
    profiler = cProfile.Profile() if args.profile else None
    worker = await _bench_worker(receiver, database_url, args, profiler)
    if profiler is not None:
        _print_profile(profiler, args.profile, args.profile_lines)
    if args.trace:
        print("--- worker transactions (durations include waiting for the SQLite write lock and the event loop) ---")
        for name, log in worker.batches.items():
            print(log.summary(name))
    problems.extend(_worker_problems(args.messages, worker))
    if worker.log_tail:
        print(f"--- the end of the worker process's log ---\n{worker.log_tail}")
    worker_rate = 0.0 if worker.stalled else _rate(args.messages, worker.done) or 0.0
    ceiling = _rate(len(requests), timings["aiohttp"]) or 0.0
    ratio = round(worker_rate / ceiling, 3) if ceiling else 0.0
    figures: dict[str, Any] = {
        "mode": "worker process" if args.worker_process else "in process",
        "messages": args.messages,
        "endpoints": 1,
        "concurrency": args.concurrency,
        "endpoint_concurrency": args.endpoint_concurrency,
        "worker_per_s": worker_rate,
        "aiohttp_ceiling_per_s": ceiling,
        "httpx_per_s": _rate(args.messages, timings["httpx"]),
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "target_per_s": TARGET_PER_S,
        "meets_target": ratio >= TARGET_RATIO and worker_rate >= TARGET_PER_S,
        "aiohttp_runs_per_s": ceiling_runs,
    }
    figures |= _phase_figures("worker", args.messages, worker.done)
    figures |= _phase_figures("worker_sent", args.messages, worker.sent)
    if args.worker_process:
        figures |= _phase_figures("worker_drain", args.messages, worker.drained)
    figures |= _phase_figures("aiohttp", len(requests), timings["aiohttp"])
    figures |= _phase_figures("httpx", len(requests), timings["httpx"])
    del figures["aiohttp_per_s"]  # it is aiohttp_ceiling_per_s
    figures |= {
        "ceiling_messages": len(requests),
        "worker_first_request_s": None if worker.first_request_s is None else round(worker.first_request_s, 2),
        "enqueue_s": round(worker.enqueue_s, 2),
        "sign_encode_us": round(sign_encode_us, 2),
        "loop": args.loop,
        "pinned": args.pin,
        "profiled": profiler is not None,
        "ok": not problems,
    }
    return figures, problems


def _worker_problems(messages: int, worker: WorkerResult) -> list[str]:
    problems = []
    if worker.stalled:
        problems.append("the worker stopped making progress")
    if worker.received != messages:
        problems.append(f"worker: the receiver got {worker.received} requests for {messages} messages")
    if worker.statuses.get("succeeded", 0) != messages:
        problems.append(f"worker: delivery statuses {worker.statuses}, expected {messages} succeeded")
    if worker.attempts != messages or worker.bad_attempts:
        problems.append(f"worker: {worker.attempts} attempts stored, {worker.bad_attempts} of them not a 200")
    if worker.exit_code:
        problems.append(f"the worker process exited with status {worker.exit_code} when stopped")
    return problems


def _new_loop(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every request was answered and every delivery succeeded."""
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    pin = args.pin and hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
    args.pin = pin
    receiver = Receiver(cpu=1 if pin else None)
    try:
        if pin:
            os.sched_setaffinity(0, {0})
        from migrations import upgrade

        with tempfile.TemporaryDirectory(prefix="leadwire-bench-") as directory:
            database_url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            upgrade(database_url)
            with asyncio.Runner(loop_factory=_new_loop(args.loop)) as runner:
                figures, problems = runner.run(_run(args, receiver, database_url))
    finally:
        receiver.close()
    _report(args, figures, problems)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
