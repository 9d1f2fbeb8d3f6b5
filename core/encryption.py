"""Secrets at rest: authenticated encryption (Fernet: AES-128-CBC with HMAC-SHA256) under rotating keys.

``LEADWIRE_ENCRYPTION_KEYS`` lists Fernet keys, newest first: the first encrypts, every one decrypts, so a new key
is added in front, ``leadwire rotate-encryption-key`` re-encrypts every stored secret under it, and the old key can
then be dropped. Columns declared :class:`EncryptedJSON` are encrypted on their way into the database and
decrypted on their way out; the keyring travels with the engine's dialect, so two apps in one process (the tests)
may use different keys and nothing is configured at import time.

Columns declared :class:`KeyedHash` keep a value that must be found again but never read (the email of a person
inside an encrypted payload) as its HMAC-SHA256 under a key derived from ``LEADWIRE_SECRET_KEY``: comparing the
column with a value hashes the value the same way, and without the key no dictionary of addresses reverses it.
The hash key does not follow the encryption keys, which rotate (a rotation cannot rehash what it cannot read).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

__all__ = (
    "ENVELOPE_KEY",
    "EncryptedJSON",
    "KeyedHash",
    "Keyring",
    "KeyringMissing",
    "UndecryptableSecret",
    "install_keyring",
    "is_encrypted",
    "new_key",
)

ENVELOPE_KEY = "leadwire_encrypted"
"""A stored encrypted value is the JSON object ``{"leadwire_encrypted": "<Fernet token>"}``."""
_DIALECT_ATTRIBUTE = "leadwire_keyring"
_HASH_KEY_LABEL = b"leadwire keyed hash v1"


class KeyringMissing(RuntimeError):
    """An encrypted column was used on an engine that was given no keys (a programming error, not a client's)."""


class UndecryptableSecret(RuntimeError):
    """A stored secret that none of the configured keys opens: a key was dropped before rotation finished."""


def new_key() -> str:
    """A new random key, as ``LEADWIRE_ENCRYPTION_KEYS`` takes it (URL-safe base64 of 32 bytes)."""
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """The configured keys: the first encrypts, all decrypt; ``hash_key`` (the secret key) keys the keyed hashes."""

    def __init__(self, keys: list[str], *, hash_key: str = "") -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        # A key of its own, derived for this one use: the secret key also signs tokens.
        self._hash_key = hmac.new(hash_key.encode(), _HASH_KEY_LABEL, hashlib.sha256).digest() if hash_key else None

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the hash key, in hex.

        Raises:
            KeyringMissing: The keyring was made without a hash key.
        """
        if self._hash_key is None:
            raise KeyringMissing("this keyring has no key for keyed hashes (LEADWIRE_SECRET_KEY)")
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    @staticmethod
    def check_key(key: str) -> None:
        """Raise :class:`ValueError` unless ``key`` is a valid key (32 bytes in URL-safe base64)."""
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ValueError("each key must be 32 bytes in URL-safe base64 (leadwire new-encryption-key)") from exc

    def encrypt(self, value: Any) -> dict[str, str]:
        """``value`` (anything JSON can hold) as the stored envelope, under the first key."""
        token = self._fernet.encrypt(msgspec.json.encode(value))
        return {ENVELOPE_KEY: token.decode("ascii")}

    def decrypt(self, stored: Any) -> Any:
        """The value of a stored envelope; a value stored in clear by an earlier version is returned as it is.

        Raises:
            UndecryptableSecret: No configured key opens it.
        """
        if not is_encrypted(stored):
            return stored
        try:
            return msgspec.json.decode(self._fernet.decrypt(stored[ENVELOPE_KEY].encode("ascii")))
        except InvalidToken as exc:
            raise UndecryptableSecret("a stored secret cannot be decrypted with LEADWIRE_ENCRYPTION_KEYS") from exc


def is_encrypted(stored: Any) -> bool:
    """Whether a stored JSON value is an envelope (rather than a secret kept in clear by an earlier version)."""
    return isinstance(stored, dict) and len(stored) == 1 and isinstance(stored.get(ENVELOPE_KEY), str)


def install_keyring(dialect: Dialect, keyring: Keyring) -> None:
    """Let every :class:`EncryptedJSON` column of this engine encrypt and decrypt with ``keyring``."""
    setattr(dialect, _DIALECT_ATTRIBUTE, keyring)


def _keyring(dialect: Dialect) -> Keyring:
    keyring: Keyring | None = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if keyring is None:
        raise KeyringMissing("this engine has no encryption keys: create it through core.database.Database")
    return keyring


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value kept encrypted in the database (JSONB on PostgreSQL, JSON text on SQLite)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or is_encrypted(value):
            return value
        return _keyring(dialect).encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return _keyring(dialect).decrypt(value)


class KeyedHash(TypeDecorator[str]):
    """A value kept only as its keyed hash (64 hex characters): written and compared through the hash, never read
    back. ``column == "zoe@example.com"`` matches the rows written with that value."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _keyring(dialect).keyed_hash(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:  # noqa: ARG002
        return value
