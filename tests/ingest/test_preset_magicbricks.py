"""MagicBricks' lead push: the documented sample becomes form values.

The sample's shape is MagicBricks' real-time lead push as CRM integrations receive it: one enquiry per request, a
GET to the client's URL (some accounts POST the same names) with ``name``, ``mobile`` (national digits), ``isd``
(the country's dialling code), ``email``, ``msg`` (the enquiry's text), ``project``, ``City``, ``dt``, ``time`` and
``source``. It carries no lead id. Integrations answer ``Success: Lead punched in the CRM``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from core.errors import BadRequest
from ingest.sources.providers import PROVIDERS
from tests.ingest.preset_forms import preset_leads

QUERY = (
    "name=Amit%20Shah&mobile=9820012345&isd=91&email=amit.shah%40example.com"
    "&msg=I%20am%20interested%20in%20your%20property%202%20BHK%20Multistorey%20Apartment%20for%20Sale%20in%20Palava"
    "&project=Lodha%20Palava&City=Thane&dt=2024-05-14&time=11%3A32%3A10&source=MagicBricks"
)


def _pushed(query: str = QUERY) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


def test_a_magicbricks_enquiry_becomes_the_forms_values() -> None:
    [lead] = preset_leads("magicbricks", _pushed())

    assert lead.mapped.external_id is None  # no lead id: a repeat is known by its content
    assert lead.mapped.problems == []
    assert lead.fields == {
        "name": "Amit Shah",
        "email": "amit.shah@example.com",
        "phone": "+919820012345",
        "city": "Thane",
        "project": "Lodha Palava",
        "message": "I am interested in your property 2 BHK Multistorey Apartment for Sale in Palava",
        "newsletter": False,
    }


def test_a_mobile_is_read_in_the_country_of_its_isd_code() -> None:
    abroad_query = QUERY.replace("mobile=9820012345&isd=91", "mobile=501234567&isd=971")
    [abroad] = preset_leads("magicbricks", _pushed(abroad_query))
    [no_isd] = preset_leads("magicbricks", _pushed(QUERY.replace("&isd=91", "")))

    assert abroad.fields["phone"] == "+971501234567"
    assert no_isd.fields["phone"] == "+919820012345"


def test_an_array_of_magicbricks_enquiries_is_one_lead_each() -> None:
    leads = preset_leads("magicbricks", [_pushed(), _pushed(QUERY.replace("Amit%20Shah", "Neha%20Shah"))])

    assert [lead.fields["name"] for lead in leads] == ["Amit Shah", "Neha Shah"]


@pytest.mark.parametrize("payload", ["text", [{"name": "x"}, 1], 3])
def test_a_payload_that_is_not_magicbricks_enquiries_is_a_bad_request(payload: Any) -> None:
    with pytest.raises(BadRequest):
        PROVIDERS["magicbricks"].split(payload)
