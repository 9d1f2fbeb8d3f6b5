"""POST /f/{slug}: JSON and browser posts become signed webhooks carrying the exact consent texts."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from standardwebhooks import Webhook

from tests.ingest.conftest import CONSENT_TEXTS, add_endpoint, create_form, token, valid

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _verified(endpoint: dict[str, Any], receiver: Receiver, index: int = 0) -> dict[str, Any]:
    """The receiver's ``index``-th request, verified with the endpoint's secret by the standardwebhooks package."""
    headers, body = receiver.requests[index]
    verified: dict[str, Any] = Webhook(endpoint["secret"]).verify(body, headers)
    return verified


async def test_a_json_lead_arrives_signed_with_the_hashes_of_the_exact_consent_texts(
    app_client: Client, tenant: Tenant, receiver: Receiver
) -> None:
    form = await create_form(app_client, tenant)
    endpoint = await add_endpoint(app_client, tenant, receiver.url)

    response = await app_client.post(
        f"/f/{form['slug']}",
        json=valid(email=" Asha.Rao@Example.COM ", phone="098765 43210", consent=["sales_contact"]),
        headers={"User-Agent": "curl/8"},
    )

    assert response.status_code == 201, response.text
    assert response.json() == {"id": response.json()["id"], "status": "accepted"}
    await receiver.wait_for(1)
    event = _verified(endpoint, receiver)
    assert event["type"] == "lead.created"
    data = event["data"]
    assert data["lead"]["email"] == "asha.rao@example.com"
    assert data["lead"]["phone"] == "+919876543210"
    assert data["lead"]["name"] == "Asha Rao"
    assert data["lead"]["is_new"] is True
    assert data["submission"]["id"] == response.json()["id"]
    assert data["submission"]["form_id"] == form["id"]
    assert data["submission"]["form_name"] == "Contact sales"
    assert data["submission"]["fields"]["email"] == "asha.rao@example.com"
    consents = {c["purpose"]: c for c in data["consent"]}
    assert consents["sales_contact"]["state"] == "given"
    assert consents["marketing"]["state"] == "refused"
    for purpose, text in CONSENT_TEXTS.items():
        assert consents[purpose]["text_sha256"] == _sha(text)
        assert consents[purpose]["notice_version"] == 1
        assert consents[purpose]["channel"] == "email"
    headers, _ = receiver.requests[0]
    assert headers["webhook-id"].startswith("msg_")


async def test_a_browser_post_with_a_render_token_is_redirected_to_the_thank_you_page_and_delivered(
    app_client: Client, tenant: Tenant, receiver: Receiver, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    endpoint = await add_endpoint(app_client, tenant, receiver.url)
    body = {
        "name": "Ravi Kumar",
        "email": "ravi@example.com",
        "consent": ["sales_contact", "marketing"],
        "topics": ["pricing", "api"],
        "_t": token(ingest_settings, form["id"]),
        "_hp": "",
        "_page_url": "https://www.example.com/pricing?utm_source=google&utm_campaign=spring&gclid=abc",
        "_referrer": "https://www.google.com/",
    }

    response = await app_client.post(
        f"/f/{form['slug']}",
        data=body,
        headers={"Origin": "http://testserver.local"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/f/{form['slug']}/thanks?r=")
    thanks = await app_client.get(response.headers["location"])
    assert thanks.status_code == 200
    assert 'role="status"' in thanks.text
    assert "Thanks!" in thanks.text
    await receiver.wait_for(1)
    data = (_verified(endpoint, receiver))["data"]
    assert data["submission"]["fields"]["topics"] == ["pricing", "api"]
    assert data["submission"]["page_url"].startswith("https://www.example.com/pricing")
    assert data["submission"]["referrer"] == "https://www.google.com/"
    assert data["submission"]["utm"] == {"utm_source": "google", "utm_campaign": "spring", "gclid": "abc"}
    assert {c["purpose"]: c["state"] for c in data["consent"]} == {"sales_contact": "given", "marketing": "given"}


async def test_multipart_posts_are_read_like_urlencoded_ones(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    files = {"attachment": ("cv.txt", b"ignored", "text/plain")}
    data = {
        "name": "Mira",
        "email": "mira@example.com",
        "consent": "sales_contact",
        "_t": token(ingest_settings, form["id"]),
    }

    response = await app_client.post(
        f"/f/{form['slug']}", data=data, files=files, headers={"Accept": "application/json"}
    )

    assert response.status_code == 201, response.text
    stored = await app_client.get(f"/api/v1/submissions?form_id={form['id']}", headers=tenant.headers)
    item = stored.json()["items"][0]
    assert item["verdict"] == "accepted"
    assert item["source"] == "form"
    assert item["fields"] == {"name": "Mira", "email": "mira@example.com", "newsletter": False}


async def test_a_browser_post_goes_to_an_allowed_redirect_and_never_to_another_site(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    settings = {"allowed_origins": ["https://www.example.com"], "redirect_url": "https://www.example.com/thanks"}
    form = await create_form(app_client, tenant, settings=settings)
    body = {"name": "A", "email": "a@example.com", "consent": "sales_contact", "_t": token(ingest_settings, form["id"])}

    response = await app_client.post(
        f"/f/{form['slug']}", data=body, headers={"Origin": "https://www.example.com"}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == "https://www.example.com/thanks"


async def test_drafts_archived_deleted_and_unknown_forms_are_not_found(app_client: Client, tenant: Tenant) -> None:
    draft = await create_form(app_client, tenant, status="draft")
    archived = await create_form(app_client, tenant, status="archived")
    deleted = await create_form(app_client, tenant)
    await app_client.delete(f"/api/v1/forms/{deleted['id']}", headers=tenant.headers)

    for slug in (draft["slug"], archived["slug"], deleted["slug"], "nosuchform000000"):
        response = await app_client.post(f"/f/{slug}", json=valid())
        assert response.status_code == 404, slug
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_lead_posted_as_json_with_accept_gets_json_and_a_browser_form_gets_a_redirect(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    body = {"name": "B", "email": "b@example.com", "consent": "sales_contact", "_t": token(ingest_settings, form["id"])}

    as_json = await app_client.post(f"/f/{form['slug']}", data=body, headers={"Accept": "application/json"})
    as_page = await app_client.post(
        f"/f/{form['slug']}", data={**body, "name": "B2"}, headers={"Accept": "text/html"}, follow_redirects=False
    )

    assert as_json.status_code == 201
    assert as_json.headers["content-type"] == "application/json"
    assert as_page.status_code == 303
    assert json.loads(as_json.text)["status"] == "accepted"


async def test_a_form_archived_a_moment_ago_refuses_submissions_at_once(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)
    assert (await app_client.post(f"/f/{form['slug']}", json=valid())).status_code == 201  # the form is cached now

    archived = await app_client.patch(
        f"/api/v1/forms/{form['id']}", json={"status": "archived"}, headers=tenant.headers
    )
    late = await app_client.post(f"/f/{form['slug']}", json=valid(email="late@example.com"))

    assert archived.status_code == 200
    assert late.status_code == 404


async def test_a_submission_is_checked_against_the_form_as_it_is_now(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)
    assert (await app_client.post(f"/f/{form['slug']}", json=valid())).status_code == 201  # the form is cached now
    fields = [*form["fields"], {"name": "company", "type": "text", "required": True}]

    await app_client.patch(f"/api/v1/forms/{form['id']}", json={"fields": fields}, headers=tenant.headers)
    missing = await app_client.post(f"/f/{form['slug']}", json=valid(email="b@example.com"))
    given = await app_client.post(f"/f/{form['slug']}", json=valid(email="b@example.com", company="Acme"))

    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "company"
    assert given.status_code == 201
