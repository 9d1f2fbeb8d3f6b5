"""Reading a push as one document: a JSON body, form fields (urlencoded or multipart) or a query string.

Form fields and query parameters become a flat object: a name sent once is a string, a name sent again a list. The
body is read within the pipeline's limits (``ingest.parse``: its size, the body-read deadline, the field count), and
what cannot be read is the same problem as at the submit endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from litestar.datastructures import UploadFile

from core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from ingest.parse import decode_json, multipart_pairs, read_body

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar import Request

    from core.settings import Settings
    from ingest.sources.providers import Provider

__all__ = ("MAX_LEADS", "Document", "Push", "flat_document", "form_pairs", "lead_documents", "read_push")

MAX_LEADS = 100
"""Leads one request may carry (a JSON array of objects)."""
Document = dict[str, str | list[str]]
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_UNSPOKEN = frozenset({"", "text/plain"})
"""Content types some senders put on any body: read as JSON when it starts like JSON, else as form fields."""
_FALLBACK_CHARSETS = ("utf-8", "latin-1")
"""Without a declared charset: portals send UTF-8, and sometimes Latin-1 (which reads any byte)."""


@dataclass(frozen=True, slots=True)
class Push:
    """One request of a sender, read."""

    body: bytes
    """The body as it came: what an HMAC signs (empty for a GET)."""
    document: Any
    """The JSON value, or the form fields or query parameters as a flat object."""
    query: Document
    """The URL's query parameters (where a key may be sent, also with a POST)."""


def form_pairs(raw: bytes, charset: str | None, max_fields: int) -> list[tuple[str, str]]:
    """The fields of an urlencoded body or query string, percent-escapes read in ``charset``.

    Raises:
        BadRequest: Not text in the declared charset, or a charset nobody knows.
        PayloadTooLarge: More than ``max_fields`` fields.
    """
    for encoding in (charset,) if charset else _FALLBACK_CHARSETS:
        try:
            return parse_qsl(
                raw.decode(encoding),
                keep_blank_values=True,
                max_num_fields=max_fields,
                encoding=encoding,
                errors="strict",
            )
        except LookupError as exc:  # no such codec, or one that is not a text encoding (base64)
            raise BadRequest(f"unknown charset '{encoding[:40]}'") from exc
        except UnicodeError:
            continue
        except ValueError as exc:  # parse_qsl's "Max number of fields exceeded"
            raise PayloadTooLarge(f"a request may carry at most {max_fields} fields") from exc
    raise BadRequest(f"the fields are not {charset} as declared")


def flat_document(pairs: Iterable[tuple[str, Any]]) -> Document:
    """Fields by name: one value as a string, repeated names as a list; files are left out."""
    document: Document = {}
    for name, value in pairs:
        if isinstance(value, UploadFile):
            continue
        text = str(value)
        found = document.get(name)
        if found is None:
            document[name] = text
        elif isinstance(found, list):
            found.append(text)
        else:
            document[name] = [found, text]
    return document


def _json(body: bytes, charset: str | None) -> Any:
    if charset and charset.lower().replace("_", "-") not in {"utf-8", "utf8"}:
        try:
            body = body.decode(charset).encode()
        except LookupError as exc:
            raise BadRequest(f"unknown charset '{charset[:40]}'") from exc
        except UnicodeError as exc:
            raise BadRequest(f"the body is not {charset[:40]} as declared") from exc
    return decode_json(body)


async def read_push(request: Request[Any, Any, Any], settings: Settings, *, method: str, query: bytes) -> Push:
    """The request as a document: a GET's ``query``; a POST's body, or its ``query`` when the body is empty.

    Raises:
        PayloadTooLarge: Over ``ingest_max_body_bytes`` or ``ingest_max_fields``.
        UnsupportedMediaType: Not JSON, urlencoded or multipart.
        BadRequest: Malformed JSON or fields, or fields in another charset than declared.
    """
    params = flat_document(form_pairs(query, None, settings.ingest_max_fields))
    if method == "GET":
        return Push(b"", dict(params), params)
    body = await read_body(request, settings.ingest_max_body_bytes)
    if not body.strip():
        return Push(body, dict(params), params)
    media_type, options = request.content_type
    media_type, charset = media_type.lower(), options.get("charset") or None
    if media_type in _UNSPOKEN:
        media_type = "application/json" if body.lstrip()[:1] in {b"{", b"["} else _FORM
    if media_type in {"application/json", "text/json"} or media_type.endswith("+json"):
        return Push(body, _json(body, charset), params)
    if media_type == _FORM:
        return Push(body, flat_document(form_pairs(body, charset, settings.ingest_max_fields)), params)
    if media_type == _MULTIPART:
        return Push(body, flat_document(await multipart_pairs(request, settings.ingest_max_fields)), params)
    raise UnsupportedMediaType("send application/json, application/x-www-form-urlencoded or multipart/form-data")


def lead_documents(kind: Provider, document: Any) -> list[dict[str, Any]]:
    """The lead documents in a push's ``document``, as the kind splits it (a JSON array: one lead per object).

    Raises:
        BadRequest: No lead, or a lead that is not an object.
        PayloadTooLarge: More than ``MAX_LEADS``.
    """
    documents = kind.split(document)
    if not documents or not all(isinstance(each, dict) for each in documents):
        raise BadRequest(f"expected a JSON object, or an array of 1 to {MAX_LEADS} objects")
    if len(documents) > MAX_LEADS:
        raise PayloadTooLarge(f"a request may carry at most {MAX_LEADS} leads")
    return documents
