"""The in-process moving window behind the rate limits when Redis is not configured."""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import pytest
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from core.ratelimit_memory import DEFAULT_CAPACITY, LocalMovingWindowStorage

DAY = 86_400


class Clock:
    """A wall clock that tests move by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


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
    assert len(storage) == 1  # the point: memory is given back


async def test_clients_from_ever_new_addresses_cannot_grow_the_counts_without_bound() -> None:
    storage = LocalMovingWindowStorage()

    for n in range(200_000):  # each a /64 of its own, one submission each: an attacker rotating IPv6 prefixes
        subject = f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::/64"
        assert await storage.acquire_entry(f"LIMITER/leadwire:submit/ip/{subject}/60/1/minute", 60, 60)
        assert await storage.acquire_entry(f"LIMITER/leadwire:submit/ip/{subject}/1000/1/day", 1000, DAY)
    held = await storage.reset()

    assert held is not None
    assert held <= 50_000  # the default capacity, whatever the number of addresses


@pytest.mark.parametrize(("window", "hits"), [(60, 1), (60, 10), (DAY, 1), (DAY, 1000)])
async def test_a_count_takes_a_few_hundred_bytes_and_a_long_window_as_few_with_many_hits(
    window: int, hits: int
) -> None:
    counts = 5_000
    storage = LocalMovingWindowStorage(capacity=counts)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(counts):
            key = f"LIMITER/leadwire:submit/ip_form/2001:db8:{n:x}::/64/form_06h34emfqak29xve6vj0jyxmm8/1000/1/day"
            for _ in range(hits if window < DAY else 1):  # an exact window keeps each hit's time
                assert await storage.acquire_entry(key, 1000, window)
            if window == DAY and hits > 1:
                assert await storage.acquire_entry(key, 1000, window, amount=hits - 1)
        per_count = (tracemalloc.get_traced_memory()[0] - before) / counts
    finally:
        tracemalloc.stop()

    # an exact window holds its hits (32 bytes each, and its list's spare room); a long one two counters, whatever
    # number of hits they stand for
    bound = 360 + 40 * (hits - 1) if window < DAY else 360
    assert per_count <= bound, f"{window} s window, {hits} hits: {per_count:.0f} bytes per count"
    assert len(storage) == counts


async def test_at_capacity_the_count_hit_least_recently_is_forgotten_and_a_refused_hit_is_a_hit() -> None:
    storage = LocalMovingWindowStorage(capacity=3)
    limiter = MovingWindowRateLimiter(storage)
    item = parse("1/minute")

    first = [await limiter.hit(item, client) for client in ("a", "b", "c")]
    retried = await limiter.hit(item, "a")  # refused, but a hit: "b" is now the least recent
    newcomer = await limiter.hit(item, "d")
    again = {client: await limiter.hit(item, client) for client in ("a", "c", "b")}

    assert first == [True, True, True]
    assert retried is False
    assert newcomer is True
    assert again == {"a": False, "c": False, "b": True}  # only "b" was forgotten, and starts afresh
    assert storage.evicted == 2  # "b", then "d" to make room for "b" again
    assert len(storage) == 3


async def test_a_client_that_keeps_trying_is_never_forgotten_however_many_others_come() -> None:
    storage = LocalMovingWindowStorage(capacity=1_000)
    limiter = MovingWindowRateLimiter(storage)
    item = parse("5/minute")
    abuser = [await limiter.hit(item, "abuser") for _ in range(5)]

    refusals = []
    for n in range(20_000):  # twenty times the capacity in new clients, the abuser trying between them
        assert await limiter.hit(item, f"newcomer-{n}")
        if n % 500 == 0:
            refusals.append(await limiter.hit(item, "abuser"))

    assert abuser == [True] * 5
    assert refusals == [False] * 40
    assert storage.evicted >= 19_000
    assert len(storage) == 1_000


async def test_making_room_by_dropping_an_expired_count_forgets_nobody() -> None:
    clock = Clock(1_000_000.0)
    storage = LocalMovingWindowStorage(capacity=2, clock=clock)
    await storage.acquire_entry("stale", 1, 60)
    clock.now += 30
    await storage.acquire_entry("live", 1, 60)
    clock.now += 31  # "stale" has left its window, "live" has not

    assert await storage.acquire_entry("new", 1, 60)
    assert storage.evicted == 0
    assert not await storage.acquire_entry("live", 1, 60)  # still counted
    assert await storage.acquire_entry("another", 1, 60)  # "new" goes now: hit longer ago than "live"
    assert storage.evicted == 1
    assert not await storage.acquire_entry("live", 1, 60)


async def test_a_long_window_counts_the_previous_fixed_window_in_proportion_to_its_overlap() -> None:
    clock = Clock(1_000 * DAY + DAY / 2)  # noon (UTC) of some day
    limiter = MovingWindowRateLimiter(LocalMovingWindowStorage(clock=clock))
    item = parse("3/day")

    noon = [await limiter.hit(item, "client") for _ in range(4)]
    stats = await limiter.get_window_stats(item, "client")
    # 3 hits yesterday weigh 3 * (1 - elapsed/day): below 2 (room for one) after a third of today
    clock.now = 1_001 * DAY + DAY / 3 - 60
    early = await limiter.hit(item, "client")
    clock.now = 1_001 * DAY + DAY / 3 + 60
    on_time = await limiter.hit(item, "client")
    second = await limiter.hit(item, "client")
    clock.now = 1_003 * DAY
    afresh = [await limiter.hit(item, "client") for _ in range(4)]

    assert noon == [True, True, True, False]
    assert stats.remaining == 0
    assert stats.reset_time == pytest.approx(1_001 * DAY + DAY / 3)
    assert early is False
    assert on_time is True
    assert second is False
    assert afresh == [True, True, True, False]


async def test_a_long_window_never_lets_more_than_its_limit_into_one_fixed_window() -> None:
    clock = Clock(2_000 * DAY)
    limiter = MovingWindowRateLimiter(LocalMovingWindowStorage(clock=clock))
    item = parse("100/day")

    accepted_per_day = []
    for day in range(2_000, 2_005):
        accepted = 0
        for minute in range(0, 24 * 60, 5):  # someone trying every five minutes, all day long
            clock.now = day * DAY + minute * 60
            accepted += await limiter.hit(item, "client")
        accepted_per_day.append(accepted)

    assert accepted_per_day[0] == 100
    assert all(0 < accepted <= 100 for accepted in accepted_per_day)


def test_the_default_capacity_is_the_documented_one() -> None:
    assert LocalMovingWindowStorage().capacity == DEFAULT_CAPACITY == 50_000
