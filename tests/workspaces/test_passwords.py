"""Passwords: argon2id hashes, a length window, no common or context passwords, no composition rules."""

from __future__ import annotations

import argon2
import pytest

from core.errors import ValidationFailed
from workspaces import passwords


def test_a_hash_is_argon2id_verifies_only_its_password_and_is_salted() -> None:
    first = passwords.hash_password("plum tree under snow")
    second = passwords.hash_password("plum tree under snow")

    assert first.startswith("$argon2id$")
    assert first != second  # a random salt each time
    assert passwords.verify_password(first, "plum tree under snow")
    assert not passwords.verify_password(first, "plum tree under snow!")
    assert not passwords.verify_password("not a hash", "plum tree under snow")


def test_a_hash_made_with_other_parameters_still_verifies_and_asks_to_be_redone() -> None:
    old = argon2.PasswordHasher(time_cost=1, memory_cost=8_192, parallelism=1).hash("plum tree under snow")
    current = passwords.hash_password("plum tree under snow")

    assert passwords.verify_password(old, "plum tree under snow")
    assert passwords.needs_rehash(old)
    assert not passwords.needs_rehash(current)


def test_the_same_text_in_another_unicode_form_is_the_same_password() -> None:
    composed = passwords.hash_password("caf\u00e9 au lait du matin")  # é as one code point
    assert passwords.verify_password(composed, "cafe\u0301 au lait du matin")  # e + combining acute


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short pw", "too_short"),
        ("x" * 129, "too_long"),
        ("baseball1234", "common"),  # a common password with digits after it
        ("Password1234!", "common"),
        ("1qaz2wsx3edc", "common"),
        ("aaaaaaaaaaaaaa", "repetitive"),
        ("abababababab", "repetitive"),
        ("ada.lovelace@example.com", "context"),
        ("ada.lovelace.1815", "context"),
        ("my leadwire password", "context"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        passwords.check_new_password(password, email="ada.lovelace@example.com")
    (error,) = raised.value.errors
    assert (error.field, error.code) == ("password", code)


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "tHe1rOnL4dy", "plum tree under snow", "zq7#k2!vmb9p", "émile zola ♥ 1840"],
)
def test_any_long_enough_uncommon_password_is_taken_without_composition_rules(password: str) -> None:
    if len(password) < passwords.MIN_LENGTH:
        password += " again"
    passwords.check_new_password(password, email="ada.lovelace@example.com")


def test_one_time_passwords_are_long_random_and_pass_the_checks() -> None:
    made = {passwords.one_time_password() for _ in range(20)}
    assert len(made) == 20
    for password in made:
        assert len(password) >= 20
        passwords.check_new_password(password, email="ada@example.com")


def test_the_bundled_list_is_read() -> None:
    assert len(passwords.common_passwords()) >= 5_000
    assert "password" in passwords.common_passwords()
