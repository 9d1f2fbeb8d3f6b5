"""The admin read API: leads with their submissions and consent history, submissions by form and verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.ingest.conftest import CONSENT_TEXTS, create_form, valid

if TYPE_CHECKING:
    from tests.conftest import Client, Tenant


async def test_leads_can_be_searched_by_canonical_email_or_phone_and_paged(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)
    for i in range(3):
        await app_client.post(f"/f/{form['slug']}", json=valid(email=f"p{i}@example.com", phone=f"+9198765432{i}0"))

    by_email = await app_client.get("/api/v1/leads", params={"email": "P1@EXAMPLE.com"}, headers=tenant.headers)
    by_phone = await app_client.get("/api/v1/leads", params={"phone": "+91 98765 43220"}, headers=tenant.headers)
    page = await app_client.get("/api/v1/leads", params={"limit": 2}, headers=tenant.headers)
    rest = await app_client.get(
        "/api/v1/leads", params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=tenant.headers
    )
    bad = await app_client.get("/api/v1/leads", params={"phone": "12"}, headers=tenant.headers)

    assert [lead["email"] for lead in by_email.json()["items"]] == ["p1@example.com"]
    assert [lead["email"] for lead in by_phone.json()["items"]] == ["p2@example.com"]
    assert [lead["email"] for lead in page.json()["items"]] == ["p2@example.com", "p1@example.com"]
    assert [lead["email"] for lead in rest.json()["items"]] == ["p0@example.com"]
    assert rest.json()["next_cursor"] is None
    assert bad.status_code == 422


async def test_a_lead_shows_its_submissions_and_its_consent_history_with_the_exact_texts(
    app_client: Client, tenant: Tenant
) -> None:
    form = await create_form(app_client, tenant)
    await app_client.post(f"/f/{form['slug']}", json=valid())
    new_text = "Send me news about Acme products by email."
    consents = [
        {**form["consents"][0]},
        {"purpose": "marketing", "channel": "email", "text": new_text},
    ]
    edited = await app_client.patch(f"/api/v1/forms/{form['id']}", json={"consents": consents}, headers=tenant.headers)
    assert edited.status_code == 200, edited.text
    await app_client.post(f"/f/{form['slug']}", json=valid(consent=["sales_contact", "marketing"]))

    lead_id = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["id"]
    detail = (await app_client.get(f"/api/v1/leads/{lead_id}", headers=tenant.headers)).json()

    assert len(detail["submissions"]) == 2
    history = [(e["purpose"], e["state"], e["notice_version"], e["notice_text"]) for e in detail["consent_events"]]
    assert history == [  # oldest first; purposes of one submission by name
        ("marketing", "refused", 1, CONSENT_TEXTS["marketing"]),
        ("sales_contact", "given", 1, CONSENT_TEXTS["sales_contact"]),
        ("marketing", "given", 2, new_text),
        ("sales_contact", "given", 1, CONSENT_TEXTS["sales_contact"]),
    ]
    assert {e["indication"] for e in detail["consent_events"]} == {"api"}
    assert {e["submission_id"] for e in detail["consent_events"]} == {s["id"] for s in detail["submissions"]}
    notices = (await app_client.get(f"/api/v1/forms/{form['id']}/consent-notices", headers=tenant.headers)).json()
    texts = {(n["purpose"], n["version"]): n["text"] for n in notices["items"]}
    assert texts[("marketing", 1)] == CONSENT_TEXTS["marketing"]  # the old text is kept, never rewritten


async def test_submissions_filter_by_form_and_verdict(app_client: Client, tenant: Tenant) -> None:
    one = await create_form(app_client, tenant)
    two = await create_form(app_client, tenant)
    await app_client.post(f"/f/{one['slug']}", json=valid())
    await app_client.post(f"/f/{one['slug']}", json=valid())
    await app_client.post(f"/f/{two['slug']}", json=valid(_hp="filled"))

    async def verdicts(**params: str) -> list[str]:
        response = await app_client.get("/api/v1/submissions", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return [item["verdict"] for item in response.json()["items"]]

    assert await verdicts(form_id=one["id"]) == ["duplicate", "accepted"]
    assert await verdicts(verdict="spam") == ["spam"]
    assert await verdicts(form_id=two["id"], verdict="accepted") == []
    bad = await app_client.get("/api/v1/submissions", params={"verdict": "maybe"}, headers=tenant.headers)
    assert bad.status_code == 422


async def test_another_workspaces_leads_and_submissions_are_invisible(
    app_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    form = await create_form(app_client, tenant)
    await app_client.post(f"/f/{form['slug']}", json=valid())
    lead_id = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["id"]

    theirs = other_tenant.headers
    assert (await app_client.get(f"/api/v1/leads/{lead_id}", headers=theirs)).status_code == 404
    assert (await app_client.get("/api/v1/leads", headers=theirs)).json()["items"] == []
    assert (await app_client.get("/api/v1/submissions", headers=theirs)).json()["items"] == []
    by_form = await app_client.get("/api/v1/submissions", params={"form_id": form["id"]}, headers=theirs)
    assert by_form.status_code == 404
    assert (await app_client.get("/api/v1/leads")).status_code == 401
