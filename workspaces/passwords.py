"""Members' passwords: argon2id hashes, and what a new password must be (long enough, not common, not the account's).

The rules follow NIST SP 800-63B: a length window, a check against common and context-specific passwords, and no
composition rules (no "one digit, one symbol"), which make passwords harder to remember without making them harder
to guess. The minimum is 12 characters rather than NIST's floor of 8: until multi-factor sign-in exists a password is
a member's only factor, and NIST's own advice for a password used alone is longer still (15); 12 is a short sentence
("plum tree in snow"), which people can remember.

Hashing takes about a tenth of a second of CPU on purpose: callers run it in a thread (``asyncio.to_thread``) and
outside a database write transaction, so that it blocks neither the event loop nor SQLite's one writer.
"""

from __future__ import annotations

import functools
import secrets
import unicodedata
from pathlib import Path

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import FieldError, ValidationFailed
from core.ids import random_token

__all__ = (
    "MAX_LENGTH",
    "MIN_LENGTH",
    "check_new_password",
    "common_passwords",
    "dummy_hash",
    "hash_password",
    "needs_rehash",
    "one_time_password",
    "verify_password",
)

MIN_LENGTH = 12
"""Characters (Unicode code points, after NFKC normalisation) a password needs at least."""
MAX_LENGTH = 128
"""Characters a password may have at most: long passphrases fit, hashing a megabyte does not."""
_DISTINCT_AT_LEAST = 5  # "aaaaaaaaaaaa", "abababababab": long, yet guessed at once
_CONTEXT_WORDS = ("leadwire",)
_NAME_PART_AT_LEAST = 4  # parts of an address shorter than this ("jo", "ada") are too common to refuse
_LIST = Path(__file__).with_name("common_passwords.txt")

# OWASP's Password Storage Cheat Sheet, first configuration for argon2id: 19 MiB, two passes, one lane. A stored hash
# names its own parameters, so a hash made under other ones still verifies, and is redone at the next sign-in.
_HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=argon2.Type.ID)


def _normalised(password: str) -> str:
    # NIST asks for NFKC: the same text typed on two keyboards (é as one code point or two) is the same password.
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted, with its parameters), to store instead of the password."""
    return _HASHER.hash(_normalised(password))


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from; ``False`` for a hash that is not argon2's."""
    try:
        return _HASHER.verify(stored_hash, _normalised(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (checked after a successful sign-in)."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password, verified against when an account is unknown or disabled, so that the answer
    takes as long as for a wrong password."""
    return hash_password(secrets.token_urlsafe(24))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (``common_passwords.txt``), in lower case."""
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _base(password: str) -> str:
    """The password without digits and punctuation around it: ``Baseball2024!`` is ``baseball``."""
    return password.lower().strip("0123456789 !@#$%^&*()-_=+.,;:?'\"`~[]{}<>/\\|")


def _context_words(email: str) -> list[str]:
    address = email.lower()
    local = address.partition("@")[0]
    parts = local.replace("_", ".").replace("-", ".").split(".")
    return [address, local, *(part for part in parts if len(part) >= _NAME_PART_AT_LEAST), *_CONTEXT_WORDS]


def _problem(password: str, email: str) -> tuple[str, str] | None:
    if len(password) < MIN_LENGTH:
        return "too_short", f"use at least {MIN_LENGTH} characters (a short sentence works well)"
    if len(password) > MAX_LENGTH:
        return "too_long", f"use at most {MAX_LENGTH} characters"
    lowered = password.lower()
    if lowered in common_passwords() or _base(password) in common_passwords():
        return "common", "this is one of the most common passwords; choose another"
    if len(set(lowered)) < _DISTINCT_AT_LEAST:
        return "repetitive", "this repeats a few characters; choose something less predictable"
    if any(word in lowered for word in _context_words(email)):
        return "context", "do not use your email address, your name or the service's name in your password"
    return None


def check_new_password(password: str, *, email: str) -> None:
    """Refuse a new password that is too short, too long, common, repetitive, or made of the account's own words.

    Raises:
        ValidationFailed: On the ``password`` field, with a code (``too_short``, ``too_long``, ``common``,
            ``repetitive``, ``context``) and a sentence for the person choosing it.
    """
    problem = _problem(_normalised(password), email)
    if problem is not None:
        raise ValidationFailed([FieldError("password", *problem)])


def one_time_password() -> str:
    """A random password to hand to a new member or after a reset, shown once: 24 characters of lower-case
    Crockford base32 (120 bits), which read aloud and copy cleanly."""
    return random_token(24)
