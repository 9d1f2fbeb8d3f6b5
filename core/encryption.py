"""Secrets at rest: authenticated encryption (Fernet: AES-128-CBC with HMAC-SHA256) under rotating keys.

``LEADWIRE_ENCRYPTION_KEYS`` lists Fernet keys, newest first: the first encrypts, every one decrypts, so a new key
is added in front, ``leadwire rotate-encryption-key`` re-encrypts every stored secret under it, and the old key can
then be dropped. Columns declared :class:`EncryptedJSON` are encrypted on their way into the database and
decrypted on their way out; the keyring travels with the engine's dialect, so two apps in one process (the tests)
may use different keys and nothing is configured at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

__all__ = (
    "ENVELOPE_KEY",
    "EncryptedJSON",
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


class KeyringMissing(RuntimeError):
    """An encrypted column was used on an engine that was given no keys (a programming error, not a client's)."""


class UndecryptableSecret(RuntimeError):
    """A stored secret that none of the configured keys opens: a key was dropped before rotation finished."""


def new_key() -> str:
    """A new random key, as ``LEADWIRE_ENCRYPTION_KEYS`` takes it (URL-safe base64 of 32 bytes)."""
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """The configured keys: the first encrypts, all decrypt."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

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
