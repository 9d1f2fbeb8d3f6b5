"""Standard Webhooks v1 signing: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets

__all__ = ("SECRET_PREFIX", "new_secret", "sign", "signature_header", "verify", "webhook_headers")

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks secret prefix, not a secret
_SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


@functools.lru_cache(maxsize=1_024)
def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,…`` signature of ``body`` for the message id and Unix timestamp."""
    signed = message_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(live_secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per live secret, space-separated (rotation overlap)."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in live_secrets)


def webhook_headers(live_secrets: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt to send ``body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(live_secrets, message_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(secret: str, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether any signature in ``header`` was made with ``secret`` (compared in constant time)."""
    try:
        expected = sign(secret, message_id, timestamp, body).encode("ascii")
    except (binascii.Error, ValueError):
        return False
    return any(hmac.compare_digest(expected, candidate.encode("ascii", "replace")) for candidate in header.split())
