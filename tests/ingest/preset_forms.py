"""A lead form with the field names the presets map to, and what a preset makes of a sender's payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.ids import new_id
from forms import service as forms
from forms.models import Form
from ingest.parse import RawSubmission
from ingest.sources.kinds import InboundLead
from ingest.sources.models import Source
from ingest.sources.providers import PROVIDERS
from ingest.sources.service import map_lead
from ingest.validate import validate_submission

if TYPE_CHECKING:
    from ingest.sources.mapping import Mapped

__all__ = ("LEAD_FORM", "PresetLead", "preset_leads")

LEAD_FORM: dict[str, Any] = {
    "name": "Enquiries",
    "status": "published",
    "fields": [
        {"name": "name", "type": "text", "required": True, "max_length": 120},
        {"name": "email", "type": "email"},
        {"name": "phone", "type": "phone"},
        {"name": "company", "type": "text"},
        {"name": "city", "type": "text"},
        {"name": "locality", "type": "text"},
        {"name": "postcode", "type": "text"},
        {"name": "project", "type": "text"},
        {"name": "product", "type": "text"},
        {"name": "topics", "type": "multiselect", "options": ["pricing", "security", "api"]},
        {"name": "newsletter", "type": "checkbox"},
        {"name": "message", "type": "textarea"},
    ],
    "consents": [
        {
            "purpose": "sales_contact",
            "channel": "email",
            "text": "I agree that Acme may contact me about this enquiry.",
            "required": True,
        }
    ],
    "settings": {"default_phone_region": "IN", "success_message": "Thanks!"},
}


@dataclass(frozen=True, slots=True)
class PresetLead:
    """One lead document of a payload: what the rules read from it, and the values as they would be stored."""

    mapped: Mapped
    fields: dict[str, Any]


def preset_leads(kind: str, payload: Any, *, mapping: dict[str, str] | None = None, **config: Any) -> list[PresetLead]:
    """The kind's ``split`` of ``payload``, each document through ``map_lead`` and the form's validation, for a
    source of ``kind`` with its own ``mapping`` and ``config`` (none by default: the preset's rules alone)."""
    form = Form(
        id=new_id("form"),
        workspace_id="ws_test",
        name=LEAD_FORM["name"],
        slug=new_id("slug"),
        status="published",
        version=1,
        fields=LEAD_FORM["fields"],
        consents=LEAD_FORM["consents"],
        settings=LEAD_FORM["settings"],
    )
    source = Source(
        id=new_id("src"),
        kind=kind,
        mapping=dict(mapping or {}),
        config=config,
        consent_purposes=["sales_contact"],
        secrets={},
    )
    leads = []
    for document in PROVIDERS[kind].split(payload):
        mapped = map_lead(source, form, InboundLead(external_id="", values=document))
        raw = RawSubmission(
            values=mapped.values,
            consents=list(source.consent_purposes),
            is_json=True,
            body=b"{}",
            content_type="application/json",
        )
        clean = validate_submission(raw, forms.definition_of(form), max_value_length=10_000)
        leads.append(PresetLead(mapped=mapped, fields=clean.fields))
    return leads
