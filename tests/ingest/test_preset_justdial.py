"""JustDial's lead push: the documented sample becomes form values.

The sample's shape is JustDial's lead API as CRM integrations receive it: one lead per request, its fields as
parameters of the client's URL (a GET query string, or the same names posted as a form or JSON): ``leadid``,
``leadtype``, ``prefix``, ``name``, ``mobile`` (ten digits), ``phone`` (a landline with its STD code), ``email``,
``date``, ``time``, ``category`` (what was searched for), ``city``, ``area``, ``brancharea``, ``dncmobile``,
``dncphone``, ``company``, ``pincode``, ``branchpin`` and ``parentid``. Integrations answer ``RECEIVED``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from tests.ingest.preset_forms import preset_leads

QUERY = (
    "leadid=0124PX22.X22.240514103259.K7T2&leadtype=company&prefix=Mr&name=Ravi%20Kumar&mobile=9876543210"
    "&phone=02224987654&email=ravi.kumar%40example.com&date=2024-05-14&category=Packers%20And%20Movers"
    "&city=Mumbai&area=Andheri%20West&brancharea=Andheri&dncmobile=0&dncphone=0&company=Kumar%20Traders"
    "&pincode=400053&time=10%3A32%3A59&branchpin=400058&parentid=PX22.X22.170101000000.A1B2"
)


def _pushed(query: str = QUERY) -> dict[str, str]:
    """The query string as the hook reads it: each parameter once, as text."""
    return dict(parse_qsl(query, keep_blank_values=True))


def test_a_justdial_lead_becomes_the_forms_values_with_its_lead_id() -> None:
    [lead] = preset_leads("justdial", _pushed())

    assert lead.mapped.external_id == "0124PX22.X22.240514103259.K7T2"
    assert lead.mapped.problems == []
    assert lead.fields == {
        "name": "Ravi Kumar",
        "email": "ravi.kumar@example.com",
        "phone": "+919876543210",  # the mobile, read as an Indian number
        "company": "Kumar Traders",
        "city": "Mumbai",
        "locality": "Andheri West",
        "postcode": "400053",
        "product": "Packers And Movers",
        "newsletter": False,
    }


def test_a_justdial_lead_without_a_mobile_keeps_its_landline() -> None:
    [lead] = preset_leads("justdial", _pushed(QUERY.replace("mobile=9876543210", "mobile=")))

    assert lead.fields["phone"] == "+912224987654"


def test_a_sources_own_mapping_overrides_the_justdial_preset() -> None:
    [lead] = preset_leads("justdial", _pushed(), mapping={"brancharea": "locality", "category": "message"})

    assert lead.fields["locality"] == "Andheri"
    assert lead.fields["message"] == "Packers And Movers"
    assert "product" not in lead.fields  # the source sent `category` elsewhere
