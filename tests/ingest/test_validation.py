"""Validation against the form: types, lengths, options, canonical emails and phones, required consents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.ingest.conftest import create_form, token, valid

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Client, Tenant


def _errors(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["code"] for e in response.json()["errors"]}


async def test_every_failing_field_is_reported_at_once(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)
    body = {
        "name": "",
        "email": "not-an-email",
        "phone": "12",
        "team_size": "500+",
        "topics": ["pricing", "gossip"],
        "seats": "many",
        "newsletter": "perhaps",
        "website": "javascript:alert(1)",
        "start": "31/12/2026",
        "message": "x" * 10_001,
        "consent": ["marketing", "lottery"],
        "nickname": "Ash",
    }

    errors = _errors(await app_client.post(f"/f/{form['slug']}", json=body))

    assert errors == {
        "name": "required",
        "email": "invalid_email",
        "phone": "invalid_phone",
        "team_size": "invalid_choice",
        "topics": "invalid_choice",
        "seats": "invalid_number",
        "newsletter": "invalid_type",
        "website": "invalid_url",
        "start": "invalid_date",
        "message": "too_long",
        "nickname": "unknown_field",
        "consent": "unknown_purpose",
        "consent.sales_contact": "required",
    }


async def test_values_are_normalised_before_they_are_stored(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)
    body = valid(
        name="  Asha\x00 Rao\x1b ",
        email="ASHA@EXAMPLE.COM",
        phone="+44 20 7946 0958",
        seats="1,200",
        newsletter="on",
        start="2026-12-01",
        topics=["api", "api"],
        message="line one\r\nline two\u0085",
    )

    response = await app_client.post(f"/f/{form['slug']}", json=body)

    assert response.status_code == 201, response.text
    listing = await app_client.get("/api/v1/submissions", headers=tenant.headers)
    fields = listing.json()["items"][0]["fields"]
    assert fields == {
        "name": "Asha Rao",
        "email": "asha@example.com",
        "phone": "+442079460958",
        "seats": 1200,
        "newsletter": True,
        "start": "2026-12-01",
        "topics": ["api"],
        "message": "line one\r\nline two",
    }


async def test_national_phone_numbers_are_read_in_the_forms_region(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)

    response = await app_client.post(f"/f/{form['slug']}", json=valid(phone="098765 43210"))

    assert response.status_code == 201
    lead = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]
    assert lead["phone"] == "+919876543210"


async def test_browser_posts_ignore_unknown_fields_and_unknown_purposes(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    body = {
        "name": "A",
        "email": "a@example.com",
        "consent": ["sales_contact", "lottery"],
        "submit": "Send",
        "_t": token(ingest_settings, form["id"]),
    }

    response = await app_client.post(f"/f/{form['slug']}", data=body, follow_redirects=False)

    assert response.status_code == 303
    item = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"][0]
    assert "submit" not in item["fields"]
    assert item["consents"] == ["sales_contact"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"email": ["a@example.com", "b@example.com"]}, "email", "multiple_values"),
        ({"seats": True}, "seats", "invalid_number"),
        ({"seats": "nan"}, "seats", "invalid_number"),
        ({"name": None}, "name", "invalid_type"),
        ({"name": "x" * 121}, "name", "too_long"),
    ],
)
async def test_wrong_shapes_are_field_errors(
    app_client: Client, tenant: Tenant, body: dict[str, Any], field: str, code: str
) -> None:
    form = await create_form(app_client, tenant)

    errors = _errors(await app_client.post(f"/f/{form['slug']}", json=valid(**body)))

    assert errors[field] == code


async def test_a_consent_not_granted_is_recorded_as_refused_and_a_required_one_is_enforced(
    app_client: Client, tenant: Tenant
) -> None:
    form = await create_form(app_client, tenant)

    missing = await app_client.post(f"/f/{form['slug']}", json=valid(consent=[]))
    single = await app_client.post(f"/f/{form['slug']}", json=valid(consent="sales_contact"))

    assert _errors(missing) == {"consent.sales_contact": "required"}
    assert single.status_code == 201


async def test_zero_is_a_value_for_a_required_number(app_client: Client, tenant: Tenant) -> None:
    fields = [
        {"name": "email", "type": "email", "required": True},
        {"name": "seats", "type": "number", "required": True},
    ]
    form = await create_form(app_client, tenant, fields=fields, consents=[])

    response = await app_client.post(f"/f/{form['slug']}", json={"email": "a@example.com", "seats": 0})

    assert response.status_code == 201, response.text


async def test_json_falsy_honeypot_values_mean_empty(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)

    for honeypot in (False, 0, None, ""):
        await app_client.post(f"/f/{form['slug']}", json=valid(email=f"{honeypot!s}x@example.com", _hp=honeypot))

    items = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]
    assert [item["verdict"] for item in items] == ["accepted"] * 4


async def test_optional_fields_left_empty_in_a_browser_form_are_simply_absent(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    empty = {spec["name"]: "" for spec in form["fields"] if spec["type"] != "multiselect"}
    body = {**empty, "name": "A", "email": "a@example.com", "consent": "sales_contact"}

    response = await app_client.post(
        f"/f/{form['slug']}", data={**body, "_t": token(ingest_settings, form["id"])}, follow_redirects=False
    )

    assert response.status_code == 303, response.text
    item = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"][0]
    assert item["fields"] == {"name": "A", "email": "a@example.com", "newsletter": False}
