"""The hosted form page: works without JavaScript, carries the render token and honeypot, frames nowhere."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from app import create_app
from tests.conftest import make_settings
from tests.ingest.conftest import CONSENT_TEXTS, INGEST, add_endpoint, create_form

if TYPE_CHECKING:
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


async def test_the_page_shows_every_field_with_a_label_and_the_exact_consent_texts_unticked(
    app_client: Client, tenant: Tenant
) -> None:
    form = await create_form(app_client, tenant, name="Contact <sales>")

    page = await app_client.get(f"/f/{form['slug']}")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<h1>Contact &lt;sales&gt;</h1>" in html
    for field in form["fields"]:
        assert f'name="{field["name"]}"' in html
    for name in ("name", "email", "phone", "team_size", "seats", "website", "start", "message"):
        assert f'<label for="f-{name}">' in html
    assert re.search(r'<input type="email" id="f-email" name="email" value="" autocomplete="email"', html)
    assert re.search(r'<input type="tel" id="f-phone" name="phone" value="" autocomplete="tel"', html)
    assert 'aria-describedby="f-phone-hint"' not in html  # FORM's phone has no help text
    assert re.search(r'<input type="text" id="f-name" name="name" value="" autocomplete="name"', html)
    for purpose, text in CONSENT_TEXTS.items():
        box = re.search(rf'<input type="checkbox" id="c-{purpose}"[^>]*>', html)
        assert box is not None
        assert "checked" not in box.group(0)
        assert text in html
    assert re.search(r'<input type="hidden" name="_t" value="[^"]+">', html)
    assert '<div class="lw-hp" aria-hidden="true">' in html
    assert 'tabindex="-1"' in html
    assert "<script" not in html
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers


async def test_drafts_and_unknown_forms_have_no_page(app_client: Client, tenant: Tenant) -> None:
    draft = await create_form(app_client, tenant, status="draft")

    assert (await app_client.get(f"/f/{draft['slug']}")).status_code == 404
    assert (await app_client.get("/f/nosuchform000000")).status_code == 404
    assert (await app_client.get(f"/f/{draft['slug']}/thanks")).status_code == 404


async def test_a_prospect_fills_in_the_page_without_javascript_and_the_lead_arrives(
    database_url: str, tenant: Tenant, receiver: Receiver
) -> None:
    settings = make_settings(database_url, **{**INGEST, "spam_min_fill_seconds": "0"})
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        form = await create_form(client, tenant)
        await add_endpoint(client, tenant, receiver.url)
        page = await client.get(f"/f/{form['slug']}?utm_source=newsletter")
        token = re.search(r'name="_t" value="([^"]+)"', page.text)
        assert token is not None

        sent = await client.post(
            f"/f/{form['slug']}",
            data={"name": "Nina", "email": "nina@example.com", "consent": "sales_contact", "_t": token[1], "_hp": ""},
            headers={"Origin": "http://testserver.local", "Referer": str(page.url)},
            follow_redirects=False,
        )
        thanks = await client.get(sent.headers["location"])
        await receiver.wait_for(1)  # while the app runs: its worker delivers on this test's event loop

    assert sent.status_code == 303
    assert 'role="status"' in thanks.text
    assert "Thanks!" in thanks.text
    body = receiver.requests[0][1]
    assert b'"type":"lead.created"' in body
    assert b'"utm":{"utm_source":"newsletter"}' in body
