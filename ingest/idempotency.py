"""Idempotency keys: the request fingerprint, and the lock that makes a second request in flight a 409."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.errors import Conflict, FieldError, ValidationFailed

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ("CLIENT_SCOPE", "InFlight", "check_key", "request_sha256")

logger = logging.getLogger("leadwire.idempotency")

CLIENT_SCOPE = "client"
"""The key space of ``Idempotency-Key`` headers and ``_idempotency_key`` fields; each source has its own (its id)."""
_MAX_KEY = 255
_LOCK_TTL_MS = 30_000
_REDIS_TIMEOUT_S = 0.5
_REDIS_RETRY_S = 5.0
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def check_key(key: str) -> str:
    """The key as given, if usable.

    Raises:
        ValidationFailed: Empty, longer than 255 characters, or not printable ASCII.
    """
    if not key or len(key) > _MAX_KEY or not key.isascii() or not key.isprintable():
        raise ValidationFailed(
            [FieldError("Idempotency-Key", "invalid", "use 1 to 255 printable ASCII characters, such as a UUID")]
        )
    return key


def request_sha256(content_type: str, body: bytes) -> str:
    """What makes two requests "the same" for an idempotency key: the body (in canonical form) and its format."""
    digest = hashlib.sha256(content_type.encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


class InFlight:
    """Keys whose request is being processed right now, so that a concurrent retry is told 409 instead of waiting.

    In-process by default; in Redis (``SET NX PX``) when ``LEADWIRE_REDIS_URL`` is set, so the lock holds across
    instances. The database's unique key is what guarantees one submission per key in the end: the lock only
    turns a race into a clear answer. If Redis fails the lock falls back to this process and says so in the log.
    """

    def __init__(self, settings: Settings) -> None:
        self._local: set[str] = set()
        self._redis: Redis | None = None
        if settings.redis_url:
            self._redis = Redis.from_url(
                settings.redis_url, socket_timeout=_REDIS_TIMEOUT_S, socket_connect_timeout=_REDIS_TIMEOUT_S
            )
        self._redis_down_until = 0.0
        self._tokens: dict[str, str] = {}

    async def acquire(self, scope: str, key: str) -> str:
        """Take the lock of ``key`` within ``scope`` (a form id); returns the name to release it with.

        Raises:
            Conflict: Another request with the same key is still being processed.
        """
        name = f"leadwire:idem:{scope}:{hashlib.sha256(key.encode()).hexdigest()}"
        if name in self._local:
            raise _in_flight()
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            token = secrets.token_hex(8)
            try:
                taken = await self._redis.set(name, token, nx=True, px=_LOCK_TTL_MS)
            except (TimeoutError, RedisError, OSError) as exc:
                self._redis_down_until = time.monotonic() + _REDIS_RETRY_S
                logger.warning("idempotency locks: Redis unavailable (%s); locking in-process for now", exc)
            else:
                if not taken:
                    raise _in_flight()
                self._tokens[name] = token
        self._local.add(name)
        return name

    async def release(self, name: str) -> None:
        """Let the next request with this key through (it will find the stored response)."""
        self._local.discard(name)
        token = self._tokens.pop(name, None)
        if token is not None and self._redis is not None:
            try:
                await self._redis.eval(_RELEASE, 1, name, token)
            except (TimeoutError, RedisError, OSError) as exc:
                logger.warning("idempotency locks: could not release in Redis (%s); it expires by itself", exc)

    async def close(self) -> None:
        """Close the Redis connections, if any."""
        if self._redis is not None:
            await self._redis.aclose()


def _in_flight() -> Conflict:
    return Conflict("a request with this Idempotency-Key is still being processed; retry it in a moment")
