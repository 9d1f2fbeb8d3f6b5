"""Receipts, one-click withdrawal and double opt-in: the consent lifecycle end to end (export and erasure: privacy)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from consent import tokens
from tests.ingest.conftest import add_endpoint, browser_post, create_form, valid, verified_event

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


async def test_a_prospect_opens_the_receipt_from_the_thank_you_page_and_withdraws_with_one_click(
    app_client: Client, tenant: Tenant, receiver: Receiver, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    endpoint = await add_endpoint(app_client, tenant, receiver.url)

    thanks = await app_client.get(await browser_post(app_client, form, ingest_settings))
    link = re.search(r'<a href="(/c/[^"]+)">See what you agreed to', thanks.text)
    assert link is not None
    page = await app_client.get(link[1])
    as_json = await app_client.get(link[1], headers={"Accept": "application/json"})
    await receiver.wait_for(1)
    created = verified_event(endpoint, receiver, 0)
    withdrawn = await app_client.post(f"{link[1]}/withdraw", data={"purpose": "marketing"}, follow_redirects=False)
    after = await app_client.get(withdrawn.headers["location"])
    again = await app_client.post(f"{link[1]}/withdraw", data={"purpose": "marketing"}, follow_redirects=False)
    await receiver.wait_for(2)
    await asyncio.sleep(0.3)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert as_json.headers["content-type"].startswith("application/json")
    assert after.headers["content-type"].startswith("text/html")
    assert "Send me product news by email. I can unsubscribe at any time." in page.text
    assert page.text.count("Withdraw this consent") == 2
    receipt = as_json.json()
    assert receipt["schema_version"] == "ISO/IEC TS 27560:2023"
    assert receipt["data_subject"]["email"] == "asha@example.com"
    assert receipt["controller"]["name"] == "Acme"
    assert receipt["collection_method"] == "web form"
    assert [(p["purpose"], p["state"], p["current_state"]) for p in receipt["purposes"]] == [
        ("marketing", "given", "given"),
        ("sales_contact", "given", "given"),
    ]
    assert created["data"]["submission"]["receipt_url"] == receipt["receipt_url"]
    assert urlsplit(receipt["receipt_url"]).path == link[1]
    assert withdrawn.status_code == again.status_code == 303
    assert "Your consent has been withdrawn." in after.text
    assert after.text.count("Withdraw this consent") == 1
    assert len(receiver.requests) == 2  # the second click changed nothing and sent nothing
    event = verified_event(endpoint, receiver, 1)
    assert event["type"] == "consent.withdrawn"
    assert event["data"]["consent"][0]["purpose"] == "marketing"
    assert event["data"]["indication"] == "receipt"
    assert event["data"]["lead"]["email"] == "asha@example.com"


async def test_a_receipt_link_that_was_not_issued_is_not_found_and_another_site_cannot_withdraw(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    location = await browser_post(app_client, form, ingest_settings)
    receipt = "/c/" + location.split("r=", 1)[1]

    forged = await app_client.get(receipt[:-3] + "xyz")
    forged_json = await app_client.get(receipt[:-3] + "xyz", headers={"Accept": "application/json"})
    forged_withdrawal = await app_client.post(f"{receipt[:-3]}xyz/withdraw", data={"purpose": "marketing"})
    cross_site = await app_client.post(
        f"{receipt}/withdraw", data={"purpose": "marketing"}, headers={"Origin": "https://evil.example"}
    )

    # A person who follows a broken link gets a page that says so; a program asking for JSON gets a problem.
    for page in (forged, forged_withdrawal):
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "This link is not valid" in page.text
    assert forged_json.status_code == 404
    assert forged_json.headers["content-type"].startswith("application/problem+json")
    assert cross_site.status_code == 403


async def test_old_receipts_keep_the_exact_old_text_after_the_form_changes(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    location = await browser_post(app_client, form, ingest_settings)
    consents = [form["consents"][0], {**form["consents"][1], "text": "A brand new marketing text."}]
    await app_client.patch(f"/api/v1/forms/{form['id']}", json={"consents": consents}, headers=tenant.headers)

    receipt = (await app_client.get("/c/" + location.split("r=", 1)[1], headers={"Accept": "application/json"})).json()

    texts = {p["purpose"]: (p["notice_version"], p["notice_text"]) for p in receipt["purposes"]}
    assert texts["marketing"] == (1, "Send me product news by email. I can unsubscribe at any time.")


async def test_the_crm_withdraws_a_consent_the_person_asked_it_to(
    app_client: Client, tenant: Tenant, other_tenant: Tenant, receiver: Receiver
) -> None:
    form = await create_form(app_client, tenant)
    endpoint = await add_endpoint(app_client, tenant, receiver.url)
    await app_client.post(f"/f/{form['slug']}", json=valid())
    lead_id = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["id"]
    url = f"/api/v1/leads/{lead_id}/consents/withdraw"

    done = await app_client.post(url, json={"purposes": ["sales_contact", "marketing"]}, headers=tenant.headers)
    unknown = await app_client.post(url, json={"purposes": ["lottery"]}, headers=tenant.headers)
    theirs = await app_client.post(url, json={"purposes": ["sales_contact"]}, headers=other_tenant.headers)
    await receiver.wait_for(2)
    history = (await app_client.get(f"/api/v1/leads/{lead_id}", headers=tenant.headers)).json()["consent_events"]

    assert done.json() == {"withdrawn": ["sales_contact"]}  # marketing was refused: nothing to withdraw
    assert unknown.status_code == 422
    assert theirs.status_code == 404
    assert [(e["purpose"], e["state"], e["indication"]) for e in history][-1] == ("sales_contact", "withdrawn", "crm")
    assert verified_event(endpoint, receiver, 1)["type"] == "consent.withdrawn"


async def test_double_opt_in_delivers_nothing_until_the_link_is_confirmed_and_the_link_works_once(
    app_client: Client, tenant: Tenant, receiver: Receiver
) -> None:
    form = await create_form(app_client, tenant, settings={"double_opt_in": True})
    endpoint = await add_endpoint(app_client, tenant, receiver.url)

    await app_client.post(f"/f/{form['slug']}", json=valid(), headers={"User-Agent": "Mail/1.0"})
    await receiver.wait_for(1)
    requested = verified_event(endpoint, receiver, 0)
    lead = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]
    path = urlsplit(requested["data"]["confirmation_url"]).path
    opened = await app_client.get(path)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1  # opening the link (as mail scanners do) confirms nothing
    confirmed = await app_client.post(path, headers={"User-Agent": "Browser/2.0"})
    await receiver.wait_for(2)
    twice = await app_client.post(path)
    reopened = await app_client.get(path)
    created = verified_event(endpoint, receiver, 1)
    history = (await app_client.get(f"/api/v1/leads/{lead['id']}", headers=tenant.headers)).json()["consent_events"]

    assert requested["type"] == "lead.confirmation_requested"
    assert requested["data"]["lead"]["email"] == "asha@example.com"
    assert "consent" not in requested["data"]
    assert opened.status_code == 200
    assert 'action="/confirm/' in opened.text
    assert confirmed.status_code == 200
    assert created["type"] == "lead.created"
    assert created["data"]["lead"]["is_new"] is True
    assert created["data"]["confirmation"]["user_agent"] == "Browser/2.0"
    assert ("sales_contact", "confirmed") in [(c["purpose"], c["state"]) for c in created["data"]["consent"]]
    assert twice.status_code == reopened.status_code == 409
    confirmations = [e for e in history if e["state"] == "confirmed"]
    assert [(e["purpose"], e["indication"]) for e in confirmations] == [("sales_contact", "link")]
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 2


def test_confirmation_links_expire(ingest_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: 1_700_000_000.0)
        old = tokens.confirmation_token(ingest_settings, "sub_x")
    fresh = tokens.confirmation_token(ingest_settings, "sub_x")

    with pytest.raises(tokens.ExpiredLink):
        tokens.read_confirmation(ingest_settings, old)
    with pytest.raises(tokens.InvalidLink):
        tokens.read_confirmation(ingest_settings, fresh + "x")
    assert tokens.read_confirmation(ingest_settings, fresh) == "sub_x"


async def test_confirming_after_a_withdrawal_does_not_bring_the_consent_back(
    app_client: Client, tenant: Tenant, receiver: Receiver
) -> None:
    form = await create_form(app_client, tenant, settings={"double_opt_in": True})
    endpoint = await add_endpoint(app_client, tenant, receiver.url)
    await app_client.post(f"/f/{form['slug']}", json=valid(consent=["sales_contact", "marketing"]))
    await receiver.wait_for(1)
    confirm = urlsplit(verified_event(endpoint, receiver, 0)["data"]["confirmation_url"]).path
    lead_id = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["id"]

    await app_client.post(
        f"/api/v1/leads/{lead_id}/consents/withdraw", json={"purposes": ["marketing"]}, headers=tenant.headers
    )
    await app_client.post(confirm)
    await receiver.wait_for(3)

    created = next(
        verified_event(endpoint, receiver, i)
        for i in range(3)
        if verified_event(endpoint, receiver, i)["type"] == "lead.created"
    )
    confirmed = [c["purpose"] for c in created["data"]["consent"] if c["state"] == "confirmed"]
    assert confirmed == ["sales_contact"]
    history = (await app_client.get(f"/api/v1/leads/{lead_id}", headers=tenant.headers)).json()["consent_events"]
    assert [e["state"] for e in history if e["purpose"] == "marketing"] == ["given", "withdrawn"]


async def test_an_unconfirmed_submission_does_not_change_a_known_persons_lead(
    app_client: Client, tenant: Tenant, receiver: Receiver
) -> None:
    plain = await create_form(app_client, tenant)
    double = await create_form(app_client, tenant, settings={"double_opt_in": True})
    endpoint = await add_endpoint(app_client, tenant, receiver.url)
    await app_client.post(f"/f/{plain['slug']}", json=valid(name="Asha Rao"))
    await app_client.post(f"/f/{double['slug']}", json=valid(name="Mallory Impostor", team_size="51+"))
    await receiver.wait_for(2)

    before = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]
    request = next(
        verified_event(endpoint, receiver, i)
        for i in range(2)
        if verified_event(endpoint, receiver, i)["type"].endswith("requested")
    )
    await app_client.post(urlsplit(request["data"]["confirmation_url"]).path)
    await receiver.wait_for(3)
    after = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]

    assert (before["name"], before["submission_count"], "team_size" in before["fields"]) == ("Asha Rao", 1, False)
    assert (after["name"], after["submission_count"], after["fields"]["team_size"]) == ("Mallory Impostor", 2, "51+")
    assert verified_event(endpoint, receiver, 2)["type"] == "lead.updated"


async def test_the_receipt_names_the_workspace_contact_and_privacy_policy(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    settings = {"contact_email": "privacy@acme.example", "privacy_policy_url": "https://acme.example/privacy"}
    await app_client.patch("/api/v1/workspace", json={"settings": settings}, headers=tenant.headers)
    form = await create_form(app_client, tenant)
    location = await browser_post(app_client, form, ingest_settings)

    receipt = (await app_client.get("/c/" + location.split("r=", 1)[1], headers={"Accept": "application/json"})).json()

    assert receipt["controller"] == {"name": "Acme", "contact": "privacy@acme.example"}
    assert receipt["privacy_notice"] == {"url": "https://acme.example/privacy", "language": "en"}
