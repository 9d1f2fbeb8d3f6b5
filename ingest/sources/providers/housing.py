"""Housing.com: a lead pushed to the source's URL as one JSON object per POST.

From Housing.com's documented lead push payload as CRM integrations receive it: ``lead_name``, ``lead_email``,
``lead_phone`` (national digits) with ``country_code`` (``+91``), ``lead_date`` (Unix seconds), ``project_id``,
``project_name``, ``locality_name``, ``city_name``, ``apartment_names`` (``3 BHK``), ``property_field``,
``service_type``, ``category_type``, ``min_price``/``max_price`` and ``min_area``/``max_area``. Some accounts get
``name``, ``mobile_number``, ``email`` and ``project_name`` instead; both are read. The payload has no lead id, so a
repeat is recognised by its content. Housing.com signs nothing: the source's unguessable URL is the credential.
"""

from __future__ import annotations

from typing import Any

from core.errors import BadRequest
from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider
from ingest.sources.providers.dialling import with_country_code

__all__ = ("PROVIDERS",)


def housing_leads(document: Any) -> list[Any]:
    """Each lead (one, or a JSON array of them) with ``phone``: ``lead_phone`` with its ``country_code``, so that a
    number abroad is read as one.

    Raises:
        BadRequest: Not a lead, or an array with something else in it.
    """
    found = document if isinstance(document, list) else [document]
    if not all(isinstance(lead, dict) for lead in found):
        raise BadRequest("expected Housing.com's lead: lead_name, lead_phone, lead_email, project_name, ...")
    return [_with_phone(lead) for lead in found]


def _with_phone(document: dict[str, Any]) -> dict[str, Any]:
    lead = dict(document)
    number = lead.get("lead_phone") or lead.get("mobile_number")
    if number and "phone" not in lead:
        lead["phone"] = with_country_code(lead.get("country_code"), number)
    return lead


PROVIDERS = (
    Provider(
        kind="housing",
        label="Housing.com",
        setup="Ask Housing.com to push your leads to the source's URL (a JSON POST with `lead_name`, `lead_phone`, "
        "`lead_email`, `project_name`, ...).",
        rules=Rules(
            mapping={
                "lead_name": "name",
                "name": "name",
                "lead_email": "email",
                "email": "email",
                "phone": "phone",
                "lead_phone": "phone",
                "mobile_number": "phone",
                "city_name": "city",
                "locality_name": "locality",
                "project_name": "project",
            },
            phone_region="IN",
        ),
        auth=Auth("url"),
        split=housing_leads,
    ),
)
