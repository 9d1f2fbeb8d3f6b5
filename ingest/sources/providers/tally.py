"""Tally: a response pushed by the form's webhook as JSON, signed with the webhook's signing secret.

From Tally's webhooks help page: ``{"eventId", "eventType": "FORM_RESPONSE", "createdAt", "data": {"responseId",
"submissionId", "respondentId", "formId", "formName", "createdAt", "fields": [{"key", "label", "type", "value"}]}}``.
Choice questions (``MULTIPLE_CHOICE``, ``DROPDOWN``, ``CHECKBOXES``, ``MULTI_SELECT``, ``RANKING``) give the ids of
the chosen ``options`` (``{id, text}``), and checkboxes add one boolean field per option; uploads give
``{id, name, url, mimeType, size}``. ``Tally-Signature`` is the base64 HMAC-SHA256 of the raw body made with the
signing secret, which is the source's ``auth_secret``.
"""

from __future__ import annotations

from typing import Any

from core.errors import BadRequest
from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider

__all__ = ("PROVIDERS",)

_KEPT = ("eventId", "responseId", "submissionId", "respondentId", "formId", "formName", "createdAt")
_FIRSTS = {"INPUT_EMAIL": "email", "INPUT_PHONE_NUMBER": "phone"}


def _chosen(value: Any, options: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [options.get(item, item) if isinstance(item, str) else item for item in value if _scalar(item)]
    return options.get(value, value) if isinstance(value, str) else value


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _value(field: dict[str, Any]) -> Any:
    """The field's value: chosen options by their text, uploads and signatures by their URL."""
    value = field.get("value")
    options = field.get("options")
    if isinstance(options, list):
        texts = {
            o["id"]: o["text"] for o in options if isinstance(o, dict) and isinstance(o.get("id"), str) and "text" in o
        }
        return _chosen(value, texts)
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [item["url"] for item in value if isinstance(item.get("url"), str) and item["url"]]
    return value


def responses(document: Any) -> list[Any]:
    """The response as one document: each field's value under its ``label`` and its ``key``, the first email and
    phone as ``email`` and ``phone`` too, and the response's ids and form (which win over fields so labelled).

    Raises:
        BadRequest: Not a Tally form response.
    """
    data = document.get("data") if isinstance(document, dict) else None
    fields = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(fields, list):
        raise BadRequest("expected Tally's webhook payload: data with its fields")
    lead: dict[str, Any] = {}
    firsts: dict[str, Any] = {}
    for field in fields:
        if not isinstance(field, dict) or (value := _value(field)) is None:
            continue
        for name in (field.get("label"), field.get("key")):
            if isinstance(name, str) and name:
                lead.setdefault(name, value)
        if (first := _FIRSTS.get(str(field.get("type")))) and value:
            firsts.setdefault(first, value)
    for name, value in firsts.items():
        lead.setdefault(name, value)
    if isinstance(document, dict) and document.get("eventId") is not None:
        lead["eventId"] = document["eventId"]
    lead.update({name: data[name] for name in _KEPT if data.get(name) is not None})
    return [lead]


PROVIDERS = (
    Provider(
        kind="tally",
        label="Tally",
        setup="In the form's Integrations > Webhooks, add the source's URL with the source's `auth_secret` as its "
        "signing secret.",
        rules=Rules(
            mapping={
                "Name": "name",
                "Full name": "name",
                "email": "email",
                "phone": "phone",
                "Company": "company",
                "City": "city",
                "Message": "message",
            },
            id_field="responseId",
        ),
        auth=Auth("hmac", name="Tally-Signature", encoding="base64"),
        split=responses,
    ),
)
