"""Jotform's webhook: the documented sample becomes form values.

The sample is Jotform's webhook post as integrations that receive it record it (Zulip's Jotform integration keeps
one as a test fixture): ``multipart/form-data`` with ``formID``, ``submissionID``, ``formTitle``, ``username``,
``webhookURL``, ``ip``, ``pretty`` (a readable summary), ``type`` and ``rawRequest``: a JSON string of the answers
keyed ``q{number}_{unique name}`` (``q3_name``), a name as ``{first, last}``, a phone as ``{full}`` (or
``{area, phone}`` on older forms), a date as ``{month, day, year}``, an address as ``{addr_line1, city, state,
postal, country}``, beside keys of Jotform's own (``slug``, ``path``, ``event_id``, ``timeToSubmit``, ...).
Jotform does not sign its webhooks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.errors import BadRequest
from ingest.sources.providers import PROVIDERS
from tests.ingest.preset_forms import preset_leads

RAW_REQUEST: dict[str, Any] = {
    "slug": "submit/241352716390049",
    "jsExecutionTracker": "build-date-1715671010021=>init-started:1715680312345=>init-complete:1715680312349",
    "submitSource": "form",
    "buildDate": "1715671010021",
    "q3_name": {"first": "Asha", "last": "Rao"},
    "q4_email": "asha.rao@example.com",
    "q5_phoneNumber": {"full": "98765 43210"},
    "q6_company": "Rao Exports",
    "q7_topics": ["pricing", "api"],
    "q8_message": "Please call after 5 pm.",
    "q9_preferredDate": {"month": "05", "day": "20", "year": "2024"},
    "q10_address": {
        "addr_line1": "12 MG Road",
        "addr_line2": "",
        "city": "Pune",
        "state": "Maharashtra",
        "postal": "411001",
        "country": "India",
    },
    "timeToSubmit": "31",
    "validatedNewRequiredFieldIDs": '{"new":1}',
    "path": "/submit/241352716390049",
    "event_id": "1715680312345_241352716390049_f3Kx9Qa",
}
POSTED: dict[str, str] = {
    "action": "",
    "webhookURL": "https://leads.example.com/hooks/src_01hxyz",
    "username": "acme_sales",
    "formID": "241352716390049",
    "type": "WEB",
    "customParams": "",
    "product": "",
    "formTitle": "Contact sales",
    "customTitle": "",
    "submissionID": "5912768210418463279",
    "event": "",
    "documentID": "",
    "teamID": "",
    "subject": "",
    "isSilent": "",
    "customBody": "",
    "rawRequest": json.dumps(RAW_REQUEST),
    "fromTable": "",
    "appID": "",
    "pretty": "Name:Asha Rao, E-mail:asha.rao@example.com, Phone Number:98765 43210, Company:Rao Exports",
    "unread": "",
    "parent": "",
    "ip": "203.0.113.24",
}


def _posted(**answers: Any) -> dict[str, str]:
    return {**POSTED, "rawRequest": json.dumps({**RAW_REQUEST, **answers})}


def test_a_jotform_submission_becomes_one_flat_document() -> None:
    [document] = PROVIDERS["jotform"].split(POSTED)

    assert document == {
        "name": "Asha Rao",
        "name_first": "Asha",
        "name_last": "Rao",
        "email": "asha.rao@example.com",
        "phoneNumber": "98765 43210",
        "phone": "98765 43210",  # the first phone answer, by a name that does not depend on the form
        "company": "Rao Exports",
        "topics": ["pricing", "api"],
        "message": "Please call after 5 pm.",
        "preferredDate": "2024-05-20",
        "address_addr_line1": "12 MG Road",
        "address_city": "Pune",
        "address_state": "Maharashtra",
        "address_postal": "411001",
        "address_country": "India",
        "submissionID": "5912768210418463279",
        "formID": "241352716390049",
        "formTitle": "Contact sales",
    }  # not the hook's own URL (its id is the source's credential), the address or the summary


def test_a_jotform_submission_becomes_the_forms_values_with_its_submission_id() -> None:
    [lead] = preset_leads("jotform", POSTED)

    assert lead.mapped.external_id == "5912768210418463279"
    assert lead.mapped.problems == []
    assert lead.fields == {
        "name": "Asha Rao",
        "email": "asha.rao@example.com",
        "phone": "+919876543210",  # a national number, read in the form's country
        "company": "Rao Exports",
        "city": "Pune",
        "postcode": "411001",
        "topics": ["pricing", "api"],
        "message": "Please call after 5 pm.",
        "newsletter": False,
    }


def test_a_phone_in_area_and_number_parts_is_read_whole() -> None:
    [lead] = preset_leads("jotform", _posted(q5_phoneNumber={"area": "022", "phone": "24987654"}))

    assert lead.fields["phone"] == "+912224987654"


@pytest.mark.parametrize(
    "payload",
    [{}, {"rawRequest": "not json"}, {"rawRequest": "[1, 2]"}, {"rawRequest": ["{}", "{}"]}, [1], "text"],
)
def test_a_post_without_jotforms_answers_is_a_bad_request(payload: Any) -> None:
    with pytest.raises(BadRequest):
        PROVIDERS["jotform"].split(payload)


@pytest.mark.parametrize(
    "answers",
    [
        {"q3_name": {"first": ["x"], "last": {"y": 1}}, "q4_phone": {"full": ["1"], "area": None}},
        {"q5_date": {"year": 2024, "month": None, "day": "1"}, "q6_group": {"a": ["x"], "b": True, "c": 1.5}},
        {"q7_x": [{"a": 1}], "q8_": "empty name", "q": "no number", "9_q": "no q"},
        {"q1_email": {"full": "a@example.com"}, "q2_email": "b@example.com"},
    ],
)
def test_strange_answers_are_skipped_or_kept_as_sent_not_errors(answers: dict[str, Any]) -> None:
    [document] = PROVIDERS["jotform"].split({"rawRequest": json.dumps(answers), "formID": ["1", "2"]})

    assert all(isinstance(name, str) for name in document)
    assert "formID" not in document  # repeated: not one of Jotform's
