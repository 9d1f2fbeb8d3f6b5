"""What Litestar cannot see when it writes the OpenAPI document, added to the document it generated.

The public submit endpoints read their bodies themselves (three formats, fields defined per form), so Litestar
documents no ``requestBody``; headers that middleware or handlers set (``Location``, ``ETag``, ``Retry-After``,
``Idempotent-Replayed``, ``X-Request-ID``) are invisible to it; and the problems that only a body or a stored
state can cause (409, 412, 413, 415) do not belong on a GET. Without these a generated client cannot submit a form.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ("WebhookEvent", "complete_document")


class WebhookEvent(NamedTuple):
    """An event type Leadwire sends to endpoints, as the slice that sends it describes it."""

    description: str
    data: tuple[type[msgspec.Struct], ...]
    """The Structs that describe the event's ``data``: it is one of them."""


_STRING = {"type": "string"}
_HEADER_DOCS = {
    "Location": "Where the created resource, or the next page, is",
    "ETag": 'The version of the resource, for If-Match (like "v3")',
    "Retry-After": "Seconds to wait before retrying",
    "Idempotent-Replayed": "true when this is the stored answer to an earlier request with the same Idempotency-Key",
    "X-Request-ID": "The request's id, as in the server's logs (the client's own X-Request-ID when it sent one)",
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the same key and body within 24 hours get the stored answer, not a new lead.",
    "schema": {"type": "string", "maxLength": 255},
}
_SUBMISSION = {
    "type": "object",
    "description": "The form's fields by name; `consent` lists the granted purposes. A JSON client needs neither `_t` "
    "(the hosted page's render token, checked when sent) nor `_hp` (its honeypot, which must stay empty); a browser "
    "post without `_t` is kept as spam unless the form accepts posts from your own pages.",
    "properties": {"consent": {"type": "array", "items": _STRING}, "_t": _STRING, "_hp": _STRING},
    "additionalProperties": True,
}
_FORM_BODY = {"type": "object", "additionalProperties": {"type": "string"}}
_NO_BODY_ON_GET = ("409", "412", "413", "415")
_WEBHOOK_HEADERS = {
    "webhook-id": "The message id (msg_…): the same on every retry, so deduplicate on it",
    "webhook-timestamp": "Unix seconds when this attempt was signed",
    "webhook-signature": "v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'> (Standard Webhooks), space-separated",
}


def _header(name: str) -> dict[str, Any]:
    return {"description": _HEADER_DOCS[name], "schema": _STRING}


def _add_headers(response: dict[str, Any], *names: str) -> None:
    headers = response.setdefault("headers", {})
    for name in names:
        headers.setdefault(name, _header(name))


def _document_submit(operation: dict[str, Any]) -> None:
    operation["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {"schema": _SUBMISSION},
            "application/x-www-form-urlencoded": {"schema": _FORM_BODY},
            "multipart/form-data": {"schema": _FORM_BODY},
        },
    }
    params = operation.setdefault("parameters", [])
    if not any(p.get("name") == "Idempotency-Key" for p in params):
        params.append(_IDEMPOTENCY_KEY)
    responses = operation["responses"]
    _add_headers(responses.get("201", {}), "Idempotent-Replayed")
    if "303" in responses:
        _add_headers(responses["303"], "Location", "Idempotent-Replayed")
    if "422" in responses:  # a browser post (not JSON, no Accept: application/json) gets the form back with errors
        responses["422"].setdefault("content", {})["text/html"] = {"schema": _STRING}


_SENDERS_PAYLOAD = {
    "application/json": {
        "schema": {
            "oneOf": [
                {"type": "object", "additionalProperties": True},
                {"type": "array", "items": {"type": "object", "additionalProperties": True}, "maxItems": 100},
            ]
        }
    },
    "application/x-www-form-urlencoded": {"schema": _FORM_BODY},
    "multipart/form-data": {"schema": _FORM_BODY},
}


def _document_hook(operation: dict[str, Any]) -> None:
    operation["requestBody"] = {
        "required": False,
        "description": "The sender's own payload: a Standard Webhooks event, a Google Ads lead, a Meta leadgen ping, "
        "or, for generic sources and presets, a JSON object (one lead), an array of up to 100 objects (one lead "
        "each), or form fields (urlencoded, honouring charset=, or multipart; files are ignored). A POST without a "
        "body carries its lead in the query string.",
        "content": _SENDERS_PAYLOAD,
    }
    if "200" in operation["responses"]:
        _add_headers(operation["responses"]["200"], "Idempotent-Replayed")


def _document_tryout(operation: dict[str, Any]) -> None:
    operation["requestBody"] = {
        "required": True,
        "description": "A sample, exactly as the source's sender would send it (with ?method=GET: the query string a "
        "GET would carry, as the body).",
        "content": _SENDERS_PAYLOAD,
    }


_READ_BY_HANDLER: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("/f/{slug}", "post"): _document_submit,
    ("/hooks/{source_id}", "post"): _document_hook,
    ("/api/v1/sources/{source_id}/try", "post"): _document_tryout,
}
"""Operations whose handlers read their bodies themselves, in formats Litestar cannot see."""


def _complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.get("responses", {})
    if method == "get":
        for status in _NO_BODY_ON_GET:
            responses.pop(status, None)
    for status, response in responses.items():
        if status.startswith(("2", "3")):
            _add_headers(response, "X-Request-ID")
        if status in {"429", "503"}:
            _add_headers(response, "Retry-After")
    if method == "post" and "201" in responses and path.startswith("/api/"):
        _add_headers(responses["201"], "Location")
    if method == "post" and path.startswith("/api/v1/forms") and "201" in responses:
        _add_headers(responses["201"], "ETag")
    if path == "/api/v1/forms/{form_id}" and method in {"get", "patch"} and "200" in responses:
        _add_headers(responses["200"], "ETag")
    if (document_body := _READ_BY_HANDLER.get((path, method))) is not None:
        document_body(operation)
    if path == "/c/{token}" and method == "get" and "200" in responses:
        responses["200"].setdefault("content", {})["application/json"] = {
            "schema": {"type": "object", "description": "The receipt (ISO/IEC TS 27560 shape), for Accept: JSON"}
        }


def _data_schemas(events: Mapping[str, WebhookEvent], schemas: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each event's ``data`` schema; the Structs' schemas are added to ``schemas`` (the document's components)."""
    types = sorted({data for event in events.values() for data in event.data}, key=lambda data: data.__name__)
    _, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    for name, schema in components.items():
        if schemas.setdefault(name, schema) != schema:  # two Structs of one name would silently share a schema
            raise RuntimeError(f"two different schemas are named {name} in the OpenAPI document")
    data: dict[str, dict[str, Any]] = {}
    for name, event in events.items():
        refs = [{"$ref": f"#/components/schemas/{each.__name__}"} for each in event.data]
        data[name] = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return data


def _webhooks(events: Mapping[str, WebhookEvent], schemas: dict[str, Any]) -> dict[str, Any]:
    """The events Leadwire sends to registered endpoints (OpenAPI 3.1 ``webhooks``), signed as Standard Webhooks."""
    parameters = [
        {"name": name, "in": "header", "required": True, "description": text, "schema": _STRING}
        for name, text in _WEBHOOK_HEADERS.items()
    ]
    data = _data_schemas(events, schemas)
    return {
        name: {
            "post": {
                "summary": name,
                "description": event.description,
                "operationId": "webhook_" + name.replace(".", "_"),
                "parameters": parameters,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["type", "timestamp", "data"],
                                "properties": {
                                    "type": {"const": name},
                                    "timestamp": {"type": "string", "format": "date-time"},
                                    "data": data[name],
                                },
                            }
                        }
                    },
                },
                "responses": {"2XX": {"description": "Received; any other answer is retried with back-off"}},
            }
        }
        for name, event in events.items()
    }


def complete_document(document: dict[str, Any], webhooks: Mapping[str, WebhookEvent]) -> dict[str, Any]:
    """A copy of Litestar's document with request bodies, header parameters and response headers it cannot see.

    Args:
        document: The document Litestar generated.
        webhooks: The events Leadwire sends, by type; each slice declares its own (``core`` imports no slice).
    """
    completed = copy.deepcopy(document)
    for path, item in completed.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _complete_operation(path, method, operation)
    schemas = completed.setdefault("components", {}).setdefault("schemas", {})
    completed["webhooks"] = _webhooks(webhooks, schemas)
    return completed
