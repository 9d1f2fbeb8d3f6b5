"""Typeform: a response pushed by the form's webhook as JSON, signed with the webhook's secret.

From Typeform's webhooks documentation: ``{"event_id", "event_type": "form_response", "form_response": {"form_id",
"token", "submitted_at", "landed_at", "hidden", "definition": {"fields": [{"id", "ref", ...}]}, "answers": [...]}}``,
each answer's value under its ``type`` key (``text``, ``email``, ``phone_number``, ``number``, ``boolean``,
``date``, ``url``, ``file_url``, ``choice.label``, ``choices.labels``) and its question in ``field`` by ``id`` (and,
in newer payloads, ``ref``). The body is signed: ``Typeform-Signature: sha256=`` and the base64 HMAC-SHA256 of the
raw body made with the webhook's secret, which is the source's ``auth_secret``.
"""

from __future__ import annotations

from typing import Any

from core.errors import BadRequest
from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider

__all__ = ("PROVIDERS",)

_KEPT = ("token", "form_id", "submitted_at", "landed_at")


def _value(answer: dict[str, Any]) -> Any:
    """The answer's value: under its ``type`` key, a choice by its label, several choices as a list of labels."""
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = [str(label) for label in value.get("labels") or [] if label]
        return [*labels, str(value["other"])] if value.get("other") else labels
    return None if isinstance(value, dict | list) else value  # a payment's details are not a form value


def responses(document: Any) -> list[Any]:
    """The response as one document: each answer under its question's ``ref`` (else its ``id``), the first email
    and phone answers as ``email`` and ``phone`` too, the ``hidden`` fields, and ``token``, ``form_id``,
    ``submitted_at`` and ``landed_at`` (which win over answers whose ref has those names).

    Raises:
        BadRequest: Not a Typeform ``form_response``.
    """
    response = document.get("form_response") if isinstance(document, dict) else None
    answers = response.get("answers", []) if isinstance(response, dict) else None
    if not isinstance(response, dict) or not isinstance(answers, list):
        raise BadRequest("expected Typeform's webhook payload: a form_response with its answers")
    definition = response.get("definition")
    questions = definition.get("fields") if isinstance(definition, dict) else None
    refs = {q["id"]: q.get("ref") for q in questions or [] if isinstance(q, dict) and isinstance(q.get("id"), str)}
    lead: dict[str, Any] = {}
    firsts: dict[str, Any] = {}
    for answer in answers:
        if not isinstance(answer, dict) or (value := _value(answer)) is None:
            continue
        field = answer.get("field")
        if not isinstance(field, dict):
            field = {}
        question = field.get("id") if isinstance(field.get("id"), str) else None
        key = field.get("ref") or refs.get(question or "") or question
        if isinstance(key, str) and key:
            lead.setdefault(key, value)
        if answer.get("type") in {"email", "phone_number"}:
            firsts.setdefault("email" if answer["type"] == "email" else "phone", value)
    for name, value in firsts.items():
        lead.setdefault(name, value)
    lead.update({name: response[name] for name in _KEPT if response.get(name) is not None})
    hidden = response.get("hidden")
    if isinstance(hidden, dict):
        lead["hidden"] = dict(hidden)
    return [lead]


PROVIDERS = (
    Provider(
        kind="typeform",
        label="Typeform",
        setup="In the form's Connect > Webhooks, add the source's URL and set its secret to the source's "
        "`auth_secret`.",
        rules=Rules(mapping={"email": "email", "phone": "phone"}, id_field="token"),
        auth=Auth("hmac", name="Typeform-Signature", encoding="base64", prefix="sha256="),
        split=responses,
    ),
)
