"""An in-process moving-window storage for ``limits``: fast with many keys, and bounded however many clients come.

``limits``' own ``MemoryStorage`` prepends to a list on every hit and, after each hit, restarts a task that walks
every key with a thread hand-off per key; with one key per visitor (rate limits per client address) that costs more
than the rest of a submission. This one sweeps expired counts at most once per ``sweep_seconds``, synchronously, and
bounds its memory two ways:

- **A fixed size per count for long windows.** A window of up to an hour is exact: a sorted list of when each hit
  leaves it, at most ``limit`` of them, gone within the hour. A longer window (the per-day limits, up to 1000 hits a
  client) is two counters instead: the hits of the current fixed window (aligned on multiples of its length: UTC
  days) and of the previous one, which counts in proportion to how much of it the moving window still covers (the
  "sliding window counter" of ``limits`` and Cloudflare). This assumes the previous window's hits were spread
  evenly: it refuses a client a little early if they came early, and in the worst case (all of one day's hits just
  before midnight, then as many as allowed the next evening) lets up to twice the limit into some 24 hours; it never
  lets more than the limit into one fixed window.
- **A capacity.** At most ``capacity`` counts are kept, least recently hit first in line; a refused hit counts as a
  hit. To make room for a new count, the count hit least recently is dropped: often one that has expired anyway
  (the sweep leaves some for up to ``sweep_seconds``); otherwise it is forgotten, and its client starts afresh, as
  after an idle window. So a live count is forgotten only after ``capacity`` other counts have been hit since its own
  last hit: a client that keeps trying, or a form that keeps receiving submissions, stays counted.
  Each new client address brings two to four counts (its per-address and per-address-and-form limits, per minute and
  per day), so to have one client forgotten an attacker must first send about ``capacity / 4`` submissions from
  addresses of its own, which the limits would have let through anyway. Rotating addresses, or IPv6 prefixes, grows
  nothing past the capacity and buys no more than the addresses themselves do; the per-form limit still counts them.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from limits.aio.storage.base import MovingWindowSupport, Storage

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("DEFAULT_CAPACITY", "EXACT_WINDOW_SECONDS", "LocalMovingWindowStorage")

DEFAULT_CAPACITY = 50_000
"""Counts kept at most unless told otherwise (about 300 bytes each with an IPv6 client and a form id: 15 MiB)."""

EXACT_WINDOW_SECONDS = 3_600
"""Windows up to this long keep every hit's time; longer ones keep two counters."""


class _SlidingCount:
    """The two counters of a long window: hits in the current fixed window and in the one before."""

    __slots__ = ("current", "expires", "previous")

    def __init__(self, expires: float, previous: int, current: int) -> None:
        self.expires = expires
        """When the current fixed window's hits stop counting: its start plus twice the window."""
        self.previous = previous
        self.current = current

    def counters(self, window: int, now: float) -> tuple[float, int, int]:
        """The current fixed window's start, and the hits of the window before it and of this one, as of ``now``."""
        start = now - now % window
        own_start = self.expires - 2 * window
        if own_start == start:
            return start, self.previous, self.current
        if own_start == start - window:
            return start, self.current, 0
        return start, 0, 0


_Count = list[float] | _SlidingCount


def _weighted(start: float, previous: int, current: int, window: int, now: float) -> float:
    """Hits in the moving window: this fixed window's, and the previous one's in proportion to what still overlaps."""
    return previous * (1 - (now - start) / window) + current


def _next_room(start: float, previous: int, current: int, limit: int, window: int) -> float:
    """When the weighted count next has room for one hit (it is full now)."""
    if current < limit:  # within this fixed window, once enough of the previous one has slid out
        return start + window * (1 - (limit - 1 - current) / previous)
    # in the next fixed window, where this one's hits are the previous ones
    return start + window + window * (1 - (limit - 1) / current)


class LocalMovingWindowStorage(Storage, MovingWindowSupport):
    """Moving windows in this process's memory, for the rate limits when Redis is not configured (or is down)."""

    STORAGE_SCHEME = ["leadwire+memory"]  # noqa: RUF012 - limits' registry reads it from the class

    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, sweep_seconds: float = 30.0, clock: Callable[[], float] = time.time
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        super().__init__(None)
        self._counts: OrderedDict[str, _Count] = OrderedDict()  # least recently hit first
        self._capacity = capacity
        self._clock = clock  # the wall clock (hits are compared with fixed windows aligned on it); tests move it
        self._sweep_seconds = sweep_seconds
        self._next_sweep = time.monotonic() + sweep_seconds
        self.evicted = 0
        """How many counts were forgotten, before they expired, to stay within the capacity."""

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    @property
    def capacity(self) -> int:
        """The most counts kept at once."""
        return self._capacity

    def __len__(self) -> int:
        return len(self._counts)

    def _sweep(self, now: float) -> None:
        self._next_sweep = time.monotonic() + self._sweep_seconds
        for key in [key for key, count in self._counts.items() if _expires(count) <= now]:
            del self._counts[key]

    def _make_room(self, now: float) -> None:
        while len(self._counts) >= self._capacity:
            _, oldest = self._counts.popitem(last=False)
            if _expires(oldest) > now:
                self.evicted += 1

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record ``amount`` hits unless that would put more than ``limit`` inside the last ``expiry`` seconds."""
        now = self._clock()
        if time.monotonic() >= self._next_sweep:
            self._sweep(now)
        count = self._counts.get(key)
        if count is not None:
            self._counts.move_to_end(key)  # hit, whether let through or refused
        if expiry > EXACT_WINDOW_SECONDS:
            return self._acquire_sliding(key, count, limit=limit, expiry=expiry, amount=amount, now=now)
        return self._acquire_exact(key, count, limit=limit, expiry=expiry, amount=amount, now=now)

    def _acquire_exact(
        self, key: str, count: _Count | None, *, limit: int, expiry: int, amount: int, now: float
    ) -> bool:
        leaves = count if isinstance(count, list) else []
        if leaves and leaves[0] <= now:
            del leaves[: bisect.bisect_right(leaves, now)]
        if amount > limit or len(leaves) + amount > limit:
            return False
        leaves.extend([now + expiry] * amount)
        if count is None:
            self._make_room(now)
            self._counts[key] = leaves
        return True

    def _acquire_sliding(
        self, key: str, count: _Count | None, *, limit: int, expiry: int, amount: int, now: float
    ) -> bool:
        if isinstance(count, _SlidingCount):
            start, previous, current = count.counters(expiry, now)
        else:
            start, previous, current = now - now % expiry, 0, 0
        if amount > limit or _weighted(start, previous, current, expiry, now) + amount > limit:
            return False
        expires = start + 2 * expiry
        if isinstance(count, _SlidingCount):
            count.expires, count.previous, count.current = expires, previous, current + amount
        else:
            self._make_room(now)
            self._counts[key] = _SlidingCount(expires, previous, current + amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """When the window was last full less ``expiry`` (see below), and how many hits it holds.

        For an exact window: the oldest hit inside it (now when there is none), so that it plus ``expiry`` is when
        that hit leaves. For a long window: the time from which one more hit fits, less ``expiry``.
        """
        now = self._clock()
        count = self._counts.get(key)
        if isinstance(count, _SlidingCount):
            start, previous, current = count.counters(expiry, now)
            weighted = _weighted(start, previous, current, expiry, now)
            room = now if weighted + 1 <= limit else _next_room(start, previous, current, limit, expiry)
            return max(room, now) - expiry, min(limit, math.ceil(weighted))
        leaves = [t for t in count or () if t > now] if isinstance(count, list) else []
        return (leaves[0] - expiry, len(leaves)) if leaves else (now, 0)

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)

    async def reset(self) -> int | None:
        count = len(self._counts)
        self._counts.clear()
        return count

    async def check(self) -> bool:
        return True

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("only moving windows are kept here")

    async def get(self, key: str) -> int:
        count = self._counts.get(key)
        if isinstance(count, _SlidingCount):
            return count.current
        return len(count or ())

    async def get_expiry(self, key: str) -> float:
        count = self._counts.get(key)
        return self._clock() if count is None else _expires(count)


def _expires(count: _Count) -> float:
    """When a count stops mattering: its newest hit leaves its window."""
    if isinstance(count, _SlidingCount):
        return count.expires
    return count[-1] if count else 0.0
