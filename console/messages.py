"""Validation errors in the editor's words: the label people see and what to type, never a schema's own text."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from core.errors import ValidationFailed

__all__ = ("SPAM_REASONS", "editor_errors")

_LABELS = {
    "name": "Name",
    "password": "New password",
    "email": "Email address",
    "role": "Role",
    "kind": "Whose",
    "settings.allowed_origins": "Allowed origins",
    "settings.redirect_url": "Redirect after submitting",
    "settings.success_message": "Success message",
    "settings.dedupe_window_seconds": "Repeat window",
    "settings.default_phone_region": "Phone region",
    "settings.theme_color": "Theme colour",
    "settings.privacy_notice_url": "Privacy notice",
    "settings.language": "Language",
}
# What to type, for the inputs whose rule is a pattern or an exact length (the schema's text would be a regex).
_HINTS = {
    "settings.theme_color": "enter a colour as #rrggbb, like #1d4ed8",
    "settings.privacy_notice_url": "enter a full address starting with https://",
    "settings.default_phone_region": "enter a two-letter country code, like GB",
    "settings.language": "enter a language code, like en or pt-BR",
}
_ROW = re.compile(r"^(fields|consents)\[(\d+)\]\.?(.*)$")
_SIZES = (
    (re.compile(r"Expected `str` of length <= (\d+)"), "at most {} characters"),
    (re.compile(r"Expected `str` of length >= (\d+)"), "at least {} characters"),
    (re.compile(r"Expected `array` of length <= (\d+)"), "at most {} entries"),
    (re.compile(r"Expected `(?:int|float)` <= (\S+)"), "at most {}"),
    (re.compile(r"Expected `(?:int|float)` >= (\S+)"), "at least {}"),
)


def _label(path: str) -> str:
    if path in _LABELS:
        return _LABELS[path]
    row = _ROW.match(path)
    if row:
        kind = "Field" if row.group(1) == "fields" else "Consent"
        return f"{kind} {int(row.group(2)) + 1}" + (f", {row.group(3).split('.')[0]}" if row.group(3) else "")
    return path or "The form"


def _words(path: str, message: str) -> str:
    if path in _HINTS:
        return _HINTS[path]
    for pattern, text in _SIZES:
        found = pattern.match(message)
        if found:
            return text.format(found.group(1))
    if message.startswith("Invalid enum value"):
        return "choose one of the options offered"
    if message.startswith("Expected `bool`"):
        return "tick or untick the box"
    return "this value is not accepted here"


def editor_errors(exc: ValidationFailed | msgspec.ValidationError) -> list[str]:
    """One line per problem, naming the input as the editor labels it."""
    if isinstance(exc, msgspec.ValidationError):
        message, _, where = str(exc).partition(" - at `$.")
        path = where.rstrip("`")
        if f"settings.{path}" in _LABELS:  # the editor's settings are checked on their own before the whole form
            path = f"settings.{path}"
        return [f"{_label(path)}: {_words(path, message)}"]
    return [f"{error.field}: {error.message}" for error in exc.errors]


SPAM_REASONS = {
    "no_render_token": "browser posts without the hosted page's token: a form on your own pages posting here. "
    "Turn on “Accept posts from your own pages” below if they are yours",
    "honeypot": "the hidden field people never see was filled in: a bot",
    "too_fast": "sent back sooner after the page was shown than a person could fill it in",
    "render_token_expired": "the page had been open longer than a rendered form stays valid",
    "render_token_invalid": "a forged token, or one made for another form",
    "origin": "posted from a site that is not in Allowed origins",
}
"""Why submissions were kept as spam (``submission.spam_reason``), in words, with what to do where something helps."""
