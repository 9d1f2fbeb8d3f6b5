"""What is kept of one payload a source received: the request as received, its credentials redacted
(``ingest.sources.redaction``), and whose it is, so that erasure finds it without decrypting it."""

from __future__ import annotations

import contextlib
import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from core.database import utcnow
from core.ids import new_id
from ingest.sources.providers import PROVIDERS
from ingest.sources.redaction import redacted_body, redacted_query, secret_values
from leads.normalise import InvalidValueError, canonical_email, e164_phone

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar.connection import ASGIConnection

    from ingest.sources.mapping import Mapped
    from ingest.sources.models import Source

__all__ = ("Received", "payload_row", "person_in")

_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()./-]{5,24}")
_PHONE_NAME = re.compile(r"phone|mobile|tel|cell|whatsapp", re.IGNORECASE)
_MAX_SCANNED = 500
_MAX_PROBLEMS = 50


@dataclass(slots=True)
class Received:
    """What a sender sent, filled in as the request is read: the body once read, the mapping once made."""

    method: str
    content_type: str
    query: str
    body: bytes | None = None
    mapped: Mapped | None = None

    @classmethod
    def of(cls, connection: ASGIConnection[Any, Any, Any, Any]) -> Received:
        """The request's method, content type and query string (its body comes later)."""
        query = connection.scope.get("query_string", b"").decode("latin-1")
        return cls(str(connection.scope.get("method", "GET")), connection.headers.get("content-type", ""), query)


def _strings(values: Iterable[tuple[str, Any]]) -> Iterable[tuple[str, str]]:
    """Every string in these values with the name it was found under, nested ones included, up to a bound."""
    stack, seen = deque(values), 0
    while stack and seen < _MAX_SCANNED:
        name, value = stack.popleft()
        seen += 1
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, dict):
            stack.extend((str(key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((name, item) for item in value)


def person_in(values: Iterable[tuple[str, Any]], region: str | None) -> tuple[str | None, str | None]:
    """The first canonical email and the first E.164 phone among the values: a phone is a number written with its
    country code, or one under a name that says phone (so that lead ids and pin codes are not taken for one)."""
    email = phone = None
    for name, text in _strings(values):
        with contextlib.suppress(InvalidValueError):
            if email is None and "@" in text and len(text) <= 254:  # noqa: PLR2004
                email = canonical_email(text)
            elif (
                phone is None
                and _PHONE_LIKE.fullmatch(text.strip())
                and (text.strip().startswith("+") or _PHONE_NAME.search(name))
            ):
                phone = e164_phone(text, region)
        if email is not None and phone is not None:
            break
    return email, phone


def _region(source: Source) -> str | None:
    kind = PROVIDERS.get(source.kind)
    return (source.config or {}).get("phone_region") or (kind.rules.phone_region if kind else None)


def payload_row(
    source: Source,
    received: Received,
    outcome: str,
    reason: str,
    *,
    submission_id: str | None = None,
    detail: str | None = None,
    problems: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The ``source_payload`` row of what a source received: the record (encrypted when written) redacted of
    credentials, and the email and phone it carried (hashed when written)."""
    problems = problems or []
    secrets = secret_values(source.secrets)
    body_format, body = redacted_body(received.body, received.content_type, secrets)
    mapped = received.mapped
    if mapped is not None:
        problems = [{"field": p.field, "code": p.code, "message": p.message} for p in mapped.problems] + problems
    # Whose payload it is: the values the rules read first, then anything in the body.
    values: list[tuple[str, Any]] = [*(mapped.values.items() if mapped else ()), ("", body)]
    if body_format == "form":
        values.extend(parse_qsl(body, keep_blank_values=True))
    email, phone = person_in(values, _region(source))
    return {
        "id": new_id("pay"),
        "workspace_id": source.workspace_id,
        "source_id": source.id,
        "received_at": utcnow(),
        "outcome": outcome,
        "reason": reason or None,
        "submission_id": submission_id,
        "lead_id": None,
        "email_hash": email,
        "phone_hash": phone,
        "record": {
            "method": received.method,
            "content_type": received.content_type[:200],
            "query": redacted_query(received.query, secrets),
            "body_format": body_format,
            "body": body,
            "detail": detail,
            "problems": problems[:_MAX_PROBLEMS],
        },
    }
