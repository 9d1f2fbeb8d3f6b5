"""Jotform: a submission posted by the form's webhook as ``multipart/form-data``, its answers in ``rawRequest``.

From Jotform's webhook post as integrations record it: ``formID``, ``submissionID``, ``formTitle``, ``username``,
``webhookURL``, ``ip``, ``pretty`` (a readable summary), ``type`` and ``rawRequest``, a JSON string of the answers
keyed ``q{number}_{unique name}``: a name as ``{first, last}``, a phone as ``{full}`` (``{area, phone}`` on older
forms), a date as ``{month, day, year}``, an address as ``{addr_line1, city, state, postal, country}``, beside keys
of Jotform's own (``slug``, ``path``, ``event_id``, ``timeToSubmit``, ...).

Jotform neither signs its webhooks nor sends a header of the form owner's choosing, so the source's unguessable URL
is the credential (``url``): a key in its query would add nothing the URL's random id does not already give, and
Jotform posts the URL back in ``webhookURL``, which is why that field is never kept.
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import BadRequest
from ingest.parse import decode_json
from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider

__all__ = ("PROVIDERS",)

_ANSWER = re.compile(r"q[0-9]+_(.+)")
_KEPT = ("submissionID", "formID", "formTitle")
_NAME_PARTS = ("prefix", "first", "middle", "last", "suffix")


def _text(parts: dict[str, Any], names: tuple[str, ...]) -> str:
    return " ".join(
        str(parts[n]).strip() for n in names if isinstance(parts.get(n), str | int) and str(parts[n]).strip()
    )


def _flat(name: str, value: Any) -> dict[str, Any]:
    """One answer as flat values: a name whole (and its first and last parts), a phone whole, a date as
    ``YYYY-MM-DD``, any other group of inputs (an address) as ``{name}_{part}``."""
    if not isinstance(value, dict):
        return {name: value}
    if "first" in value or "last" in value:
        parts = {f"{name}_{p}": str(value[p]).strip() for p in ("first", "last") if str(value.get(p) or "").strip()}
        return {name: _text(value, _NAME_PARTS), **parts}
    if "full" in value or "phone" in value:
        return {name: str(value.get("full") or "").strip() or _text(value, ("country", "area", "phone"))}
    if {"year", "month", "day"} <= value.keys():
        year, month, day = (str(value[p]).strip() for p in ("year", "month", "day"))
        return {name: f"{year}-{month:0>2}-{day:0>2}"} if year and month and day else {}
    return {
        f"{name}_{part}": sub
        for part, sub in value.items()
        if isinstance(sub, str | int | float) and not isinstance(sub, bool) and str(sub).strip()
    }


def submissions(document: Any) -> list[Any]:
    """The submission as one flat document: each answer under its unique name (``q3_name`` as ``name``), the first
    email and phone answers as ``email`` and ``phone`` too, and ``submissionID``, ``formID`` and ``formTitle``.
    Jotform's own keys, the respondent's address, the summary and the hook's URL are left out.

    Raises:
        BadRequest: No ``rawRequest`` holding a JSON object.
    """
    raw = document.get("rawRequest") if isinstance(document, dict) else None
    answers = decode_json(raw.encode()) if isinstance(raw, str) else None
    if not isinstance(answers, dict):
        raise BadRequest("expected Jotform's webhook post: rawRequest with the answers as a JSON object")
    lead: dict[str, Any] = {}
    firsts: dict[str, Any] = {}
    for key, value in answers.items():
        if not (match := _ANSWER.fullmatch(str(key))):
            continue
        name = match[1]
        flat = _flat(name, value)
        for flat_name, flat_value in flat.items():
            lead.setdefault(flat_name, flat_value)
        for first in ("email", "phone"):
            if first in name.lower() and flat.get(name):
                firsts.setdefault(first, flat[name])
    for name, value in firsts.items():
        lead.setdefault(name, value)
    lead.update({name: document[name] for name in _KEPT if isinstance(document.get(name), str) and document[name]})
    return [lead]


PROVIDERS = (
    Provider(
        kind="jotform",
        label="Jotform",
        setup="In the form's Settings > Integrations > WebHooks, add the source's URL (Jotform cannot sign: keep the "
        "URL secret).",
        rules=Rules(
            mapping={
                "name": "name",
                "fullName": "name",
                "email": "email",
                "phone": "phone",
                "company": "company",
                "address_city": "city",
                "address_postal": "postcode",
            },
            id_field="submissionID",
        ),
        auth=Auth("url"),
        split=submissions,
    ),
)
