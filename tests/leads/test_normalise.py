"""Email and phone normalisation: what leads are matched on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.normalise import InvalidValueError, canonical_email, e164_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Foo.Bar@Example.COM", "foo.bar@example.com"),
        ("  priya@example.in ", "priya@example.in"),
        ("ünï@bücher.de", "ünï@bücher.de"),
        ("a+tag@example.co.uk", "a+tag@example.co.uk"),
    ],
)
def test_emails_are_canonical(raw: str, expected: str) -> None:
    assert canonical_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "a@b", "a..b@example.com", "no-at-sign", "x@" + "a" * 250 + ".com", "a@b@c.com"]
)
def test_bad_emails_are_refused_with_a_code(raw: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        canonical_email(raw)
    assert caught.value.code == "invalid_email"
    assert caught.value.message


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("098765 43210", "IN", "+919876543210"),
        ("98765-43210", "in", "+919876543210"),
        ("+91 98765 43210", "GB", "+919876543210"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("(415) 555-2671", "US", "+14155552671"),
    ],
)
def test_phones_become_e164(raw: str, region: str | None, expected: str) -> None:
    assert e164_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"), [("12345", "IN"), ("98765 43210", None), ("", "IN"), ("call me", "IN"), ("+" + "9" * 60, None)]
)
def test_bad_phones_are_refused_with_a_code(raw: str, region: str | None) -> None:
    with pytest.raises(InvalidValueError) as caught:
        e164_phone(raw, region)
    assert caught.value.code == "invalid_phone"


@given(st.text(max_size=300))
def test_canonical_email_either_refuses_or_is_idempotent(raw: str) -> None:
    try:
        email = canonical_email(raw)
    except InvalidValueError:
        return
    assert canonical_email(email) == email
    assert email == email.lower()


@given(st.emails())
def test_every_generated_address_is_accepted_and_stable(address: str) -> None:
    try:
        email = canonical_email(address)
    except InvalidValueError:
        return  # hypothesis may build addresses on special-use domains, which email-validator refuses
    assert canonical_email(email.upper()) == email


@given(st.text(alphabet="+0123456789 ()-.", max_size=30), st.sampled_from([None, "IN", "US", "GB", "DE"]))
def test_e164_either_refuses_or_is_idempotent(raw: str, region: str | None) -> None:
    try:
        number = e164_phone(raw, region)
    except InvalidValueError:
        return
    assert number.startswith("+")
    assert number[1:].isdigit()
    assert e164_phone(number, None) == number
