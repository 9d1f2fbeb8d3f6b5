"""Step 1 of the pipeline: read a submission body (urlencoded, multipart or JSON) into one shape."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException, InternalServerException

from core.errors import BadRequest, FieldError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

if TYPE_CHECKING:
    from litestar import Request

    from core.settings import Settings

__all__ = (
    "META_FIELDS",
    "TRACKING_FIELDS",
    "RawSubmission",
    "clean_text",
    "decode_json",
    "multipart_pairs",
    "parse_submission",
    "read_body",
)

Scalar = str | int | float | bool | None
TRACKING_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid")
"""Campaign parameters kept with every submission (not form fields unless the form defines them)."""
META_FIELDS = frozenset({"_hp", "_t", "_idempotency_key", "_page_url", "_referrer", "_embed_origin", "consent"})
"""Names the submit endpoint reads for itself: honeypot, render token, idempotency key, page, referrer, the origin
of the page embedding the form, consents."""

# C0 and C1 controls except tab, newline and carriage return, plus lone surrogates; stripped from every value.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_META_MAX = 4_000
_JSON_TYPES = frozenset({"application/json"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_JSONBody = dict[str, Scalar | list[Scalar]]
_JSON_DECODER = msgspec.json.Decoder(_JSONBody)
_UNREADABLE_JSON = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""What decoding a client's JSON raises when it is not a value of the wrong shape but no value at all: not JSON, not
UTF-8, a number too large to hold, or nesting past the recursion limit (msgspec recurses: ``[`` x 30,000 is a
RecursionError)."""


def clean_text(value: str, limit: int) -> str:
    """``value`` without control characters or surrounding space, cut to ``limit`` characters."""
    return _CONTROL.sub("", value).strip()[:limit]


def _meta_text(value: Scalar) -> str:
    """A meta value as text; JSON's ``null``, ``false`` and ``0`` mean "empty" (an unfilled honeypot, say)."""
    if value is None or value is False or value == 0:
        return ""
    return clean_text(str(value), _META_MAX)


@dataclass(slots=True)
class RawSubmission:
    """What the client sent, before it is checked against the form."""

    values: dict[str, list[Scalar]]
    """Every value by name, in the order sent (a name may repeat in browser posts)."""
    consents: list[str]
    """The purposes the client says were granted."""
    is_json: bool
    """A JSON body: unknown fields are refused, consents are indicated by the API client."""
    body: bytes
    content_type: str
    meta: dict[str, str] = field(default_factory=dict)
    """``_hp``, ``_t``, ``_idempotency_key``, ``_page_url``, ``_referrer`` and tracking parameters, as sent."""

    def canonical(self) -> bytes:
        """What was sent, independent of how it was encoded: a browser sends the same form again with another
        multipart boundary, and a JSON client may order its keys differently. Idempotency keys compare this."""
        meta = sorted((name, value) for name, value in self.meta.items() if name != "_idempotency_key")
        return msgspec.json.encode([sorted(self.values.items()), sorted(self.consents), meta])


def _content_type(request: Request[Any, Any, Any]) -> str:
    media_type, _ = request.content_type
    return media_type.lower()


def decode_json(body: bytes) -> Any:
    """A client's JSON body, of any shape. Anything unreadable is the client's error, never an exception of ours.

    Raises:
        BadRequest: Not JSON, not UTF-8, a number too large to hold, or nested too deeply.
    """
    try:
        return msgspec.json.decode(body)
    except _UNREADABLE_JSON as exc:
        raise BadRequest("the body is not valid JSON (UTF-8), or is nested too deeply") from exc


def _json_values(body: bytes, max_fields: int) -> tuple[dict[str, list[Scalar]], list[str]]:
    try:
        document = _JSON_DECODER.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = message.rpartition(" - at `$")[2].rstrip("`").lstrip(".") or "body"
        raise ValidationFailed(
            [FieldError(path, "invalid_type", "expected an object of strings, numbers, booleans or lists of them")]
        ) from exc
    except _UNREADABLE_JSON as exc:
        raise BadRequest("the body is not valid JSON (UTF-8), or is nested too deeply") from exc
    count = sum(len(v) if isinstance(v, list) else 1 for v in document.values())
    if count > max_fields:
        raise PayloadTooLarge(f"a submission may carry at most {max_fields} values")
    consent = document.pop("consent", None)
    if consent is None:
        consents: list[str] = []
    elif isinstance(consent, list) and all(isinstance(c, str) for c in consent):
        consents = [str(c) for c in consent]
    elif isinstance(consent, str):
        consents = [consent]
    else:
        raise ValidationFailed([FieldError("consent", "invalid_type", "expected a list of purposes")])
    values = {name: (value if isinstance(value, list) else [value]) for name, value in document.items()}
    return values, consents


def _form_pairs(pairs: list[tuple[str, Any]]) -> tuple[dict[str, list[Scalar]], list[str]]:
    values: dict[str, list[Scalar]] = {}
    consents: list[str] = []
    for name, value in pairs:
        if isinstance(value, UploadFile):
            continue  # no field takes a file: a browser that sends one gets it ignored, not an error
        if name == "consent":
            consents.append(str(value))
        else:
            values.setdefault(name, []).append(str(value))
    return values, consents


async def read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The request's body, refused early when it declares more than ``limit`` bytes and cut off when it sends more.

    Raises:
        PayloadTooLarge: Over ``limit``.
        BadRequest: The client hung up before sending it all.
    """
    too_large = f"the body may be at most {limit} bytes"
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(too_large)
    try:
        body = await request.body()
    except ClientException as exc:  # Litestar's own cap (request_max_body_size) on a body sent without a length
        raise PayloadTooLarge(too_large) from exc
    except InternalServerException as exc:
        # Litestar's "client disconnected prematurely": the client hung up before sending its whole body. Nothing
        # was accepted and nobody hears the answer, but it is the client's doing, not an error of ours.
        raise BadRequest("the client disconnected before sending the whole body") from exc
    if len(body) > limit:
        raise PayloadTooLarge(too_large)
    return body


async def multipart_pairs(request: Request[Any, Any, Any], max_fields: int) -> list[tuple[str, Any]]:
    """The parts of a multipart body already read (``read_body``), by name, in order: text, or ``UploadFile``.

    Raises:
        BadRequest: The body cannot be read as multipart, or a part is in another charset than UTF-8.
        PayloadTooLarge: More than ``max_fields`` parts.
    """
    try:
        form = await request.form()
    except ClientException as exc:
        raise BadRequest(f"the multipart body cannot be read: {exc.detail}") from exc
    except (UnicodeError, LookupError, ValueError) as exc:  # a part in another or an unknown charset
        raise BadRequest("the multipart body cannot be read: send its parts in UTF-8") from exc
    pairs = list(form.multi_items())
    if len(pairs) > max_fields:
        raise PayloadTooLarge(f"a submission may carry at most {max_fields} values")
    return pairs


async def parse_submission(request: Request[Any, Any, Any], settings: Settings) -> RawSubmission:
    """Read the body in whichever of the three formats it came, within the size and field-count caps.

    Raises:
        PayloadTooLarge: Over ``ingest_max_body_bytes`` or ``ingest_max_fields``.
        UnsupportedMediaType: Not urlencoded, multipart or JSON.
        BadRequest: Malformed JSON or form data.
        ValidationFailed: JSON that is not an object of scalars and lists of scalars.
    """
    content_type = _content_type(request)
    if content_type not in _JSON_TYPES and content_type not in _FORM_TYPES:
        raise UnsupportedMediaType("send application/x-www-form-urlencoded, multipart/form-data or application/json")
    body = await read_body(request, settings.ingest_max_body_bytes)
    if content_type in _JSON_TYPES:
        values, consents = _json_values(body, settings.ingest_max_fields)
    elif content_type == "multipart/form-data":
        values, consents = _form_pairs(await multipart_pairs(request, settings.ingest_max_fields))
    else:
        try:
            text = body.decode("utf-8")
            fields = parse_qsl(text, keep_blank_values=True, max_num_fields=settings.ingest_max_fields, errors="strict")
        except UnicodeDecodeError as exc:
            raise BadRequest("the form body is not UTF-8") from exc
        except ValueError as exc:
            raise PayloadTooLarge(f"a submission may carry at most {settings.ingest_max_fields} values") from exc
        values, consents = _form_pairs(list(fields))
    meta = {}
    for name in (*META_FIELDS, *TRACKING_FIELDS):
        sent = values.get(name)
        if sent and name != "consent":
            meta[name] = _meta_text(sent[0])
    for name in META_FIELDS:
        values.pop(name, None)
    return RawSubmission(
        values=values,
        consents=consents,
        is_json=content_type in _JSON_TYPES,
        body=body,
        content_type=content_type,
        meta=meta,
    )
