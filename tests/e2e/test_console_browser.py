"""A marketer's whole first hour in the console, in Debian's Chromium: from signing in to signed leads in their CRM.

Sign in with email and password, build a form, publish it, copy its snippet into a page on another origin, add the
CRM's endpoint, submit through the embedded form, find the lead; then break the receiver, watch the delivery fail,
fix it, press retry and see it succeed. A second member, added by the owner, signs in with the one-time password.
With ``LEADWIRE_SCREENSHOT_DIR`` set (``make screenshots``), each console page is saved there.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from standardwebhooks import Webhook

from tests.e2e.test_browser import (  # noqa: F401 (browser and site are fixtures)
    AXE,
    Site,
    _host_page,
    _required,
    axe_violations,
    browser,
    serious_findings,
    site,
)
from tests.ingest.conftest import add_endpoint, create_form, valid

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

    from tests.conftest import Tenant
    from tests.webhooks import Receiver

pytestmark = pytest.mark.slow

SCREENSHOTS = os.environ.get("LEADWIRE_SCREENSHOT_DIR")


async def _shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"console-{name}.png"), full_page=True)


async def _until_text(page: Page, url: str, text: str, seconds: float = 20.0) -> None:
    """Reload ``url`` until ``text`` is on it, as a person would."""
    for _ in range(int(seconds / 0.25)):
        await page.goto(url)
        if text in await page.content():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"{text!r} never appeared on {url}")


async def _sign_in(page: Page, console: str, tenant: Tenant) -> None:
    """Any console page sends a stranger to sign in; the owner's email and password get them in."""
    await page.goto(console)
    assert page.url.startswith(f"{console}/sign-in")
    await _shot(page, "sign-in")
    await page.get_by_label("Email address").fill(tenant.email)
    await page.get_by_label("Password").fill(tenant.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(console)


async def _build_form(page: Page, site: Site) -> None:  # noqa: F811
    """From scratch: name it, relabel a field, add one, add a consent, allow the marketer's site; save, publish."""
    await page.get_by_role("link", name="Forms").click()
    await page.get_by_label("New form").fill("Book a demo")
    await page.get_by_role("button", name="Create form").click()
    await page.wait_for_url("**/console/forms/form_*")
    await page.get_by_label("Label").nth(0).fill("Full name")
    await page.locator("#field-3-name").fill("company")
    await page.locator("#field-3-label").fill("Company")
    await page.locator("#consent-0-purpose").fill("sales_contact")
    await page.locator("#consent-0-text").fill("Acme may email me about my demo.")
    await page.locator("input[name=consent-0-required]").check()
    await page.get_by_label("Allowed origins").fill(site.host_origin)
    await page.get_by_label("Theme colour").fill("#0f766e")
    preview = page.frame_locator("iframe[data-preview-frame]")
    await preview.get_by_text("Acme may email me about my demo.").wait_for()  # the live preview, before saving
    await page.get_by_role("button", name="Save").click()
    await page.get_by_text("Saved.").wait_for()
    await page.get_by_role("button", name="Publish").click()
    await page.get_by_text("Published:").wait_for()


async def _submit_embedded(page: Page, site: Site, name: str, email: str) -> None:  # noqa: F811
    """A prospect on the marketer's site fills in the embedded form."""
    await page.goto(f"{site.host_origin}/landing")
    frame = page.frame_locator("iframe[data-leadwire-frame]")
    await frame.get_by_role("textbox", name="Full name").fill(name)
    await frame.get_by_role("textbox", name="Email").fill(email)
    await frame.get_by_role("textbox", name="Company").fill("Acme")
    await frame.locator("#c-sales_contact").check()
    await frame.get_by_role("button", name="Send").click()
    await frame.get_by_text("Thank").first.wait_for()


async def test_from_signing_in_to_signed_leads_and_a_retried_delivery(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
    tenant: Tenant,
    receiver: Receiver,
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page = await context.new_page()
    console = f"{site.base}/console"

    await _sign_in(page, console, tenant)

    # Build a form from scratch and publish it.
    await _build_form(page, site)
    await _shot(page, "form-editor")

    # Copy the snippet into a page on another origin.
    await page.get_by_role("button", name="Copy snippet").click()
    await page.get_by_text("Copied.").wait_for()
    snippet = await page.evaluate("navigator.clipboard.readText()")
    assert snippet == await page.locator("#snippet").input_value()
    site.pages["landing"] = _host_page(snippet)

    # Add the CRM's endpoint; its secret is shown once.
    await page.get_by_role("link", name="Webhooks").click()
    await page.get_by_label("URL").fill(receiver.url)
    await page.get_by_role("button", name="Add endpoint").click()
    secret = await page.locator("#secret").input_value()
    assert secret.startswith("whsec_")
    await _shot(page, "secret")
    await page.reload()  # a reload neither shows the secret again nor posts the form again
    await page.get_by_text("A signing secret is shown only once, and this one was.").wait_for()
    assert secret not in await page.content()
    await page.get_by_role("link", name="Webhooks", exact=True).click()
    assert await page.locator("table a[href^='/console/webhooks/ep_']").count() == 1

    # A prospect submits through the embedded form; the lead shows up in the console and at the CRM, signed.
    await _submit_embedded(await context.new_page(), site, "Asha Rao", "asha@example.com")
    await receiver.wait_for(1, seconds=30)
    event = Webhook(secret).verify(receiver.requests[0][1], receiver.requests[0][0])
    assert event["data"]["lead"]["email"] == "asha@example.com"
    await _until_text(page, f"{console}/leads", "asha@example.com")
    await _shot(page, "leads")
    await page.get_by_role("link", name="Asha Rao").click()
    await page.get_by_text("Acme may email me about my demo.").first.wait_for(state="attached")
    await _shot(page, "lead")

    # Break the receiver: the next lead's delivery fails; fix it, press retry, see it succeed.
    receiver.outage = 503
    await _submit_embedded(await context.new_page(), site, "Bo Lin", "bo@example.com")
    await _until_text(page, f"{console}/deliveries?status=failed", "HTTP 503", seconds=30)
    await _shot(page, "deliveries")
    await page.locator("a[href^='/console/deliveries/dlv_']").first.click()
    await page.get_by_text("HTTP 503").first.wait_for()
    receiver.outage = None
    await page.get_by_role("button", name="Retry now").click()
    await page.get_by_text("will be sent again").wait_for()
    delivery_url = page.url.split("?")[0]
    await _until_text(page, delivery_url, ">succeeded<")
    await _shot(page, "delivery")
    assert any(
        status == 200 and b"bo@example.com" in body
        for (_, body), status in zip(receiver.requests, receiver.statuses, strict=True)
    )

    for name, path in (
        ("dashboard", ""),
        ("forms", "/forms"),
        ("settings", "/settings"),
        ("members", "/members"),
        ("account", "/account"),
        ("webhooks", "/webhooks"),
    ):
        await page.goto(console + path)
        await _shot(page, name)
    await page.get_by_role("link", name=receiver.url).click()
    await _shot(page, "endpoint")
    await context.close()


async def test_signing_out_everywhere_ends_the_session_in_another_browser(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
    tenant: Tenant,
) -> None:
    console = f"{site.base}/console"
    here, there = await browser.new_context(), await browser.new_context()
    page, other = await here.new_page(), await there.new_page()
    await _sign_in(page, console, tenant)
    await _sign_in(other, console, tenant)

    await page.get_by_role("link", name="owner-").click()  # the member's name opens their account page
    await page.get_by_role("button", name="Sign out everywhere").click()
    await page.get_by_text("Every one of your console sessions has ended").wait_for()
    await other.goto(f"{console}/leads")
    await page.goto(console)

    assert other.url.startswith(f"{console}/sign-in")
    assert page.url.startswith(f"{console}/sign-in")
    await here.close()
    await there.close()


async def test_console_pages_have_no_serious_accessibility_findings(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
    tenant: Tenant,
    receiver: Receiver,
) -> None:
    if not await asyncio.to_thread(AXE.exists):
        _required(f"axe-core ({AXE}; `make install` fetches it)")
    form = await create_form(site.api, tenant)
    endpoint = await add_endpoint(site.api, tenant, receiver.url)
    assert (await site.api.post(f"/f/{form['slug']}", json=valid())).status_code == 201
    await receiver.wait_for(1)
    lead_id = (await site.api.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["id"]
    delivery_id = (await site.api.get("/api/v1/deliveries", headers=tenant.headers)).json()["items"][0]["id"]
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    console = f"{site.base}/console"
    await page.goto(f"{console}/forgot-password")
    results = {"forgot-password": await axe_violations(page)}
    await page.goto(f"{console}/sign-in")
    results["sign-in"] = await axe_violations(page)
    await page.get_by_label("Email address").fill(tenant.email)
    await page.get_by_label("Password").fill(tenant.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(console)
    for path in (
        "",
        "/forms",
        f"/forms/{form['id']}",
        "/leads",
        f"/leads/{lead_id}",
        "/webhooks",
        f"/webhooks/{endpoint['id']}",
        "/deliveries",
        f"/deliveries/{delivery_id}",
        "/members",
        "/account",
        "/account/mfa",
        "/settings",
    ):
        await page.goto(console + path)
        results[path or "/"] = await axe_violations(page)
    await page.goto(console + "/account/mfa")
    await page.get_by_role("button", name="Set up an authenticator app").click()
    await page.get_by_label("Code from the app").wait_for()
    results["authenticator app"] = await axe_violations(page)
    await page.goto(console + "/settings")
    await page.get_by_label("New key's name").fill("CRM sync")
    await page.get_by_role("button", name="Create key").click()
    await page.get_by_role("heading", name="New API key").wait_for()
    results["new API key"] = await axe_violations(page)
    await context.close()

    assert serious_findings(results) == {name: [] for name in results}


async def test_a_new_member_signs_in_changes_their_password_and_sees_their_sessions(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
    tenant: Tenant,
) -> None:
    """The owner adds an editor in the Members page; the editor signs in with the one-time password shown there,
    chooses their own, and finds only what an editor may use."""
    console = f"{site.base}/console"
    owner_context, editor_context = await browser.new_context(), await browser.new_context()
    owner, editor = await owner_context.new_page(), await editor_context.new_page()
    await _sign_in(owner, console, tenant)
    await owner.get_by_role("link", name="Members").click()
    await owner.get_by_label("Email address", exact=True).fill("grace@example.com")
    await owner.get_by_label("Role", exact=True).select_option("editor")
    await owner.get_by_role("button", name="Add").click()
    one_time = await owner.locator("#secret").input_value()
    await _shot(owner, "new-member")

    await editor.goto(f"{console}/sign-in")
    await editor.get_by_label("Email address").fill("grace@example.com")
    await editor.get_by_label("Password").fill(one_time)
    await editor.get_by_role("button", name="Sign in").click()
    await editor.wait_for_url(console)
    nav = await editor.get_by_role("navigation", name="Console").inner_text()
    await editor.get_by_role("link", name="grace").click()
    await editor.get_by_label("Current password").fill(one_time)
    await editor.get_by_label("New password").fill("password1234")  # common: refused, with the reason
    await editor.get_by_role("button", name="Change password").click()
    await editor.get_by_text("this is one of the most common passwords").wait_for()
    await editor.get_by_label("Current password").fill(one_time)
    await editor.get_by_label("New password").fill("a lighthouse in the fog")
    await editor.get_by_role("button", name="Change password").click()
    await editor.get_by_text("Your password is changed").wait_for()
    sessions = await editor.locator("#sessions + p + table tbody tr").count()
    await editor.goto(f"{console}/members")
    refused = await editor.content()

    assert "Forms" in nav
    assert "Members" not in nav
    assert "Settings" not in nav
    assert sessions == 1
    assert "Your role does not allow this" in refused
    await owner_context.close()
    await editor_context.close()
