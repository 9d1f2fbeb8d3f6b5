"""The marketer console, driven as a browser drives it: cookies, plain form posts, redirects."""

from __future__ import annotations

import asyncio
import html
import re
import time
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app import create_app
from console.charts import Series, last_days, stacked_bars
from core.database import utcnow
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, valid
from workspaces.models import ConsoleSession, Member

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from core.database import Database
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def console_settings(database_url: str) -> Settings:
    return make_settings(database_url, **INGEST)


@pytest.fixture
async def browser(console_settings: Settings) -> AsyncIterator[Client]:
    app = create_app(console_settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.follow_redirects = False  # each redirect is part of what is tested
        yield client


async def sign_in(client: Client, tenant: Tenant) -> str:
    """Sign in as the tenant's owner; the CSRF token of the new session."""
    response = await client.post("/console/sign-in", data={"email": tenant.email, "password": tenant.password})
    assert response.status_code == 303, response.text
    page = await client.get("/console")
    assert page.status_code == 200
    match = _CSRF.search(page.text)
    assert match
    return match.group(1)


async def test_pages_need_a_members_session_and_api_keys_no_longer_open_the_console(
    browser: Client, tenant: Tenant, db: Database
) -> None:
    anonymous = await browser.get("/console/forms")
    wrong = await browser.post("/console/sign-in", data={"email": tenant.email, "password": "not the password"})
    with_key = await browser.post("/console/sign-in", data={"api_key": tenant.key})
    key_as_password = await browser.post("/console/sign-in", data={"email": tenant.email, "password": tenant.key})
    signed_in = await browser.post("/console/sign-in", data={"email": tenant.email, "password": tenant.password})
    cookie = signed_in.headers["set-cookie"]
    dashboard = await browser.get("/console")
    async with db.session(write=True) as session:  # an operator disables the account
        await session.execute(update(Member).where(Member.id == tenant.member_id).values(disabled_at=utcnow()))
    after_disabling = await browser.get("/console")

    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fforms"
    for refused in (wrong, with_key, key_as_password):
        assert refused.status_code == 401
        assert "do not match an account" in refused.text
    assert signed_in.headers["location"] == "/console"
    assert tenant.password not in cookie  # the cookie is a signed random token: it holds no credentials
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"):
        assert attribute.lower() in cookie.lower()
    assert dashboard.status_code == 200
    assert "Submissions per day" in dashboard.text
    assert "<svg" in dashboard.text
    assert after_disabling.status_code == 303
    assert after_disabling.headers["location"].startswith("/console/sign-in")


async def _key_id(client: Client, tenant: Tenant) -> str:
    keys = (await client.get("/api/v1/api-keys", headers=tenant.headers)).json()["items"]
    return str(next(k["id"] for k in keys if tenant.key.startswith(k["prefix"])))


async def test_sessions_expire_and_sign_out_ends_them(browser: Client, tenant: Tenant, db: Database) -> None:
    csrf = await sign_in(browser, tenant)
    signed_out = await browser.post("/console/sign-out", data={"csrf": csrf})
    after = await browser.get("/console")
    await sign_in(browser, tenant)
    value = browser.cookies.get("leadwire_console")
    assert value is not None
    fresh = await browser.get("/console")
    async with db.session(write=True) as session:  # the session's absolute end has passed
        await session.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await browser.get("/console")

    assert signed_out.status_code == 303
    assert "max-age=0" in signed_out.headers["set-cookie"].lower()
    assert after.status_code == 303
    assert tenant.workspace_id not in value  # the cookie is a signed random token: it names nothing
    assert fresh.status_code == 200
    assert expired.status_code == 303
    assert expired.headers["location"] == "/console/sign-in"


async def test_every_post_needs_the_session_token_from_our_own_origin(browser: Client, tenant: Tenant) -> None:
    csrf = await sign_in(browser, tenant)
    missing = await browser.post("/console/forms", data={"name": "A"})
    wrong = await browser.post("/console/forms", data={"name": "A", "csrf": csrf[:-2] + "xx"})
    elsewhere = await browser.post(
        "/console/forms", data={"name": "A", "csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    sign_in_elsewhere = await browser.post(
        "/console/sign-in",
        data={"email": tenant.email, "password": tenant.password},
        headers={"Origin": "https://evil.example"},
    )
    made = await browser.post(
        "/console/forms", data={"name": "A", "csrf": csrf}, headers={"Origin": "http://testserver.local"}
    )
    listed = (await browser.get("/api/v1/forms", headers=tenant.headers)).json()["items"]

    for refused in (missing, wrong, elsewhere):
        assert refused.status_code == 403
        assert "came from another site" in refused.text
    assert sign_in_elsewhere.status_code == 403
    assert made.status_code == 303
    assert [form["name"] for form in listed] == ["A"]


def _editor(csrf: str, version: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf": csrf,
        "version": str(version),
        "name": "Book a demo",
        "field_rows": "4",
        "field-0-name": "name",
        "field-0-type": "text",
        "field-0-label": "Your name",
        "field-0-required": "1",
        "field-1-name": "email",
        "field-1-type": "email",
        "field-1-label": "Work email",
        "field-1-required": "1",
        "field-2-name": "team",
        "field-2-type": "select",
        "field-2-label": "Team size",
        "field-2-options": "1-10\n11-50\n\n51+",
        "field-3-name": "",
        "consent_rows": "1",
        "consent-0-purpose": "sales_contact",
        "consent-0-channel": "email",
        "consent-0-text": "Acme may email me about this demo.",
        "consent-0-required": "1",
        "allowed_origins": "https://www.acme.example\n",
        "success_message": "Thanks, talk soon",
        "dedupe_hours": "2",
        "default_phone_region": "gb",
        "theme_color": "#0f766e",
    }
    data.update(changes)
    return data


async def test_a_marketer_builds_previews_publishes_and_embeds_a_form(browser: Client, tenant: Tenant) -> None:
    csrf = await sign_in(browser, tenant)
    created = await browser.post("/console/forms", data={"name": "Book a demo", "csrf": csrf})
    form_id = created.headers["location"].split("/")[3].split("?")[0]
    preview = await browser.post(
        f"/console/forms/{form_id}/preview", data=_editor(csrf, 1, **{"field-0-label": "Who are you?"})
    )
    bad_preview = await browser.post(f"/console/forms/{form_id}/preview", data=_editor(csrf, 1, theme_color="teal"))
    saved = await browser.post(f"/console/forms/{form_id}", data=_editor(csrf, 1))
    stale = await browser.post(f"/console/forms/{form_id}", data=_editor(csrf, 1, name="Lost update"))
    invalid = await browser.post(
        f"/console/forms/{form_id}", data=_editor(csrf, 2, **{"field-1-type": "email", "field-3-name": "email"})
    )
    published = await browser.post(f"/console/forms/{form_id}/status", data={"csrf": csrf, "status": "published"})
    editor = await browser.get(f"/console/forms/{form_id}")
    form = (await browser.get(f"/api/v1/forms/{form_id}", headers=tenant.headers)).json()
    hosted = await browser.get(f"/f/{form['slug']}")

    assert created.status_code == 303
    assert preview.status_code == 200
    assert "Who are you?" in preview.text
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    assert bad_preview.status_code == 422
    assert saved.status_code == 303, saved.text
    assert stale.status_code == 409
    assert "Someone else saved this form" in stale.text
    assert "Lost update" in stale.text  # what was typed is kept on the page
    assert invalid.status_code == 422
    assert "fields[3].name" in invalid.text
    assert published.status_code == 303
    assert form["status"] == "published"
    assert form["name"] == "Book a demo"
    assert [f["name"] for f in form["fields"]] == ["name", "email", "team"]
    assert [o["value"] for o in form["fields"][2]["options"]] == ["1-10", "11-50", "51+"]
    assert form["consents"] == [
        {"purpose": "sales_contact", "channel": "email", "text": "Acme may email me about this demo.", "required": True}
    ]
    settings = form["settings"]
    assert settings["allowed_origins"] == ["https://www.acme.example"]
    assert settings["dedupe_window_seconds"] == 7200
    assert settings["default_phone_region"] == "GB"
    assert settings["theme_color"] == "#0f766e"
    assert hosted.status_code == 200
    assert "Team size" in hosted.text
    assert f'data-leadwire-form="{form["slug"]}"' in html.unescape(editor.text)  # the snippet, to copy
    assert "Copy snippet" in editor.text


async def test_leads_are_searched_exported_and_erased(browser: Client, tenant: Tenant) -> None:
    contact = await create_form(browser, tenant)
    other = await create_form(browser, tenant, name="Newsletter")
    for form, email in ((contact, "asha@example.com"), (contact, "bo@example.org"), (other, "asha.two@example.com")):
        response = await browser.post(f"/f/{form['slug']}", json=valid(email=email))
        assert response.status_code == 201
    csrf = await sign_in(browser, tenant)
    dashboard = await browser.get("/console")
    everyone = await browser.get("/console/leads")
    by_text = await browser.get("/console/leads", params={"q": "ASHA"})
    by_form = await browser.get("/console/leads", params={"form": other["id"]})
    by_verdict = await browser.get("/console/leads", params={"verdict": "spam"})
    today = time.strftime("%Y-%m-%d", time.gmtime())
    by_day = await browser.get("/console/leads", params={"since": today, "until": today})
    before = await browser.get("/console/leads", params={"until": "2020-01-01"})
    lead_id = re.findall(r'href="/console/leads/(lead_[^"]+)"', by_form.text)[0]
    lead = await browser.get(f"/console/leads/{lead_id}")
    export = await browser.get(f"/console/leads/{lead_id}/export")
    unconfirmed = await browser.post(f"/console/leads/{lead_id}/erase", data={"csrf": csrf})
    erased = await browser.post(f"/console/leads/{lead_id}/erase", data={"csrf": csrf, "confirm": "erase"})
    after = await browser.get("/console/leads", params={"q": "asha.two"})

    assert "Accepted: <strong>3</strong>" in dashboard.text  # today's bar, counted per UTC day in SQL
    assert everyone.text.count("/console/leads/lead_") == 3
    assert by_text.text.count("/console/leads/lead_") == 2
    assert "bo@example.org" not in by_text.text
    assert by_form.text.count("/console/leads/lead_") == 1
    assert "asha.two@example.com" in by_form.text
    assert "/console/leads/lead_" not in by_verdict.text
    assert by_day.text.count("/console/leads/lead_") == 3
    assert "/console/leads/lead_" not in before.text
    assert lead.status_code == 200
    assert "I agree that Acme may contact me by email about this enquiry." in lead.text  # the exact notice text
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    assert export.json()["leads"][0]["email"] == "asha.two@example.com"
    assert unconfirmed.headers["location"] == f"/console/leads/{lead_id}"
    assert erased.headers["location"] == "/console/leads?done=erased"
    assert "asha.two@example.com" not in after.text


async def test_a_new_signing_secret_is_shown_once_after_a_redirect(
    browser: Client, tenant: Tenant, receiver: Receiver
) -> None:
    csrf = await sign_in(browser, tenant)
    refused = await browser.post("/console/webhooks", data={"csrf": csrf, "url": "ftp://x"})
    created = await browser.post("/console/webhooks", data={"csrf": csrf, "url": receiver.url, "description": "CRM"})
    shown = await browser.get(created.headers["location"])
    reloaded = await browser.get(created.headers["location"])
    secret = re.search(r'id="secret" value="(whsec_[^"]+)"', shown.text)
    endpoint_id = re.search(r'href="/console/webhooks/(ep_[^"]+)"', shown.text)
    assert secret
    assert endpoint_id
    page = await browser.get(f"/console/webhooks/{endpoint_id.group(1)}")
    listing = await browser.get("/console/webhooks")
    rotated = await browser.post(f"/console/webhooks/{endpoint_id.group(1)}/rotate", data={"csrf": csrf})
    rotated_page = await browser.get(rotated.headers["location"])
    new_secret = re.search(r'id="secret" value="(whsec_[^"]+)"', rotated_page.text)
    endpoints = (await browser.get("/api/v1/endpoints", headers=tenant.headers)).json()["items"]

    assert refused.status_code == 422
    # Post, redirect, get: the secret waits for its own page in the session's row on the server (encrypted; no
    # cookie carries it), and that page takes it out, so that a reload neither adds a second endpoint nor shows the
    # secret again.
    secret_page = f"/console/webhooks/{endpoint_id.group(1)}/secret"
    assert (created.status_code, created.headers["location"]) == (303, secret_page)
    assert created.headers["cache-control"] == "no-store"
    assert "set-cookie" not in created.headers
    assert shown.status_code == 200
    assert "shown only this once" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert (reloaded.status_code, reloaded.headers["location"]) == (
        303,
        f"/console/webhooks/{endpoint_id.group(1)}?done=secret_shown",
    )
    notice = await browser.get(reloaded.headers["location"])
    assert "A signing secret is shown only once, and this one was." in notice.text
    assert len(endpoints) == 1
    assert secret.group(1) not in page.text + listing.text + notice.text
    assert (rotated.status_code, rotated.headers["location"]) == (303, secret_page)
    assert "New signing secret" in rotated_page.text
    assert " UTC, so there is time to switch" in rotated_page.text
    assert new_secret
    assert new_secret.group(1) != secret.group(1)


async def test_failed_deliveries_can_be_retried_and_endpoints_disabled(
    browser: Client, tenant: Tenant, receiver: Receiver
) -> None:
    csrf = await sign_in(browser, tenant)
    created = await browser.post("/console/webhooks", data={"csrf": csrf, "url": receiver.url})
    endpoint_id = re.fullmatch(r"/console/webhooks/(ep_[0-9a-z]+)/secret", created.headers["location"])
    assert endpoint_id
    receiver.answer(503)
    tested = await browser.post(f"/console/webhooks/{endpoint_id.group(1)}/test", data={"csrf": csrf})
    await receiver.wait_for(1)
    failed: list[str] = []
    for _ in range(400):  # until the worker has recorded the attempt: up to 20 s on a loaded machine
        listed = await browser.get("/console/deliveries", params={"status": "pending"})
        failed = re.findall(r'href="/console/deliveries/(dlv_[0-9a-z]+)"', listed.text)
        if failed and "HTTP 503" in listed.text:
            break
        await asyncio.sleep(0.05)
    delivery = await browser.get(f"/console/deliveries/{failed[0]}")
    retried = await browser.post(f"/console/deliveries/{failed[0]}/retry", data={"csrf": csrf})
    await receiver.wait_for(2)
    disabled = await browser.post(
        f"/console/webhooks/{endpoint_id.group(1)}/status", data={"csrf": csrf, "status": "disabled"}
    )
    endpoint = (await browser.get(f"/api/v1/endpoints/{endpoint_id.group(1)}", headers=tenant.headers)).json()

    assert tested.status_code == 303
    assert delivery.status_code == 200
    assert "HTTP 503" in delivery.text
    assert "webhook.test" in delivery.text
    assert retried.status_code == 303
    assert receiver.requests[0][0]["webhook-id"] == receiver.requests[1][0]["webhook-id"]
    assert disabled.status_code == 303
    assert endpoint["status"] == "disabled"


async def test_api_keys_are_made_shown_once_and_revoked_from_the_console(
    browser: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    csrf = await sign_in(browser, tenant)
    other_key_id = (await browser.get("/api/v1/api-keys", headers=other_tenant.headers)).json()["items"][0]["id"]
    own_key_id = (await browser.get("/api/v1/api-keys", headers=tenant.headers)).json()["items"][0]["id"]
    form = await create_form(browser, tenant)
    unnamed = await browser.post("/console/keys", data={"csrf": csrf, "name": "  "})
    created = await browser.post("/console/keys", data={"csrf": csrf, "name": "CRM sync"})
    shown = await browser.get(created.headers["location"])
    reloaded = await browser.get(created.headers["location"])
    new_key = re.search(r'id="secret" value="(lw_[0-9a-z]+)"', shown.text)
    assert new_key
    works = await browser.get("/api/v1/forms", headers={"Authorization": f"Bearer {new_key.group(1)}"})
    settings = await browser.get("/console/settings")
    new_key_id = re.search(r"/console/keys/(key_[0-9a-z]+)/new", created.headers["location"])
    assert new_key_id
    foreign = await browser.post(f"/console/keys/{other_key_id}/revoke", data={"csrf": csrf})
    revoked = await browser.post(f"/console/keys/{new_key_id.group(1)}/revoke", data={"csrf": csrf})
    refused_after = await browser.get("/api/v1/forms", headers={"Authorization": f"Bearer {new_key.group(1)}"})
    last = await browser.post(f"/console/keys/{own_key_id}/revoke", data={"csrf": csrf})
    await browser.post("/console/keys", data={"csrf": csrf, "name": "spare"})
    first = await browser.post(f"/console/keys/{own_key_id}/revoke", data={"csrf": csrf})
    after_first = await browser.get("/console")

    assert unnamed.status_code == 422
    assert "must be 1 to 100 visible characters" in unnamed.text
    assert created.status_code == 303
    assert shown.status_code == 200
    assert "shown only this once" in shown.text
    assert "set-cookie" not in created.headers
    assert (reloaded.status_code, reloaded.headers["location"]) == (303, "/console/settings?done=key_shown")
    assert works.status_code == 200
    # The list shows names and prefixes, never a key; the audit log names the key or the member that acted.
    assert new_key.group(1) not in settings.text
    assert tenant.key not in settings.text
    assert "CRM sync" in settings.text
    assert "owner-ws-" in settings.text  # the member's own key names them
    assert re.search(r"key first key</td>\s*<td>.*?</td>\s*<td><code>form.created</code>", settings.text)
    assert re.search(r"owner-ws-[^<]*</td>\s*<td>.*?</td>\s*<td><code>api_key.created</code>", settings.text)
    assert f'<a href="/console/forms/{form["id"]}"><code>{form["id"]}</code></a>' in settings.text
    assert foreign.status_code == 404
    assert (await browser.get("/api/v1/forms", headers=other_tenant.headers)).status_code == 200
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/console/settings?done=key_revoked")
    assert refused_after.status_code == 401
    assert last.status_code == 409
    assert "last live key" in last.text
    # Keys open the API only: revoking one leaves the member's console session alone.
    assert (first.status_code, first.headers["location"]) == (303, "/console/settings?done=key_revoked")
    assert after_first.status_code == 200
    assert (await browser.get("/api/v1/forms", headers=tenant.headers)).status_code == 401


async def test_a_new_key_is_shown_only_to_the_session_and_page_it_was_made_for(
    browser: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    csrf = await sign_in(browser, tenant)
    first_session = browser.cookies.get("leadwire_console")
    assert first_session
    other_key_id = (await browser.get("/api/v1/api-keys", headers=other_tenant.headers)).json()["items"][0]["id"]
    no_token = await browser.post("/console/keys", data={"name": "sneaky"})
    foreign = await browser.get(f"/console/keys/{other_key_id}/new")
    made = await browser.post("/console/keys", data={"csrf": csrf, "name": "second"})
    page = made.headers["location"]
    # Signed in again (another session of the same member in the same browser): the key was made for the first
    # session, and waits for it.
    third = (await browser.post("/api/v1/api-keys", json={"name": "third"}, headers=tenant.headers)).json()
    await sign_in(browser, tenant)
    elsewhere = await browser.get(page)
    browser.cookies.set("leadwire_console", first_session, domain="testserver.local", path="/console")
    other_page = await browser.get(f"/console/keys/{third['id']}/new")  # the right session, another page
    shown = await browser.get(page)
    again = await browser.get(page)
    keys = (await browser.get("/api/v1/api-keys", headers=tenant.headers)).json()["items"]

    assert no_token.status_code == 403
    assert "sneaky" not in {key["name"] for key in keys}
    assert foreign.status_code == 404
    for answer in (elsewhere, other_page, again):
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/settings?done=key_shown")
    assert shown.status_code == 200
    assert 'id="secret" value="lw_' in shown.text


async def test_another_workspace_sees_none_of_it(browser: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    form = await create_form(browser, tenant)
    assert (await browser.post(f"/f/{form['slug']}", json=valid())).status_code == 201
    lead_id = (await browser.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["id"]
    csrf = await sign_in(browser, other_tenant)

    pages = [
        await browser.get(f"/console/forms/{form['id']}"),
        await browser.get(f"/console/forms/{form['id']}/preview"),
        await browser.get(f"/console/leads/{lead_id}"),
        await browser.get(f"/console/leads/{lead_id}/export"),
        await browser.post(f"/console/leads/{lead_id}/erase", data={"csrf": csrf, "confirm": "erase"}),
        await browser.post(f"/console/forms/{form['id']}/status", data={"csrf": csrf, "status": "archived"}),
    ]
    leads = await browser.get("/console/leads")
    forms = await browser.get("/console/forms")

    assert [page.status_code for page in pages] == [404] * len(pages)
    assert "asha@example.com" not in leads.text
    assert form["id"] not in forms.text
    mine = (await browser.get(f"/api/v1/forms/{form['id']}", headers=tenant.headers)).json()
    assert mine["status"] == "published"


def test_charts_stack_each_day_and_escape_what_they_show() -> None:
    days = last_days(date(2026, 11, 22), 3)
    series = [Series("accepted", "Accepted <b>", "#123456"), Series("spam", "Spam", "#654321")]
    chart = stacked_bars(
        "Submissions & more", days, series, {(days[0], "accepted"): 3, (days[2], "spam"): 7, (days[2], "accepted"): 1}
    )

    assert days == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert chart.totals == {"accepted": 4, "spam": 7}
    assert chart.peak == 8
    assert chart.svg.count("<rect") == 3
    assert "Submissions &amp; more" in chart.svg
    assert "<b>" not in chart.svg
    assert 'role="img"' in chart.svg


async def test_the_editor_keeps_what_it_does_not_show(browser: Client, tenant: Tenant) -> None:
    fields = [
        {"name": "email", "type": "email", "required": True, "placeholder": "you@work.com", "max_length": 120},
        {"name": "plan", "type": "select", "options": [{"value": "pro", "label": "Pro plan"}, "team"]},
    ]
    form = await create_form(browser, tenant, fields=fields, consents=[], settings={"language": "de"})
    csrf = await sign_in(browser, tenant)
    data = {
        "csrf": csrf,
        "version": str(form["version"]),
        "name": "Renamed",
        "field_rows": "2",
        "field-0-name": "email",
        "field-0-type": "email",
        "field-0-label": "Email",
        "field-0-required": "1",
        "field-1-name": "plan",
        "field-1-type": "select",
        "field-1-label": "Plan",
        "field-1-options": "pro\nteam\nenterprise",
        "consent_rows": "0",
        "dedupe_hours": "24",
    }
    saved = await browser.post(f"/console/forms/{form['id']}", data=data)
    after = (await browser.get(f"/api/v1/forms/{form['id']}", headers=tenant.headers)).json()
    moved = await browser.post(
        f"/console/forms/{form['id']}", data={**data, "version": str(after["version"]), "field-1-position": "0.5"}
    )
    reordered = (await browser.get(f"/api/v1/forms/{form['id']}", headers=tenant.headers)).json()
    refused = await browser.post(  # shown again with what was typed, labelled options and all
        f"/console/forms/{form['id']}", data={**data, "version": str(reordered["version"]), "theme_color": "teal"}
    )

    assert saved.status_code == 303, saved.text
    assert after["name"] == "Renamed"
    assert after["fields"][0]["placeholder"] == "you@work.com"
    assert after["fields"][0]["max_length"] == 120
    assert [(o["value"], o["label"]) for o in after["fields"][1]["options"]] == [
        ("pro", "Pro plan"),
        ("team", "team"),
        ("enterprise", "enterprise"),
    ]
    assert after["settings"]["language"] == "de"
    assert moved.status_code == 303
    assert [f["name"] for f in reordered["fields"]] == ["plan", "email"]  # moved up by its position number
    assert refused.status_code == 422
    assert "pro\nteam\nenterprise</textarea>" in refused.text


async def test_odd_input_and_odd_states_get_pages_not_errors(
    browser: Client, tenant: Tenant, receiver: Receiver
) -> None:
    form = await create_form(browser, tenant)
    assert (await browser.post(f"/f/{form['slug']}", json=valid())).status_code == 201
    lead_id = (await browser.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["id"]
    endpoint = (await browser.post("/api/v1/endpoints", json={"url": receiver.url}, headers=tenant.headers)).json()
    await browser.patch(f"/api/v1/endpoints/{endpoint['id']}", json={"status": "disabled"}, headers=tenant.headers)

    away = await browser.get(f"/console/leads/{lead_id}")
    credentials = {"email": tenant.email, "password": tenant.password}
    back = await browser.post(f"/console/sign-in?next=/console/leads/{lead_id}", data=credentials)
    elsewhere = await browser.post("/console/sign-in?next=//evil.example/x", data=credentials)
    csrf = _CSRF.search((await browser.get("/console")).text)
    assert csrf
    token = csrf.group(1)
    path = f"/console/forms/{form['id']}"
    bad_version = await browser.post(path, data={**_editor(token, 1), "version": "v1"})
    huge_window = await browser.post(path, data=_editor(token, form["version"], dedupe_hours="1e400"))
    nul = await browser.post("/console/forms", data={"csrf": token, "name": "a\x00b"})
    disabled_test = await browser.post(f"/console/webhooks/{endpoint['id']}/test", data={"csrf": token})
    await browser.post(f"/console/leads/{lead_id}/erase", data={"csrf": token, "confirm": "erase"})
    erased_page = await browser.get(f"/console/leads/{lead_id}")
    erased_export = await browser.get(f"/console/leads/{lead_id}/export")
    erased_again = await browser.post(f"/console/leads/{lead_id}/erase", data={"csrf": token, "confirm": "erase"})

    assert away.headers["location"] == f"/console/sign-in?next=%2Fconsole%2Fleads%2F{lead_id}"
    assert back.headers["location"] == f"/console/leads/{lead_id}"
    assert elsewhere.headers["location"] == "/console"
    assert bad_version.status_code == 422
    assert huge_window.status_code == 422
    assert "hours" in huge_window.text
    assert nul.status_code == 403
    assert "NUL" in nul.text
    assert disabled_test.status_code == 200
    assert "enable it to send a test event" in disabled_test.text
    assert erased_page.status_code == 200
    assert "Export (JSON)" not in erased_page.text
    assert erased_export.status_code == 404
    assert erased_again.headers["location"] == "/console/leads?done=erased"


async def test_a_lead_shows_where_each_consent_stands_and_the_team_withdraws_one_the_person_asked_to(
    browser: Client, tenant: Tenant
) -> None:
    form = await create_form(browser, tenant)
    await browser.post(f"/f/{form['slug']}", json=valid(consent=["sales_contact", "marketing"]))
    await browser.post(f"/f/{form['slug']}", json=valid(consent=["sales_contact"], message="no box ticked"))
    csrf = await sign_in(browser, tenant)
    lead_id = re.findall(r'href="/console/leads/(lead_[^"]+)"', (await browser.get("/console/leads")).text)[0]

    before = await browser.get(f"/console/leads/{lead_id}")
    forged = await browser.post(f"/console/leads/{lead_id}/withdraw", data={"purpose": "marketing"})
    withdrawn = await browser.post(f"/console/leads/{lead_id}/withdraw", data={"csrf": csrf, "purpose": "marketing"})
    after = await browser.get(withdrawn.headers["location"])
    api = (await browser.get(f"/api/v1/leads/{lead_id}", headers=tenant.headers)).json()

    now = before.text.split("<h2>Consent now</h2>", 1)[1].split("<h2>", 1)[0]
    assert now.count('class="badge given"') == 2  # the unticked box of the second form withdrew nothing
    assert now.count("Withdraw<span") == 2
    assert forged.status_code == 403
    assert withdrawn.headers["location"] == f"/console/leads/{lead_id}?done=withdrawn"
    assert "The consent is withdrawn" in after.text
    assert {s["purpose"]: s["state"] for s in api["consent_state"]} == {
        "marketing": "withdrawn",
        "sales_contact": "given",
    }
    assert api["consent_events"][-1]["indication"] == "console"
