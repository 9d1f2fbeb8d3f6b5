"""An in-process moving-window storage for ``limits`` that stays fast with many keys.

``limits``' own ``MemoryStorage`` prepends to a list on every hit and, after each hit, restarts a task that walks
every key with a thread hand-off per key; with one key per visitor (rate limits per client address) that costs more
than the rest of a submission. This keeps a sorted list of hit times per key (a list, not a deque: most keys hold
one or two hits, and an empty deque alone takes over 600 bytes) and sweeps expired keys at most once per
``sweep_seconds``, synchronously.
"""

from __future__ import annotations

import bisect
import time

from limits.aio.storage.base import MovingWindowSupport, Storage

__all__ = ("LocalMovingWindowStorage",)


class LocalMovingWindowStorage(Storage, MovingWindowSupport):
    """Moving windows in this process's memory, for the rate limits when Redis is not configured."""

    STORAGE_SCHEME = ["leadwire+memory"]  # noqa: RUF012 - limits' registry reads it from the class

    def __init__(self, sweep_seconds: float = 30.0) -> None:
        super().__init__(None)
        self._hits: dict[str, list[float]] = {}
        self._expiry: dict[str, float] = {}  # when a key's newest hit leaves the longest window it was used with
        self._sweep_seconds = sweep_seconds
        self._next_sweep = time.monotonic() + sweep_seconds

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def _sweep(self, now: float) -> None:
        self._next_sweep = time.monotonic() + self._sweep_seconds
        for key in [key for key, expiry in self._expiry.items() if expiry <= now]:
            del self._expiry[key]
            self._hits.pop(key, None)

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record ``amount`` hits unless that would put more than ``limit`` inside the last ``expiry`` seconds."""
        now = time.time()
        if time.monotonic() >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = []
        cutoff = now - expiry
        if hits and hits[0] <= cutoff:
            del hits[: bisect.bisect_right(hits, cutoff)]
        if amount > limit or len(hits) + amount > limit:
            return False
        hits.extend([now] * amount)
        self._expiry[key] = max(self._expiry.get(key, 0.0), now + expiry)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:  # noqa: ARG002
        """The oldest hit inside the window (now when there is none) and how many hits the window holds."""
        now = time.time()
        hits = [t for t in self._hits.get(key, ()) if t > now - expiry]
        return (hits[0], len(hits)) if hits else (now, 0)

    async def clear(self, key: str) -> None:
        self._hits.pop(key, None)
        self._expiry.pop(key, None)

    async def reset(self) -> int | None:
        count = len(self._hits)
        self._hits.clear()
        self._expiry.clear()
        return count

    async def check(self) -> bool:
        return True

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("only moving windows are kept here")

    async def get(self, key: str) -> int:
        return len(self._hits.get(key, ()))

    async def get_expiry(self, key: str) -> float:
        return self._expiry.get(key, time.time())
