"""The in-process moving window behind the rate limits when Redis is not configured."""

from __future__ import annotations

import asyncio
import time

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from core.ratelimit_memory import LocalMovingWindowStorage


async def test_a_moving_window_refuses_the_hit_over_the_limit_until_the_oldest_hit_leaves_it() -> None:
    limiter = MovingWindowRateLimiter(LocalMovingWindowStorage())
    item = parse("3/second")

    hits = [await limiter.hit(item, "client") for _ in range(4)]
    stats = await limiter.get_window_stats(item, "client")
    resets_in = stats.reset_time - time.time()
    other = await limiter.hit(item, "another client")
    await asyncio.sleep(1.05)
    later = await limiter.hit(item, "client")

    assert hits == [True, True, True, False]
    assert stats.remaining == 0
    assert 0 < resets_in <= 1
    assert other is True
    assert later is True


async def test_expired_keys_are_swept_away() -> None:
    storage = LocalMovingWindowStorage(sweep_seconds=0)
    limiter = MovingWindowRateLimiter(storage)
    item = parse("5/second")

    for n in range(100):
        await limiter.hit(item, f"client-{n}")
    await asyncio.sleep(1.05)
    await limiter.hit(item, "last")

    assert await storage.get("client-0") == 0
    assert len(storage._hits) == 1  # the point: memory is given back
