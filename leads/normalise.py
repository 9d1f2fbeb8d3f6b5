"""Canonical forms of the values leads are matched on: email addresses and E.164 phone numbers."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

__all__ = ("InvalidValueError", "canonical_email", "e164_phone")

_MAX_EMAIL = 254
_MAX_PHONE_INPUT = 40


class InvalidValueError(ValueError):
    """A value that cannot be normalised; ``code`` is stable for machines, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def canonical_email(value: str) -> str:
    """The address in the form leads are matched on: syntax checked, domain normalised, all lower case.

    No DNS lookup is made (this runs on the request path). The local part is lower-cased too: strictly it may be
    case-sensitive, but no mainstream provider treats it so, and one person must not become two leads.

    Raises:
        InvalidValueError: ``invalid_email`` with email-validator's explanation.
    """
    candidate = value.strip()
    if not candidate or len(candidate) > _MAX_EMAIL:
        raise InvalidValueError("invalid_email", "enter an email address like name@example.com")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValueError("invalid_email", str(exc)) from exc
    return result.normalized.lower()


def e164_phone(value: str, region: str | None) -> str:
    """The number in E.164 (``+919876543210``), reading national numbers as of ``region`` (ISO country code).

    Raises:
        InvalidValueError: ``invalid_phone`` when it is not a valid number (a national number without a region
            cannot be read either).
    """
    candidate = value.strip()
    if not candidate or len(candidate) > _MAX_PHONE_INPUT:
        raise InvalidValueError("invalid_phone", "enter a phone number with its country code, like +44 20 7946 0958")
    try:
        number = phonenumbers.parse(candidate, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region or candidate.startswith("+") else " (start with + and the country code)"
        raise InvalidValueError("invalid_phone", f"not a phone number{hint}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidValueError("invalid_phone", "not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
