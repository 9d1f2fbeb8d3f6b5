"""What is kept of a sender's request: credentials out, by name at any depth and by value anywhere, in every body
format a sender uses; and the one-word reasons refusals are counted under."""

from __future__ import annotations

from core.errors import BadRequest, Conflict, FieldError, PayloadTooLarge, Unauthorized, ValidationFailed
from ingest.sources.activity import reason_of
from ingest.sources.mapping import Mapped, MappingProblem
from ingest.sources.payloads import person_in
from ingest.sources.redaction import REDACTED, is_credential_name, redacted_body, redacted_query, secret_values

SECRET = "s3cr3t-of-the-source"


def test_names_that_hold_credentials_are_told_by_their_words() -> None:
    held = ["api_key", "apiKey", "X-Api-Key", "glusr_crm_key", "hub.verify_token", "password", "Signature", "auth"]
    free = ["keyword", "monkey", "lead_id", "SENDER_MOBILE", "passport", "author", "pincode", "email"]

    assert [name for name in held if not is_credential_name(name)] == []
    assert [name for name in free if is_credential_name(name)] == []


def test_a_json_body_loses_its_credentials_at_any_depth_and_the_sources_secret_anywhere() -> None:
    body = b'{"a": {"b": [{"token": {"x": 1}}, "id ' + SECRET.encode() + b'"]}, "email": "e@example.com"}'

    assert redacted_body(body, "application/json; charset=utf-8", [SECRET]) == (
        "json",
        {"a": {"b": [{"token": REDACTED}, f"id {REDACTED}"]}, "email": "e@example.com"},
    )


def test_form_posts_query_strings_and_multipart_bodies_lose_theirs_too() -> None:
    form = redacted_body(
        b"name=Asha&crm_key=abc123&note=" + SECRET.encode(), "application/x-www-form-urlencoded", [SECRET]
    )
    multipart = (
        b'--XyZ\r\nContent-Disposition: form-data; name="email"\r\n\r\nasha@example.com\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nk-998877\r\n--XyZ--\r\n'
    )
    kept = redacted_body(multipart, "multipart/form-data; boundary=XyZ", [])

    assert form == ("form", "name=Asha&crm_key=%5Bredacted%5D&note=%5Bredacted%5D")
    assert redacted_query("key=abc&utm_source=ads&x=" + SECRET, [SECRET]) == (
        "key=%5Bredacted%5D&utm_source=ads&x=%5Bredacted%5D"
    )
    assert kept[0] == "text"
    assert "asha@example.com" in kept[1]
    assert "k-998877" not in kept[1]
    assert REDACTED in kept[1]
    assert redacted_body(None, "application/json", []) == ("none", None)
    assert redacted_body(b"{not json " + SECRET.encode(), "application/json", [SECRET]) == (
        "text",
        "{not json [redacted]",
    )


def test_every_secret_of_a_source_is_cut_out_with_and_without_its_prefix() -> None:
    secrets = secret_values({"whsec": "whsec_QUJDREVGR0g=", "pull": {"crm_key": "pull-key-123"}, "n": 5, "tiny": "ab"})

    assert set(secrets) == {"whsec_QUJDREVGR0g=", "QUJDREVGR0g=", "pull-key-123"}
    assert redacted_body(b"QUJDREVGR0g= and whsec_QUJDREVGR0g=", "text/plain", secrets) == (
        "text",
        f"{REDACTED} and {REDACTED}",
    )


def test_the_person_of_a_payload_is_its_first_email_and_phone_not_its_ids() -> None:
    payload = {"UNIQUE_QUERY_ID": "2345678901", "RESPONSE": {"SENDER_MOBILE": "98765 43210", "SENDER_EMAIL": "A@X.IN"}}

    assert person_in([("", payload)], "IN") == ("a@x.in", "+919876543210")
    assert person_in([("", {"lead": "+44 20 7946 0958"})], None) == (None, "+442079460958")
    assert person_in([("", {"id": "9876543210"})], "IN") == (None, None)


def test_refusals_are_counted_under_one_word() -> None:
    invalid = ValidationFailed([FieldError("email", "required", "required")])
    unread = Mapped(values={}, external_id=None, problems=[MappingProblem("id_field", "missing_id", "no id")])

    assert reason_of(Unauthorized("no")) == "unauthorized"
    assert reason_of(invalid) == "invalid"
    assert reason_of(invalid, unread) == "mapping"
    assert reason_of(PayloadTooLarge()) == "too_large"
    assert reason_of(BadRequest("not JSON")) == "unreadable"
    assert reason_of(Conflict("in flight")) == "in_flight"
