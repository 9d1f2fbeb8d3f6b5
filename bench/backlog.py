"""A backlog drained by a real ``leadwire worker`` process: the ``--worker-process`` mode of ``bench/delivery.py``."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cluster import Node, leadwire_env

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ("Drain", "drain_with_worker_process")

_SENT_POLL_S = 0.02  # the receiver's counter is shared memory: reading it costs nothing
_DONE_POLL_S = 0.1  # a query on the database the worker is writing to


@dataclass(frozen=True)
class Drain:
    """What one ``leadwire worker`` process did with the backlog, timed from the moment it was started."""

    first_request_s: float | None  # start-up: imports, settings, the migration check, the first claim
    sent_s: float | None  # the receiver has had every request
    done_s: float | None  # every delivery is recorded as succeeded
    first_request_cpu_s: float | None  # user and system CPU of the worker process at its first request
    cpu_s: float | None  # and when every delivery was recorded
    stalled: bool
    exit_code: int | None  # after SIGTERM: 0 when it stopped cleanly
    log_tail: str


def _process_cpu_s(pid: int | None) -> float | None:
    """User and system CPU seconds of a running process, from /proc (``None`` elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except (OSError, ValueError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime and stime, in clock ticks


async def drain_with_worker_process(
    *,
    database_url: str,
    secret_key: str,
    settings: dict[str, str],
    messages: int,
    received: Callable[[], int],
    pending: Callable[[], Awaitable[int]],
    stall_s: float,
) -> Drain:
    """Start ``leadwire worker`` on the database, and wait until it has delivered and recorded ``messages``.

    ``settings`` are ``LEADWIRE_*`` values without the prefix; ``received`` counts the requests the receiver has
    answered since the backlog was enqueued, ``pending`` the deliveries not yet recorded as succeeded. The worker
    is stopped with SIGTERM at the end, as an operator would stop it.
    """
    with tempfile.TemporaryDirectory(prefix="leadwire-bench-worker-") as log_dir:
        node = Node("worker", "worker", leadwire_env(database_url, secret_key, **settings), Path(log_dir))
        started = time.perf_counter()
        node.spawn()
        first = sent = done = first_cpu = cpu = None
        stalled = True
        try:
            last, last_change = 0, started
            while node.running and time.perf_counter() - last_change < stall_s:
                count = received()
                now = time.perf_counter()
                if count != last:
                    last, last_change = count, now
                    if first is None:
                        first, first_cpu = now - started, _process_cpu_s(node.pid)
                if count >= messages:
                    sent = now - started
                    break
                await asyncio.sleep(_SENT_POLL_S)
            last_left, last_change = -1, time.perf_counter()
            while sent is not None and node.running and time.perf_counter() - last_change < stall_s:
                if (left := await pending()) == 0:
                    done = time.perf_counter() - started
                    cpu = _process_cpu_s(node.pid)
                    stalled = False
                    break
                if left != last_left:
                    last_left, last_change = left, time.perf_counter()
                await asyncio.sleep(_DONE_POLL_S)
        finally:
            exit_code = node.stop()
        return Drain(first, sent, done, first_cpu, cpu, stalled, exit_code, node.log_tail())
