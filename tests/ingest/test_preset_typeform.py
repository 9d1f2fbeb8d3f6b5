"""Typeform's webhook: the documented sample becomes form values.

The sample is the example payload of Typeform's webhooks documentation, as the SDKs and integrations that receive
it quote it: ``event_id``, ``event_type`` (``form_response``) and ``form_response`` with ``form_id``, ``token``
(the response's id), ``submitted_at``, ``hidden`` fields, ``definition.fields`` (each with its ``id`` and ``ref``)
and ``answers``, a list whose value sits under each answer's ``type`` key (``text``, ``email``, ``phone_number``,
``choice.label``, ``choices.labels``, ``boolean``, ``number``, ``date``, ``url``) and whose ``field`` names the
question by ``id`` (and, in newer payloads, ``ref``). Typeform signs the raw body: ``Typeform-Signature:
sha256=`` and the base64 HMAC-SHA256 made with the webhook's secret.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import BadRequest
from ingest.sources.providers import PROVIDERS
from tests.ingest.preset_forms import preset_leads

SAMPLE: dict[str, Any] = {
    "event_id": "LtWXD3crgy",
    "event_type": "form_response",
    "form_response": {
        "form_id": "lT4Z3j",
        "token": "a3a12ec67a1365927098a606107fac15",
        "submitted_at": "2018-01-18T18:17:02Z",
        "landed_at": "2018-01-18T18:07:02Z",
        "calculated": {"score": 9},
        "variables": [
            {"key": "score", "type": "number", "number": 4},
            {"key": "name", "type": "text", "text": "typeform"},
        ],
        "hidden": {"user_id": "abc123456"},
        "definition": {
            "id": "lT4Z3j",
            "title": "Webhooks example",
            "fields": [
                {
                    "id": "DlXFaesGBpoF",
                    "title": "Thanks, {{answer_60906475}}! What's it like where you live? Tell us in a few sentences.",
                    "type": "long_text",
                    "ref": "readable_ref_long_text",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "SMEUb7VJz92Q",
                    "title": "If you're OK with our city management following up if they have further questions, "
                    "please give us your email address.",
                    "type": "email",
                    "ref": "readable_ref_email",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "JwWggjAKtOkA",
                    "title": "What is your first name?",
                    "type": "short_text",
                    "ref": "readable_ref_short_text",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "KoJxDM3c6x8h",
                    "title": "When did you move to the place where you live?",
                    "type": "date",
                    "ref": "readable_ref_date",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "PNe8ZKBK8C2Q",
                    "title": "Which pictures do you like? You can choose as many as you like.",
                    "type": "picture_choice",
                    "ref": "readable_ref_picture_choice",
                    "allow_multiple_selections": True,
                    "allow_other_choice": False,
                },
                {
                    "id": "Q7M2XAwY04dW",
                    "title": "On a scale of 1 to 5, what rating would you give the weather in Sydney? 1 is poor "
                    "weather, 5 is excellent weather",
                    "type": "number",
                    "ref": "readable_ref_number1",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "gFFf3xAkJKsr",
                    "title": "By submitting this form, you understand and accept that we will share your answers "
                    "with city management. Your answers will be anonymous will not be shared.",
                    "type": "legal",
                    "ref": "readable_ref_legal",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "k6TP9oLGgHjl",
                    "title": "Which of these cities is your favorite?",
                    "type": "multiple_choice",
                    "ref": "readable_ref_multiple_choice",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "RUqkXSeXBXSd",
                    "title": "Do you have a favorite city we haven't listed?",
                    "type": "yes_no",
                    "ref": "readable_ref_yes_no",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "NRsxU591jIW9",
                    "title": "How important is the weather to your opinion about a city? 1 is not important, 5 is "
                    "very important.",
                    "type": "opinion_scale",
                    "ref": "readable_ref_opinion_scale",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "WOTdC00F8A3h",
                    "title": "How would you rate the weather where you currently live? 1 is poor weather, 5 is "
                    "excellent weather.",
                    "type": "rating",
                    "ref": "readable_ref_rating",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "pn48RmPazVdM",
                    "title": "On a scale of 1 to 5, what rating would you give the general quality of life in "
                    "Sydney? 1 is poor, 5 is excellent",
                    "type": "number",
                    "ref": "readable_ref_number2",
                    "allow_multiple_selections": False,
                    "allow_other_choice": False,
                },
                {
                    "id": "M5tXK5kG7IeA",
                    "title": "Book a time with me",
                    "type": "calendly",
                    "ref": "readable_ref_calendly",
                    "properties": {},
                },
            ],
        },
        "answers": [
            {
                "type": "text",
                "text": "It's cold right now! I live in an older medium-sized city with a university. "
                "Geographically, the area is hilly.",
                "field": {"id": "DlXFaesGBpoF", "type": "long_text"},
            },
            {"type": "email", "email": "laura@example.com", "field": {"id": "SMEUb7VJz92Q", "type": "email"}},
            {"type": "text", "text": "Laura", "field": {"id": "JwWggjAKtOkA", "type": "short_text"}},
            {"type": "date", "date": "2005-10-15", "field": {"id": "KoJxDM3c6x8h", "type": "date"}},
            {
                "type": "choices",
                "choices": {"labels": ["London", "Sydney"]},
                "field": {"id": "PNe8ZKBK8C2Q", "type": "picture_choice"},
            },
            {"type": "number", "number": 5, "field": {"id": "Q7M2XAwY04dW", "type": "number"}},
            {"type": "boolean", "boolean": True, "field": {"id": "gFFf3xAkJKsr", "type": "legal"}},
            {
                "type": "choice",
                "choice": {"label": "London"},
                "field": {"id": "k6TP9oLGgHjl", "type": "multiple_choice"},
            },
            {"type": "boolean", "boolean": False, "field": {"id": "RUqkXSeXBXSd", "type": "yes_no"}},
            {"type": "number", "number": 2, "field": {"id": "NRsxU591jIW9", "type": "opinion_scale"}},
            {"type": "number", "number": 3, "field": {"id": "WOTdC00F8A3h", "type": "rating"}},
            {"type": "number", "number": 4, "field": {"id": "pn48RmPazVdM", "type": "number"}},
            {
                "type": "url",
                "url": "https://calendly.com/scheduled_events/EVENT_TYPE/invitees/INVITEE",
                "field": {"id": "M5tXK5kG7IeA", "type": "calendly", "ref": "readable_ref_calendly"},
            },
        ],
        "ending": {"id": "dN5FLyFpCMFo", "ref": "01GRC8GR2017M6WW347T86VV39"},
    },
}


def test_each_typeform_answer_is_found_by_its_questions_ref() -> None:
    [document] = PROVIDERS["typeform"].split(SAMPLE)

    assert document == {
        "readable_ref_long_text": "It's cold right now! I live in an older medium-sized city with a university. "
        "Geographically, the area is hilly.",
        "readable_ref_email": "laura@example.com",
        "readable_ref_short_text": "Laura",
        "readable_ref_date": "2005-10-15",
        "readable_ref_picture_choice": ["London", "Sydney"],
        "readable_ref_number1": 5,
        "readable_ref_legal": True,
        "readable_ref_multiple_choice": "London",
        "readable_ref_yes_no": False,
        "readable_ref_opinion_scale": 2,
        "readable_ref_rating": 3,
        "readable_ref_number2": 4,
        "readable_ref_calendly": "https://calendly.com/scheduled_events/EVENT_TYPE/invitees/INVITEE",
        "email": "laura@example.com",  # the first email answer, by a name that does not depend on the form
        "token": "a3a12ec67a1365927098a606107fac15",
        "form_id": "lT4Z3j",
        "submitted_at": "2018-01-18T18:17:02Z",
        "landed_at": "2018-01-18T18:07:02Z",
        "hidden": {"user_id": "abc123456"},
    }


def test_a_typeform_response_becomes_the_forms_values_with_its_token() -> None:
    mapping = {
        "readable_ref_short_text": "name",
        "readable_ref_long_text": "message",
        "readable_ref_legal": "newsletter",
    }
    [lead] = preset_leads("typeform", SAMPLE, mapping=mapping)

    assert lead.mapped.external_id == "a3a12ec67a1365927098a606107fac15"
    assert lead.mapped.problems == []
    assert lead.fields == {
        "name": "Laura",
        "email": "laura@example.com",
        "message": "It's cold right now! I live in an older medium-sized city with a university. "
        "Geographically, the area is hilly.",
        "newsletter": True,
    }


def test_phones_choices_and_hidden_fields_of_a_typeform_response_reach_the_form() -> None:
    response = {
        "event_id": "01HZ7Q0X3V",
        "event_type": "form_response",
        "form_response": {
            "form_id": "r7kCCJJp",
            "token": "0bnk8yqqm9n4yd6f0bnkuwb8zph3xlsu",
            "submitted_at": "2024-05-14T06:02:11Z",
            "landed_at": "2024-05-14T06:01:02Z",
            "hidden": {"utm_source": "newsletter", "city": "Pune"},
            "definition": {"id": "r7kCCJJp", "title": "Contact sales", "fields": []},
            "answers": [
                {
                    "type": "text",
                    "text": "Asha Rao",
                    "field": {"id": "8JlcraTyioxv", "type": "short_text", "ref": "name"},
                },
                {
                    "type": "phone_number",
                    "phone_number": "+919876543210",
                    "field": {"id": "pG3Q", "type": "phone_number"},
                },
                {"type": "email", "email": "asha@example.com", "field": {"id": "eM4k", "type": "email", "ref": "work"}},
                {
                    "type": "choices",
                    "choices": {"labels": ["pricing", "api"]},
                    "field": {"id": "sKA7t1hYYVGX", "type": "multiple_choice", "ref": "topics"},
                },
            ],
        },
    }
    [lead] = preset_leads("typeform", response, mapping={"hidden.city": "city"})

    assert lead.mapped.external_id == "0bnk8yqqm9n4yd6f0bnkuwb8zph3xlsu"
    assert lead.fields == {
        "name": "Asha Rao",  # a question whose ref is a field's name needs no mapping
        "email": "asha@example.com",
        "phone": "+919876543210",
        "city": "Pune",
        "topics": ["pricing", "api"],
        "newsletter": False,
    }


@pytest.mark.parametrize("payload", [{}, {"form_response": None}, {"form_response": {"answers": "x"}}, [1], "text"])
def test_a_payload_that_is_not_a_typeform_response_is_a_bad_request(payload: Any) -> None:
    with pytest.raises(BadRequest):
        PROVIDERS["typeform"].split(payload)


@pytest.mark.parametrize(
    "response",
    [
        {"definition": {"fields": [{"id": ["x"], "ref": {"a": 1}}, "x", None]}, "answers": []},
        {"answers": [{"type": "text", "text": "x", "field": {"id": ["x"], "ref": ["y"]}}]},
        {"answers": [{"type": ["text"], "text": "x"}, {"type": "choices", "choices": {"labels": "abc"}}, 1]},
        {"answers": [{"type": "choice", "choice": {"label": {"x": 1}}, "field": {"id": "a"}}], "hidden": [1]},
    ],
)
def test_strange_shapes_inside_a_response_are_skipped_not_errors(response: dict[str, Any]) -> None:
    [document] = PROVIDERS["typeform"].split({"form_response": response})

    assert all(isinstance(name, str) for name in document)
