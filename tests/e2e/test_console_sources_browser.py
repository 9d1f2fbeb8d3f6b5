"""The console's Sources section in Debian's Chromium: a marketer adds a Google Ads source, copies its URL and key, a
sender posts to it, and the marketer sees each payload with what it became or why it was refused, then tries a
sample on the source's rules.

The sender posts Google Ads lead form webhooks (the ``WebhookLead`` JSON of Google's "Implementation" page:
``lead_id``, ``user_column_data`` of ``column_id``/``string_value``, ``google_key``, ``is_test``). Every page is
checked with axe-core; with ``LEADWIRE_SCREENSHOT_DIR`` set (``make screenshots``), each is saved there.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.test_browser import (  # noqa: F401 (browser and site are fixtures)
    AXE,
    Site,
    _required,
    axe_violations,
    browser,
    serious_findings,
    site,
)
from tests.e2e.test_console_browser import _shot, _until_text
from tests.ingest.conftest import create_form

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

    from tests.conftest import Tenant

pytestmark = pytest.mark.slow


def _google_lead(lead_id: str, key: str, email: str) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "api_version": "1.0",
        "form_id": 40000000001,
        "campaign_id": 20000000001,
        "google_key": key,
        "is_test": False,
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Priya Nair", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": email, "column_id": "EMAIL"},
        ],
    }


async def _sign_in(page: Page, console: str, tenant: Tenant) -> None:
    await page.goto(f"{console}/sign-in")
    await page.get_by_label("Email address").fill(tenant.email)
    await page.get_by_label("Password").fill(tenant.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(console)


async def _try_a_sample(page: Page) -> None:
    """A sample tried on the source's rules: what it would become, and why it would be refused; nothing stored."""
    sample = _google_lead("TeSter-3", "any", "")
    sample["user_column_data"] = sample["user_column_data"][:1]  # no email
    await page.get_by_label("Sample payload").fill(json.dumps(sample, indent=2))
    await page.get_by_role("button", name="Try it").click()
    await page.get_by_text("this lead would be refused").wait_for()
    assert await page.get_by_text("Email is required").count() >= 1


async def test_a_source_is_added_in_the_console_and_its_payloads_are_seen(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
    tenant: Tenant,
) -> None:
    if not await asyncio.to_thread(AXE.exists):
        _required(f"axe-core ({AXE}; `make install` fetches it)")
    form = await create_form(site.api, tenant)
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page = await context.new_page()
    await _sign_in(page, f"{site.base}/console", tenant)
    results = {}

    # Choose the sender and the form; the next page says how that sender is set up.
    await page.get_by_role("link", name="Sources").click()
    results["sources, none yet"] = await axe_violations(page)
    await page.get_by_label("Sender").select_option(label="Google Ads lead forms")
    await page.get_by_label("Into the form").select_option(value=form["id"])
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_text("How its sender is set up: In the lead form's webhook integration").wait_for()
    results["new source"] = await axe_violations(page)
    await page.get_by_label("Name").fill("Google Ads: spring campaign")
    await page.get_by_label("sales_contact").check()
    await page.get_by_role("button", name="Add source").click()

    # The URL and the key, shown once; the URL copied with its button.
    await page.get_by_role("heading", name="Source added: Google Ads: spring campaign").wait_for()
    url = await page.locator("#source-url").input_value()
    key = await page.locator("#secret-google_key").input_value()
    await page.get_by_role("button", name="Copy URL").click()
    await page.get_by_text("Copied.").first.wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == url
    results["source added"] = await axe_violations(page)
    await page.get_by_role("link", name="I have copied it").click()
    source_page = page.url
    assert key not in await page.content()

    # A sender posts to it: one lead with the right key, one with a wrong one.
    async with httpx.AsyncClient(timeout=30) as sender:
        accepted = await sender.post(url, json=_google_lead("TeSter-1", key, "priya@example.com"))
        refused = await sender.post(url, json=_google_lead("TeSter-2", "not-the-key-1234", "ravi@example.com"))
    assert accepted.is_success, accepted.text
    assert refused.status_code == 401

    await _until_text(page, source_page, "google_key does not match")
    await _until_text(page, source_page, "priya@example.com")
    stored = page.locator("article.payload", has=page.locator(".badge.accepted"))
    await stored.get_by_text("Raw payload").click()
    await page.get_by_text('"string_value": "priya@example.com"').wait_for()
    assert await page.get_by_role("link", name="this lead").count() == 1
    results["source"] = await axe_violations(page)

    await _try_a_sample(page)
    results["source with a try-out"] = await axe_violations(page)
    await _shot(page, "source")
    await page.get_by_role("link", name="Sources", exact=True).click()
    await page.get_by_role("link", name="Google Ads: spring campaign").wait_for()
    results["sources"] = await axe_violations(page)
    await _shot(page, "sources")
    await context.close()

    assert serious_findings(results) == {name: [] for name in results}
