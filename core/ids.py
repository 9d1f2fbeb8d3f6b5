"""Prefixed, time-sortable identifiers such as ``form_01jd4r8k6q...``."""

from __future__ import annotations

import base64
import secrets
import time

__all__ = ("new_id", "random_token", "timestamp_ms_of")

# Crockford's base32, lower case: no i, l, o or u, so ids read aloud and copy cleanly.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# base64's RFC 4648 base32 does the 5-bit grouping in C; a translation table maps it onto our alphabet.
_TO_OURS = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode("ascii"))
_TO_RFC = bytes.maketrans(_ALPHABET.encode("ascii"), b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_ID_CHARS = 26  # 48 bits of milliseconds, then 80 random bits: 128 bits, 26 characters
_RANDOM_BITS = 80


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
    value = (time.time_ns() // 1_000_000) << _RANDOM_BITS | secrets.randbits(_RANDOM_BITS)
    body = base64.b32encode(value.to_bytes(16, "big"))[:_ID_CHARS].translate(_TO_OURS)
    return f"{prefix}_{body.decode('ascii')}"


def timestamp_ms_of(identifier: str) -> int:
    """The creation time, in Unix milliseconds, encoded in an id made by :func:`new_id`."""
    body = identifier.rpartition("_")[2].encode("ascii").translate(_TO_RFC)
    value = int.from_bytes(base64.b32decode(body + b"======"), "big")
    return value >> _RANDOM_BITS


def random_token(length: int) -> str:
    """``length`` random characters from the id alphabet (5 bits each): for slugs and key bodies."""
    return _encode(secrets.randbits(5 * length), length)
