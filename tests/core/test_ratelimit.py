"""The submission limiter's in-process counts: bounded by LEADWIRE_RATE_LIMIT_MEMORY_CAPACITY, and saying so."""

from __future__ import annotations

import logging

from core.errors import RateLimited
from core.metrics import Metrics
from core.ratelimit import SubmitLimiter
from tests.conftest import make_settings


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_the_in_process_counts_stay_within_their_capacity_count_what_they_forget_and_log_it_once() -> None:
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db", rate_limit_ip="2/minute", rate_limit_memory_capacity="1000"
    )
    metrics = Metrics()
    limiter = SubmitLimiter(settings, metrics)
    records = _Records()
    returning = []
    logging.getLogger("leadwire.ratelimit").addHandler(records)
    try:
        for n in range(4_000):  # four times the capacity in new clients
            await limiter.check_client(f"198.51.{n >> 8}.{n & 0xFF}")
            if n % 200 == 0:  # and one that keeps coming back
                try:
                    await limiter.check_client("203.0.113.9")
                except RateLimited:
                    returning.append(False)
                else:
                    returning.append(True)
    finally:
        logging.getLogger("leadwire.ratelimit").removeHandler(records)

    assert returning == [True, True] + [False] * 18  # never forgotten while it tries
    evicted = metrics.registry.get_sample_value("leadwire_rate_limit_evicted_total")
    assert len(limiter.local_storage) <= 1_000
    assert evicted == limiter.local_storage.evicted >= 3_000
    assert [message for message in records.messages if "counts are full" in message] == [
        (
            "rate limits: the in-process counts are full (1000); the counts hit least recently are forgotten to make "
            "room (raise LEADWIRE_RATE_LIMIT_MEMORY_CAPACITY, or share counts in Redis)"
        )
    ]
