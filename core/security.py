"""Security helpers: API keys and the tokens of single-use links (invitations, password resets), kept as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from core.ids import random_token

__all__ = (
    "API_KEY_PREFIX",
    "ApiKeyParts",
    "hash_api_key",
    "hash_link_token",
    "new_api_key",
    "new_link_token",
    "split_api_key",
    "verify_api_key",
)

API_KEY_PREFIX = "lw_"
_LOOKUP_CHARS = 8  # public part after "lw_", indexed for lookup
_SECRET_CHARS = 40  # 200 random bits


class ApiKeyParts:
    """An API key split into its public lookup prefix and the whole key."""

    __slots__ = ("key", "lookup")

    def __init__(self, lookup: str, key: str) -> None:
        self.lookup = lookup
        self.key = key


def new_api_key() -> ApiKeyParts:
    """A fresh key, ``lw_`` + 8 lookup characters + 40 secret characters (shown to its owner once)."""
    lookup = random_token(_LOOKUP_CHARS)
    return ApiKeyParts(lookup=lookup, key=f"{API_KEY_PREFIX}{lookup}{random_token(_SECRET_CHARS)}")


def split_api_key(key: str) -> ApiKeyParts | None:
    """The lookup part of a presented key, or ``None`` when it cannot be one of ours."""
    if not key.startswith(API_KEY_PREFIX) or len(key) != len(API_KEY_PREFIX) + _LOOKUP_CHARS + _SECRET_CHARS:
        return None
    return ApiKeyParts(lookup=key[len(API_KEY_PREFIX) : len(API_KEY_PREFIX) + _LOOKUP_CHARS], key=key)


def hash_api_key(key: str) -> str:
    """Hex SHA-256 of the key. Keys carry 200 random bits, so a fast hash is the right tool here."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def verify_api_key(key: str, stored_hash: str) -> bool:
    """Whether ``key`` hashes to ``stored_hash``, compared in constant time."""
    return hmac.compare_digest(hash_api_key(key), stored_hash)


def new_link_token() -> str:
    """The random part of a single-use link (256 bits, URL-safe): shown or mailed once, stored only as its hash."""
    return secrets.token_urlsafe(32)


def hash_link_token(token: str) -> str:
    """Hex SHA-256 of a link's token, as stored and looked up (256 random bits need no slow hash)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
