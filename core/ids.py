"""Prefixed, time-sortable identifiers such as ``form_01jd4r8k6q...``."""

from __future__ import annotations

import base64
import os
import threading
import time

__all__ = ("new_id", "random_hex", "random_token", "timestamp_ms_of")

# Crockford's base32, lower case: no i, l, o or u, so ids read aloud and copy cleanly.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# base64's RFC 4648 base32 does the 5-bit grouping in C; a translation table maps it onto our alphabet.
_TO_OURS = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode("ascii"))
_TO_RFC = bytes.maketrans(_ALPHABET.encode("ascii"), b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_ID_CHARS = 26  # 48 bits of milliseconds, then 80 random bits: 128 bits, 26 characters
_RANDOM_BITS = 80


class _RandomBits:
    """Bits from the operating system's CSPRNG (``os.urandom``), read 4 KiB at a time.

    ``secrets.randbits`` makes one ``getrandom`` system call per id, and a batch of submissions makes five ids per
    submission: here a call serves about 400 of them. The buffer is dropped in a forked child, which must never
    hand out the ids its parent will.
    """

    _BLOCK = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._buffer, self._offset = b"", 0

    def take(self, nbytes: int) -> int:
        """``nbytes * 8`` random bits as an integer."""
        with self._lock:
            if self._offset + nbytes > len(self._buffer):
                self._buffer, self._offset = os.urandom(self._BLOCK), 0
            chunk = self._buffer[self._offset : self._offset + nbytes]
            self._offset += nbytes
        return int.from_bytes(chunk, "big")


_RANDOM = _RandomBits()


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
    value = (time.time_ns() // 1_000_000) << _RANDOM_BITS | _RANDOM.take(_RANDOM_BITS // 8)
    body = base64.b32encode(value.to_bytes(16, "big"))[:_ID_CHARS].translate(_TO_OURS)
    return f"{prefix}_{body.decode('ascii')}"


def timestamp_ms_of(identifier: str) -> int:
    """The creation time, in Unix milliseconds, encoded in an id made by :func:`new_id`."""
    body = identifier.rpartition("_")[2].encode("ascii").translate(_TO_RFC)
    value = int.from_bytes(base64.b32decode(body + b"======"), "big")
    return value >> _RANDOM_BITS


def random_hex(nbytes: int) -> str:
    """``nbytes`` random bytes as lower-case hex, like ``secrets.token_hex`` without a system call each time."""
    return f"{_RANDOM.take(nbytes):0{2 * nbytes}x}"


def random_token(length: int) -> str:
    """``length`` random characters from the id alphabet (5 bits each): for slugs and key bodies."""
    return _encode(_RANDOM.take((5 * length + 7) // 8) >> (-5 * length) % 8, length)
