"""How a push proves itself: the URL alone, a shared key in a header, a query parameter or a body field, HTTP Basic,
or an HMAC of the raw body. Every comparison takes constant time, and a key the push carried in its query or body is
removed from the document before anything reads or stores it.

Standard Webhooks, Google Ads and Meta check their own schemes (``kinds.py``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import TYPE_CHECKING, Any

from core.errors import Unauthorized
from ingest.sources.providers import provider

if TYPE_CHECKING:
    from litestar.datastructures import Headers

    from ingest.sources.models import Source
    from ingest.sources.pushes import Push

__all__ = ("GENERIC_AUTH", "check_push", "push_auth", "read_generically", "without_key")

GENERIC_AUTH = frozenset({"url", "header", "query", "body", "basic", "hmac"})
"""The schemes a source chooses (``generic``) or a preset fills in; the others are the signed kinds' own."""
_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_SIGNATURES = re.compile(r"[,\s]+")
_MAX_SIGNATURES = 10
"""Signatures read from one header (a sender rotating its secret sends two): a header of thousands costs nothing."""


def push_auth(source: Source) -> dict[str, Any] | None:
    """The source's own authentication (its ``config``), else its kind's; None for a kind without one."""
    own = (source.config or {}).get("auth")
    if own:
        return dict(own)
    kind = provider(source.kind).auth
    return kind.as_config() if kind is not None else None


def read_generically(source: Source) -> bool:
    """Whether the source's pushes are read here (``pushes.py``, ``check_push``) rather than by a signed kind."""
    auth = push_auth(source)
    return auth is None or auth["type"] in GENERIC_AUTH


def _refused(detail: str, *, basic: bool = False) -> Unauthorized:
    refusal = Unauthorized(detail)
    if basic:
        refusal.headers = {"WWW-Authenticate": 'Basic realm="leadwire", charset="UTF-8"'}
    return refusal


def _same(given: str | None, secret: str) -> bool:
    if given is None or not secret:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass"))


def _text(value: Any) -> str | None:
    """A key as sent: text, or a number a JSON sender wrote without quotes; never a list (a name sent twice)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _objects(document: Any) -> list[dict[str, Any]] | None:
    """The objects a body key is read from: the object, or each of an array's (None when one is not an object)."""
    items = document if isinstance(document, list) else [document]
    return items if items and all(isinstance(item, dict) for item in items) else None


def _basic(headers: Headers, username: str, password: str) -> None:
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise _refused("HTTP Basic credentials are required", basic=True)
    try:
        user, colon, given = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeError):  # binascii.Error is a ValueError
        raise _refused("the Basic credentials are not base64 of user:password", basic=True) from None
    # Both compared, whatever the first gives: the time taken says nothing about which one was wrong.
    same_user, same_password = _same(user, username), _same(given, password)
    if not (colon and same_user and same_password):
        raise _refused("the user name or password is wrong", basic=True)


def _signature_bytes(candidate: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(candidate)  # either case
        padded = candidate.replace("-", "+").replace("_", "/") + "=" * (-len(candidate) % 4)
        return base64.b64decode(padded, validate=True)
    except (ValueError, binascii.Error):  # not hex, not base64, or not ASCII at all
        return None


def _signed(auth: dict[str, Any], secret: str, body: bytes, header: str | None) -> None:
    name = auth.get("name") or "signature"
    if not header or not secret:
        raise _refused(f"the {name} header with the body's signature is required")
    if not body:
        raise _refused("an HMAC-signed source takes its leads in the signed body of a POST")
    algorithm = _ALGORITHMS.get(str(auth.get("algorithm") or "sha256"))
    if algorithm is None:
        raise _refused("the source's HMAC algorithm is not one Leadwire computes")
    expected = hmac.new(secret.encode("utf-8"), body, algorithm).digest()
    prefix = str(auth.get("prefix") or "").lower()
    matched = False
    for candidate in _SIGNATURES.split(header.strip())[:_MAX_SIGNATURES]:
        signature = candidate[len(prefix) :] if prefix and candidate.lower().startswith(prefix) else candidate
        given = _signature_bytes(signature, str(auth.get("encoding") or "hex"))
        matched |= given is not None and hmac.compare_digest(given, expected)
    if not matched:
        raise _refused(f"the {name} header holds no signature of this body")


def check_push(source: Source, push: Push, headers: Headers) -> Any:
    """The push's document once its sender has proven itself the source's way, without the key it carried.

    Raises:
        Unauthorized: A missing or wrong key, credentials or signature (the detail never holds the secret).
    """
    auth = push_auth(source) or {"type": "url"}
    kind, name = auth["type"], str(auth.get("name") or "")
    secret = str(source.secrets.get("auth_secret") or "")
    if kind == "header" and not _same(headers.get(name), secret):
        raise _refused(f"the {name} header does not hold the source's key")
    if kind == "query" and not _same(_text(push.query.get(name)), secret):
        raise _refused(f"the query parameter {name} does not hold the source's key")
    if kind == "body":
        objects = _objects(push.document)
        if objects is None or not all(_same(_text(each.get(name)), secret) for each in objects):
            raise _refused(f"the field {name} does not hold the source's key")
    if kind == "basic":
        _basic(headers, str(source.secrets.get("auth_username") or ""), secret)
    if kind == "hmac":
        _signed(auth, secret, push.body, headers.get(name))
    return without_key(auth, push.document)


def without_key(auth: dict[str, Any] | None, document: Any) -> Any:
    """``document`` without the field that carries a ``query`` or ``body`` key (of each object of an array)."""
    if auth is None or auth.get("type") not in {"query", "body"} or not auth.get("name"):
        return document
    name = auth["name"]
    if isinstance(document, dict):
        return {key: value for key, value in document.items() if key != name}
    if isinstance(document, list):
        return [without_key(auth, item) if isinstance(item, dict) else item for item in document]
    return document
