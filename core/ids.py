"""Prefixed, time-sortable identifiers such as ``form_01jd4r8k6q...``."""

from __future__ import annotations

import secrets
import time

__all__ = ("new_id", "random_token", "timestamp_ms_of")

# Crockford's base32, lower case: no i, l, o or u, so ids read aloud and copy cleanly.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TIME_CHARS = 10  # 48 bits of milliseconds
_RANDOM_CHARS = 16  # 80 random bits


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id: the prefix, an underscore, then 26 characters that sort by creation time (like a ULID).

    Args:
        prefix: What the id names, e.g. ``form``, ``lead``, ``msg``.
    """
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_encode(millis, _TIME_CHARS)}{_encode(secrets.randbits(80), _RANDOM_CHARS)}"


def timestamp_ms_of(identifier: str) -> int:
    """The creation time, in Unix milliseconds, encoded in an id made by :func:`new_id`."""
    body = identifier.rpartition("_")[2][:_TIME_CHARS]
    value = 0
    for char in body:
        value = value * 32 + _ALPHABET.index(char)
    return value


def random_token(length: int) -> str:
    """``length`` random characters from the id alphabet (5 bits each): for slugs and key bodies."""
    return _encode(secrets.randbits(5 * length), length)
