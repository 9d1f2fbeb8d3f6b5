"""What is kept of a sender's request: its body and query string with every credential taken out.

Two rules, applied together: a value under a name that looks like a credential (a word of it is ``key``,
``token``, ``secret``, ``password``, ``signature``, …: ``api_key``, ``glusr_crm_key``, ``hub.verify_token``,
``apiKey``) is replaced whole, at any depth; and the source's own secrets are cut out of every other value, so a
key sent where no rule expects it is not kept either.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

__all__ = ("REDACTED", "is_credential_name", "redact_json", "redacted_body", "redacted_query", "secret_values")

REDACTED = "[redacted]"
_CREDENTIAL_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "credential",
        "credentials",
        "hmac",
        "key",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "sig",
        "signature",
        "token",
        "whsec",
    }
)
_WORD_BREAK = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_MIN_SECRET = 6  # shorter "secrets" would cut ordinary words out of the payload
_MAX_DEPTH = 64
_MAX_TEXT = 65_536
_MULTIPART_PART = re.compile(
    rb'(name="(?P<name>[^"]*)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)(?P<value>.*?)(?=\r?\n--)', re.DOTALL
)


def is_credential_name(name: str) -> bool:
    """Whether a field, key or parameter of this name holds a credential: one of its words is one."""
    return any(word.lower() in _CREDENTIAL_WORDS for word in _WORD_BREAK.split(name) if word)


def secret_values(secrets: Any) -> list[str]:
    """Every string among a source's secrets (``pull`` credentials included), longest first."""
    found: list[str] = []
    stack = [secrets]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and len(value) >= _MIN_SECRET:
            found.append(value)
            if value.startswith("whsec_"):  # the key itself, as a sender may hold it
                found.append(value.removeprefix("whsec_"))
    return sorted(set(found), key=len, reverse=True)


def _cut(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_json(value: Any, secrets: list[str], depth: int = 0) -> Any:
    """``value`` (decoded JSON) with credentials replaced and the source's secrets cut out."""
    if depth > _MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, dict):
        return {
            key: REDACTED if is_credential_name(str(key)) else redact_json(item, secrets, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_json(item, secrets, depth + 1) for item in value]
    if isinstance(value, str):
        return _cut(value, secrets)
    return value


def _redacted_pairs(text: str, secrets: list[str]) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(name, REDACTED if is_credential_name(name) else _cut(value, secrets)) for name, value in pairs])


def redacted_query(query: str, secrets: list[str]) -> str:
    """A query string with the values of credential parameters and the source's secrets replaced."""
    return _redacted_pairs(query, secrets) if query else ""


def _redacted_multipart(body: bytes) -> bytes:
    def part(match: re.Match[bytes]) -> bytes:
        name = match["name"].decode("utf-8", "replace")
        return match[1] + (REDACTED.encode() if is_credential_name(name) else match["value"])

    return _MULTIPART_PART.sub(part, body)


def redacted_body(body: bytes | None, content_type: str, secrets: list[str]) -> tuple[str, Any]:
    """``(format, body)``: ``json`` with the decoded value, ``form`` with the urlencoded text, ``text`` with the
    body as text (cut at 64 KiB), or ``none`` when there was no body (or it was not read, being too large)."""
    if not body:
        return "none", None
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json") or body.lstrip()[:1] in {b"{", b"["}:
        try:
            return "json", redact_json(msgspec.json.decode(body), secrets)
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
            pass  # not JSON after all: kept as text
    if media == "application/x-www-form-urlencoded":
        return "form", _redacted_pairs(body.decode("utf-8", "replace"), secrets)
    if media == "multipart/form-data":
        body = _redacted_multipart(body)
    return "text", _cut(body.decode("utf-8", "replace"), secrets)[:_MAX_TEXT]
