"""Time-based one-time passwords (RFC 6238, the codes of authenticator apps) with pyotp, and their QR codes (segno).

A code is taken within one 30-second step either side of now, for clocks that drift, and only for a step later than
the last one the member used: a code that was seen (read over a shoulder, replayed from a log) opens nothing.
"""

from __future__ import annotations

import time

import pyotp
import segno
from pyotp.utils import strings_equal

__all__ = ("ISSUER", "grouped", "matching_step", "new_secret", "provisioning_uri", "qr_svg")

ISSUER = "Leadwire"
"""How authenticator apps name the account's issuer."""
_WINDOW = 1  # steps either side of now
_DIGITS = 6


def new_secret() -> str:
    """A new shared secret: 32 base32 characters (160 bits, the length RFC 4226 recommends)."""
    return pyotp.random_base32()


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))


def provisioning_uri(secret: str, *, account: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://`` URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str, *, title: str) -> str:
    """The QR code of ``uri`` as inline SVG (drawn here: nothing is fetched from elsewhere)."""
    return str(segno.make(uri, error="m", micro=False).svg_inline(scale=5, border=2, title=title))


def matching_step(secret: str, code: str, *, after: int | None = None, now: float | None = None) -> int | None:
    """The time step whose code ``code`` is (now, or one step either side), if it is later than ``after``.

    Returns:
        The step, to remember as the last one used; ``None`` for a wrong, late or replayed code.
    """
    digits = "".join(code.split())
    if len(digits) != _DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    for step in range(current - _WINDOW, current + _WINDOW + 1):
        if (after is None or step > after) and strings_equal(digits, totp.generate_otp(step)):
            return step
    return None
