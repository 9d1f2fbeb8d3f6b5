"""Housing.com's lead push: the documented sample becomes form values.

The sample is Housing.com's documented lead push payload as CRM integrations receive it: one JSON object per
POST with ``lead_name``, ``lead_email``, ``lead_phone`` (national digits) and ``country_code`` (``+91``),
``lead_date`` (Unix seconds), ``project_id``, ``project_name``, ``locality_name``, ``city_name``,
``apartment_names`` (the configuration, such as ``3 BHK``), ``property_field``, ``service_type``,
``category_type``, ``min_price``/``max_price`` and ``min_area``/``max_area``. It carries no lead id.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import BadRequest
from ingest.sources.providers import PROVIDERS
from tests.ingest.preset_forms import preset_leads

SAMPLE: dict[str, Any] = {
    "lead_date": 1692858120,
    "apartment_names": "3 BHK",
    "country_code": "+91",
    "service_type": "new-projects",
    "category_type": "residential",
    "locality_name": "Khyora",
    "city_name": "Kanpur",
    "lead_name": "Manish",
    "lead_email": "example@gmail.com",
    "lead_phone": "9415516905",
    "project_id": 265012,
    "project_name": "The Peak",
    "property_field": ["Apartment"],
    "max_area": None,
    "min_area": None,
    "min_price": 8298450,
    "max_price": 9315000,
}


def test_a_housing_lead_becomes_the_forms_values() -> None:
    [lead] = preset_leads("housing", SAMPLE)

    assert lead.mapped.external_id is None  # no lead id: a repeat is known by its content
    assert lead.mapped.problems == []
    assert lead.fields == {
        "name": "Manish",
        "email": "example@gmail.com",
        "phone": "+919415516905",
        "city": "Kanpur",
        "locality": "Khyora",
        "project": "The Peak",
        "newsletter": False,
    }


def test_a_housing_lead_from_abroad_keeps_its_country() -> None:
    [lead] = preset_leads("housing", {**SAMPLE, "country_code": "+971", "lead_phone": "501234567"})

    assert lead.fields["phone"] == "+971501234567"


def test_an_array_of_housing_leads_is_one_lead_each() -> None:
    other = {**SAMPLE, "lead_name": "Priya", "lead_phone": "9876543210", "lead_email": "priya@example.com"}

    leads = preset_leads("housing", [SAMPLE, other])

    assert [(lead.fields["name"], lead.fields["phone"]) for lead in leads] == [
        ("Manish", "+919415516905"),
        ("Priya", "+919876543210"),
    ]


@pytest.mark.parametrize("payload", ["text", [SAMPLE, "text"], 3])
def test_a_payload_that_is_not_housing_leads_is_a_bad_request(payload: Any) -> None:
    with pytest.raises(BadRequest):
        PROVIDERS["housing"].split(payload)
