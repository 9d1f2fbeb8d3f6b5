"""Moving-window rate limits for submissions and sign-ins: Redis when configured (shared by every instance), else
in-process."""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from core.errors import RateLimited
from core.ratelimit_memory import LocalMovingWindowStorage

if TYPE_CHECKING:
    from core.metrics import Metrics
    from core.settings import Settings

__all__ = ("SignInLimiter", "SubmitLimiter")

logger = logging.getLogger("leadwire.ratelimit")

_REDIS_RETRY_S = 5.0
_REDIS_TIMEOUT_S = 0.5


class _Limiter:
    """Named limits over one storage. With ``LEADWIRE_REDIS_URL`` the counts live in Redis, so a client over its
    limit on one instance is refused on all of them. If Redis cannot be reached, the limiter logs it and counts in
    this process instead for a few seconds before trying Redis again: nobody is refused because the limiter is down,
    and limits never stop applying."""

    _namespace = "leadwire"
    _what = "requests"

    def __init__(
        self, settings: Settings, rules: list[tuple[str, list[RateLimitItem]]], metrics: Metrics | None = None
    ) -> None:
        self._metrics = metrics
        self._rules = rules
        self.local_storage = LocalMovingWindowStorage(settings.rate_limit_memory_capacity)
        """The in-process counts (the only ones without Redis), bounded by ``LEADWIRE_RATE_LIMIT_MEMORY_CAPACITY``."""
        self._memory = MovingWindowRateLimiter(self.local_storage)
        self._evicted_seen = 0
        self._redis: MovingWindowRateLimiter | None = None
        if settings.redis_url:
            storage = RedisStorage(
                "async+" + settings.redis_url,
                wrap_exceptions=True,
                implementation="redispy",
                socket_timeout=_REDIS_TIMEOUT_S,
                socket_connect_timeout=_REDIS_TIMEOUT_S,
            )
            self._redis = MovingWindowRateLimiter(storage)
        self._redis_down_until = 0.0
        self.fallbacks = 0
        """How many checks were counted in-process because Redis failed (for metrics and tests)."""

    @property
    def shared(self) -> bool:
        """Whether counts are currently kept in Redis."""
        return self._redis is not None and time.monotonic() >= self._redis_down_until

    async def _count(self, keys: dict[str, tuple[str, ...]]) -> None:
        if self._redis is not None and self.shared:
            try:
                await self._apply(self._redis, keys)
            except StorageError as exc:
                self._redis_down_until = time.monotonic() + _REDIS_RETRY_S
                self.fallbacks += 1
                logger.warning("rate limits: Redis unavailable (%s); counting in-process for now", exc.storage_error)
            else:
                return
        elif self._redis is not None:
            self.fallbacks += 1
        try:
            await self._apply(self._memory, keys)
        finally:
            self._note_evictions()

    def _note_evictions(self) -> None:
        evicted = self.local_storage.evicted
        if evicted == self._evicted_seen:
            return
        if not self._evicted_seen:
            logger.warning(
                "rate limits: the in-process counts are full (%d); the counts hit least recently are forgotten to make "
                "room (raise LEADWIRE_RATE_LIMIT_MEMORY_CAPACITY, or share counts in Redis)",
                self.local_storage.capacity,
            )
        if self._metrics is not None:
            self._metrics.rate_limit_evicted.inc(evicted - self._evicted_seen)
        self._evicted_seen = evicted

    async def _apply(self, limiter: MovingWindowRateLimiter, keys: dict[str, tuple[str, ...]]) -> None:
        for name, items in self._rules:
            if name not in keys:
                continue
            identifiers = (self._namespace, name, *keys[name])
            for item in items:
                if not await limiter.hit(item, *identifiers):
                    stats = await limiter.get_window_stats(item, *identifiers)
                    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                    if self._metrics is not None:
                        self._metrics.rate_limited.labels(name).inc()
                    raise RateLimited(retry_after, f"too many {self._what} ({item}); try again in {retry_after} s")

    async def close(self) -> None:
        """Release the Redis connections, if any."""
        if self._redis is not None:
            storage = self._redis.storage
            if isinstance(storage, RedisStorage):
                await storage.bridge.storage.aclose()  # type: ignore[attr-defined]


class SubmitLimiter(_Limiter):
    """The three submission limits: per client address and form, per client address, per form. Prospects are
    never refused because the limiter is down."""

    _namespace = "leadwire:submit"
    _what = "submissions"

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        rules = [
            ("ip_form", parse_many(settings.rate_limit_ip_form)),
            ("ip", parse_many(settings.rate_limit_ip)),
            ("form", parse_many(settings.rate_limit_form)),
        ]
        super().__init__(settings, rules, metrics)

    async def check_client(self, client: str) -> None:
        """Count one submission by ``client`` (an address, or an IPv6 /64), whatever form it is for.

        Counted first, and for every request: a client over its own limit is refused before anything else is
        looked up or counted, so it cannot fill the limiter with keys for forms that do not exist.

        Raises:
            RateLimited: A limit is used up; ``retry_after`` says when the oldest counted hit leaves its window.
        """
        await self._count({"ip": (client,)})

    async def check_form(self, *, client: str, form: str) -> None:
        """Count one submission by ``client`` to an existing ``form`` (its id), per client and form, then per form.

        Raises:
            RateLimited: A limit is used up.
        """
        await self._count({"ip_form": (client, form), "form": (form,)})


class SignInLimiter(_Limiter):
    """Console sign-in attempts, per account (the address typed, whether or not it has an account) and per client
    address: guessing one member's password, or many members' passwords from one place, is slowed down alike. Also
    second-factor codes per member, and password reset requests per address typed and per client."""

    _namespace = "leadwire:sign-in"
    _what = "attempts"

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        rules = [
            ("sign_in_address", parse_many(settings.sign_in_limit_address)),
            ("sign_in_account", parse_many(settings.sign_in_limit_account)),
            ("second_factor", parse_many(settings.second_factor_limit)),
            ("reset_address", parse_many(settings.password_reset_limit_address)),
            ("reset_account", parse_many(settings.password_reset_limit_account)),
        ]
        super().__init__(settings, rules, metrics)

    async def check_address(self, client: str) -> None:
        """Count one attempt to sign in from ``client`` whose account is not known yet (a passkey's).

        Raises:
            RateLimited: The client's limit is used up.
        """
        await self._count({"sign_in_address": (client,)})

    async def check_second_factor(self, member_id: str) -> None:
        """Count one second-factor code tried for the member (TOTP or recovery code), in any of their sessions.

        Raises:
            RateLimited: The member's limit is used up.
        """
        await self._count({"second_factor": (member_id,)})

    async def check_reset(self, *, account: str, client: str) -> None:
        """Count one password reset request for ``account`` (the address typed) from ``client``.

        Raises:
            RateLimited: A limit is used up.
        """
        await self._count({"reset_address": (client,), "reset_account": (account,)})

    async def check_attempt(self, *, account: str, client: str) -> None:
        """Count one attempt to sign in as ``account`` from ``client`` (an address, or an IPv6 /64).

        Raises:
            RateLimited: A limit is used up.
        """
        await self._count({"sign_in_address": (client,), "sign_in_account": (account,)})
