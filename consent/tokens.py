"""Signed links for prospects: a consent receipt, and a double opt-in confirmation. Each has its own salt."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ("ExpiredLink", "InvalidLink", "confirmation_token", "read_confirmation", "read_receipt", "receipt_token")

_RECEIPT_SALT = "leadwire.consent-receipt"
_CONFIRM_SALT = "leadwire.double-opt-in"


class InvalidLink(Exception):
    """The link was not made by this installation, or was altered."""


class ExpiredLink(Exception):
    """The link is genuine but too old."""


class _ReceiptSerializer(URLSafeSerializer):
    """URL-safe tokens without the attempt at zlib compression, which never pays for a short id (every submission
    makes a receipt): the same tokens as before, and tokens of either kind still load."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


@functools.lru_cache(maxsize=4)
def _receipts(secret_key: str) -> URLSafeSerializer:
    # The signer's key is derived from the secret once, not for every token.
    return _ReceiptSerializer(secret_key, salt=_RECEIPT_SALT)


def receipt_token(settings: Settings, submission_id: str) -> str:
    """The token of the receipt of one submission; receipts do not expire (withdrawal must stay possible)."""
    return _receipts(settings.secret_key).dumps(submission_id)


def read_receipt(settings: Settings, token: str) -> str:
    """The submission id a receipt token was made for.

    Raises:
        InvalidLink: Forged or altered.
    """
    try:
        return str(_receipts(settings.secret_key).loads(token))
    except (BadSignature, UnicodeError, ValueError) as exc:
        raise InvalidLink from exc


def confirmation_token(settings: Settings, submission_id: str) -> str:
    """The token of the double opt-in link of one submission, stamped with the time it was made."""
    return URLSafeTimedSerializer(settings.secret_key, salt=_CONFIRM_SALT).dumps(submission_id)


def read_confirmation(settings: Settings, token: str) -> str:
    """The submission id a confirmation token was made for.

    Raises:
        ExpiredLink: Older than ``LEADWIRE_CONFIRMATION_MAX_AGE_SECONDS``.
        InvalidLink: Forged or altered.
    """
    serializer = URLSafeTimedSerializer(settings.secret_key, salt=_CONFIRM_SALT)
    try:
        return str(serializer.loads(token, max_age=settings.confirmation_max_age_seconds))
    except SignatureExpired as exc:
        raise ExpiredLink from exc
    except (BadSignature, UnicodeError, ValueError) as exc:
        raise InvalidLink from exc
