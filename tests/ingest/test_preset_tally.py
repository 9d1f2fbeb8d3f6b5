"""Tally's webhook: the documented sample becomes form values.

The sample has the shape of the payload on Tally's webhooks help page, as integrations that receive it quote it
(its questions are a contact form's): ``eventId``, ``eventType`` (``FORM_RESPONSE``), ``createdAt`` and ``data``
with ``responseId``, ``submissionId``, ``respondentId``, ``formId``, ``formName``, ``createdAt`` and ``fields``: a
list of ``{key, label, type, value}`` where choice questions (``MULTIPLE_CHOICE``, ``DROPDOWN``, ``CHECKBOXES``,
``MULTI_SELECT``) give the ids of the chosen ``options`` (``{id, text}``) and checkboxes add one boolean field per
option. Tally signs the raw body: ``Tally-Signature`` is the base64 HMAC-SHA256 made with the signing secret.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import BadRequest
from ingest.sources.providers import PROVIDERS
from tests.ingest.preset_forms import preset_leads

_TOPICS = [
    {"id": "1a3c9d2e-47b0-4c37-9a3f-5c0f3b1d2e71", "text": "pricing"},
    {"id": "9f0e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d61", "text": "security"},
    {"id": "c4d5e6f7-0819-4a2b-9c3d-4e5f60718293", "text": "api"},
]
SAMPLE: dict[str, Any] = {
    "eventId": "a4cb511e-d513-4fa5-baee-b815d718dfd1",
    "eventType": "FORM_RESPONSE",
    "createdAt": "2023-06-28T15:00:21.889Z",
    "data": {
        "responseId": "2wgx4n",
        "submissionId": "2wgx4n",
        "respondentId": "dwQKYm",
        "formId": "VwbNEw",
        "formName": "Contact sales",
        "createdAt": "2023-06-28T15:00:21.000Z",
        "fields": [
            {"key": "question_mVGEg3", "label": "Full name", "type": "INPUT_TEXT", "value": "Alice Martin"},
            {"key": "question_nW5ZzQ", "label": "Work email", "type": "INPUT_EMAIL", "value": "alice@example.com"},
            {"key": "question_w4Q4Xn", "label": "Phone number", "type": "INPUT_PHONE_NUMBER", "value": "+12027621401"},
            {"key": "question_3jkp0e", "label": "Company", "type": "INPUT_TEXT", "value": "Martin & Co"},
            {
                "key": "question_mRoGoB",
                "label": "Team size",
                "type": "MULTIPLE_CHOICE",
                "value": ["e1d3c2b4-5a69-4f7e-8d90-a1b2c3d4e5f6"],
                "options": [
                    {"id": "e1d3c2b4-5a69-4f7e-8d90-a1b2c3d4e5f6", "text": "11-50"},
                    {"id": "f6e5d4c3-b2a1-4098-8f7e-6d5c4b3a2910", "text": "51+"},
                ],
            },
            {
                "key": "question_wLBPJp",
                "label": "Topics",
                "type": "CHECKBOXES",
                "value": [_TOPICS[0]["id"], _TOPICS[2]["id"]],
                "options": _TOPICS,
            },
            {
                "key": "question_wLBPJp_1a3c9d2e-47b0-4c37-9a3f-5c0f3b1d2e71",
                "label": "Topics (pricing)",
                "type": "CHECKBOXES",
                "value": True,
            },
            {"key": "question_3xPq7a", "label": "How can we help?", "type": "TEXTAREA", "value": "A demo, please."},
            {"key": "question_mZ9y1b", "label": "utm_source", "type": "HIDDEN_FIELDS", "value": "newsletter"},
            {
                "key": "question_nQ8r2c",
                "label": "Brief",
                "type": "FILE_UPLOAD",
                "value": [
                    {
                        "id": "5mDLZ7",
                        "name": "brief.pdf",
                        "url": "https://storage.tally.so/private/brief.pdf?id=5mDLZ7",
                        "mimeType": "application/pdf",
                        "size": 18402,
                    }
                ],
            },
        ],
    },
}


def test_each_tally_field_is_found_by_its_label_and_by_its_key() -> None:
    [document] = PROVIDERS["tally"].split(SAMPLE)

    assert document["Full name"] == document["question_mVGEg3"] == "Alice Martin"
    assert document["Team size"] == ["11-50"]  # chosen options by their text, not their ids
    assert document["Topics"] == ["pricing", "api"]
    assert document["Topics (pricing)"] is True
    assert document["Brief"] == ["https://storage.tally.so/private/brief.pdf?id=5mDLZ7"]
    assert document["utm_source"] == "newsletter"
    assert (document["email"], document["phone"]) == ("alice@example.com", "+12027621401")
    assert {name: document[name] for name in ("responseId", "submissionId", "formId", "formName")} == {
        "responseId": "2wgx4n",
        "submissionId": "2wgx4n",
        "formId": "VwbNEw",
        "formName": "Contact sales",
    }


def test_a_tally_response_becomes_the_forms_values_with_its_response_id() -> None:
    [lead] = preset_leads("tally", SAMPLE, mapping={"Topics": "topics", "How can we help?": "message"})

    assert lead.mapped.external_id == "2wgx4n"
    assert lead.mapped.problems == []
    assert lead.fields == {
        "name": "Alice Martin",
        "email": "alice@example.com",
        "phone": "+12027621401",
        "company": "Martin & Co",
        "topics": ["pricing", "api"],
        "message": "A demo, please.",
        "newsletter": False,
    }


def test_a_choice_sent_as_a_single_id_is_read_too() -> None:
    field = {**SAMPLE["data"]["fields"][4], "value": "f6e5d4c3-b2a1-4098-8f7e-6d5c4b3a2910"}
    payload = {**SAMPLE, "data": {**SAMPLE["data"], "fields": [field]}}

    [document] = PROVIDERS["tally"].split(payload)

    assert document["Team size"] == "51+"


@pytest.mark.parametrize("payload", [{}, {"data": None}, {"data": {"fields": "x"}}, [1], "text"])
def test_a_payload_that_is_not_a_tally_response_is_a_bad_request(payload: Any) -> None:
    with pytest.raises(BadRequest):
        PROVIDERS["tally"].split(payload)


@pytest.mark.parametrize(
    "fields",
    [
        [{"label": ["x"], "key": {"k": 1}, "value": "v"}, "x", None],
        [{"label": "L", "type": "DROPDOWN", "value": [["a"], {"b": 1}, "c"], "options": [{"id": ["c"], "text": "C"}]}],
        [{"label": "L", "type": "CHECKBOXES", "value": {"a": 1}, "options": [{"id": {"a": 1}, "text": "A"}, 3]}],
        [{"label": "L", "type": "FILE_UPLOAD", "value": [{"url": ["x"]}, {"name": "no url"}]}],
    ],
)
def test_strange_shapes_inside_a_response_are_skipped_not_errors(fields: list[Any]) -> None:
    [document] = PROVIDERS["tally"].split({"data": {"fields": fields}})

    assert all(isinstance(name, str) for name in document)
