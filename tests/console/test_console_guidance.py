"""Where people stumbled in the console: what each option means, errors in words, spam that cannot go unseen."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from tests.console.test_console import _editor, browser, console_settings, sign_in
from tests.ingest.conftest import create_form

if TYPE_CHECKING:
    from tests.conftest import Client, Tenant

__all__ = ("browser", "console_settings")  # fixtures, used by name


async def test_creating_a_form_says_so_and_the_editor_explains_double_opt_in(browser: Client, tenant: Tenant) -> None:
    csrf = await sign_in(browser, tenant)
    created = await browser.post("/console/forms", data={"name": "Book a demo", "csrf": csrf})
    editor = await browser.get(created.headers["location"])

    assert created.status_code == 303
    assert created.headers["location"].endswith("?done=created")
    assert "Form created." in editor.text
    assert "Saved." not in editor.text
    # Leadwire sends no mail: without a CRM that sends the confirmation, no lead ever arrives.
    text = html.unescape(re.sub(r"<[^>]+>", "", editor.text))
    assert "lead.confirmation_requested" in text
    assert "your CRM must send that email" in text


async def test_the_live_preview_and_the_editor_say_what_is_wrong_in_words(browser: Client, tenant: Tenant) -> None:
    csrf = await sign_in(browser, tenant)
    created = await browser.post("/console/forms", data={"name": "Book a demo", "csrf": csrf})
    form_id = created.headers["location"].split("/")[3].split("?")[0]

    preview = await browser.post(f"/console/forms/{form_id}/preview", data=_editor(csrf, 1, theme_color="teal"))
    saved = await browser.post(f"/console/forms/{form_id}", data=_editor(csrf, 1, privacy_notice_url="privacy"))
    region = await browser.post(f"/console/forms/{form_id}/preview", data=_editor(csrf, 1, default_phone_region="G"))

    assert preview.status_code == saved.status_code == region.status_code == 422
    for page in (preview, saved, region):
        assert "Expected" not in page.text
        assert "regex" not in page.text
        assert "$." not in page.text
    assert preview.text == "Theme colour: enter a colour as #rrggbb, like #1d4ed8"
    assert "Privacy notice: enter a full address starting with https://" in html.unescape(saved.text)
    assert region.text == "Phone region: enter a two-letter country code, like GB"


async def test_the_form_page_gives_html_for_your_own_pages_and_shows_spam_with_its_reasons(
    browser: Client, tenant: Tenant
) -> None:
    form = await create_form(browser, tenant, settings={"allowed_origins": ["https://www.example.com"]})
    for email in ("one@example.com", "two@example.com"):  # a plain HTML form, before the setting is on
        await browser.post(f"/f/{form['slug']}", data={"name": "A", "email": email, "consent": "sales_contact"})
    await browser.post(
        f"/f/{form['slug']}", data={"name": "A", "email": "bot@example.com", "consent": "sales_contact", "_hp": "x"}
    )
    csrf = await sign_in(browser, tenant)
    page = await browser.get(f"/console/forms/{form['id']}")
    listing = await browser.get("/console/forms")
    turned_on = await browser.post(
        f"/console/forms/{form['id']}",
        data=_editor(csrf, form["version"], accept_plain_posts="1", allowed_origins="https://www.example.com"),
    )
    stored = (await browser.get(f"/api/v1/forms/{form['id']}", headers=tenant.headers)).json()
    after = await browser.post(
        f"/f/{form['slug']}",
        data={"name": "A", "email": "three@example.com", "consent": "sales_contact", "_hp": ""},
        headers={"Origin": "https://www.example.com"},
    )
    verdicts = (await browser.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]

    text = html.unescape(page.text)
    # The copy-paste HTML: posts to the form's address, with its fields, its consents and the honeypot.
    assert f'<form action="http://testserver.local/f/{form["slug"]}" method="post">' in text
    assert '<input type="email" name="email" required>' in text
    assert '<input type="checkbox" name="consent" value="sales_contact" required>' in text
    assert 'name="_hp"' in text
    assert 'name="accept_plain_posts"' in page.text
    # Spam is counted per form, with its reasons in words and what to do about them.
    assert "3 kept as spam in the last 30 days" in text
    assert "no_render_token" in text
    assert "<td>2 \u00d7</td>" in page.text
    assert "honeypot" in text
    assert "Accept posts from your own pages" in text
    assert 'verdict=spam">3</a></td>' in listing.text  # the forms list shows each form's spam count
    assert turned_on.status_code == 303, turned_on.text
    assert stored["settings"]["accept_plain_posts"] is True
    assert after.status_code == 303
    assert (verdicts[0]["verdict"], verdicts[0]["spam_reason"]) == ("accepted", None)
