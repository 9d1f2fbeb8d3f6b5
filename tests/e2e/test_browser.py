"""The hosted page and the embed snippet in Debian's Chromium, driven by Playwright: what prospects really see."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, add_endpoint, create_form, free_port, serve

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from playwright.async_api import Browser, Page

    from tests.conftest import Tenant
    from tests.webhooks import Receiver

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("LEADWIRE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
AXE = Path(__file__).resolve().parents[2] / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = os.environ.get("LEADWIRE_SCREENSHOT_DIR")


def _required(what: str) -> None:
    """Skip on a developer machine without ``what``; fail in CI, where it must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        _required(f"Chromium ({CHROMIUM})")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class Site:
    """Leadwire on one port of 127.0.0.1 and a marketer's site on another: two origins."""

    def __init__(self, leadwire: httpx.AsyncClient, base: str, host_origin: str) -> None:
        self.api = leadwire
        self.base = base
        self.host_origin = host_origin
        self.pages: dict[str, str] = {}


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Site]:
    port, host_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(database_url, **{**INGEST, "spam_min_fill_seconds": "0", "public_base_url": base})
    host = web.Application()
    holder: dict[str, Site] = {}

    async def page(request: web.Request) -> web.Response:
        text = holder["site"].pages.get(request.match_info["name"])
        if text is None:
            raise web.HTTPNotFound
        return web.Response(text=text, content_type="text/html")

    host.router.add_get("/{name}", page)
    runner = web.AppRunner(host)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", host_port).start()
    try:
        async with serve(settings, port=port) as client:
            holder["site"] = Site(client, base, f"http://127.0.0.1:{host_port}")
            yield holder["site"]
    finally:
        await runner.cleanup()


async def _embed_snippet(site: Site, tenant: Tenant, form: dict[str, Any]) -> str:
    response = await site.api.get(f"/api/v1/forms/{form['id']}/embed", headers=tenant.headers)
    assert response.status_code == 200
    snippet: str = response.json()["snippet"]
    return snippet


def _host_page(snippet: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme pricing</title></head>
<body><h1>Talk to sales</h1>
<script>window.submitted = []; document.addEventListener("leadwire:submitted", function (e) {{
  window.submitted.push(e.detail); e.preventDefault(); }});</script>
{snippet}
<p>Footer</p></body></html>"""


async def _fill(page: Page | Any, name: str, email: str) -> None:
    await page.get_by_role("textbox", name="Name").fill(name)
    await page.get_by_role("textbox", name="Email").fill(email)
    await page.locator("#c-sales_contact").check()


async def test_a_form_embedded_on_another_origin_resizes_submits_and_delivers_a_signed_lead(
    browser: Browser, site: Site, tenant: Tenant, receiver: Receiver
) -> None:
    form = await create_form(site.api, tenant, settings={"allowed_origins": [site.host_origin]})
    endpoint = await add_endpoint(site.api, tenant, receiver.url)
    site.pages["landing"] = _host_page(await _embed_snippet(site, tenant, form))
    page = await browser.new_page()

    await page.goto(f"{site.host_origin}/landing?utm_source=newsletter&utm_campaign=spring&gclid=g-1")
    frame_element = page.locator("iframe[data-leadwire-frame]")
    await frame_element.wait_for()
    frame = page.frame_locator("iframe[data-leadwire-frame]")
    await frame.locator("h1").wait_for()
    await page.wait_for_function("() => document.querySelector('iframe[data-leadwire-frame]').style.height !== '520px'")
    first_height = await frame_element.evaluate("e => e.getBoundingClientRect().height")
    await _fill(frame, "Nina Shah", "nina@example.com")
    await frame.get_by_role("button", name="Send").click()
    await page.wait_for_function("() => window.submitted.length === 1")
    detail = await page.evaluate("() => window.submitted[0]")
    await frame.get_by_role("status").wait_for()
    await page.wait_for_function(
        f"() => document.querySelector('iframe[data-leadwire-frame]').getBoundingClientRect().height < {first_height}"
    )
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/embedded-thanks.png")

    assert await frame_element.get_attribute("title") == form["name"]
    assert await frame_element.get_attribute("loading") == "lazy"
    assert detail["form"] == form["slug"]
    assert detail["submission"].startswith("sub_")
    await receiver.wait_for(1)
    headers, body = receiver.requests[0]
    event = Webhook(endpoint["secret"]).verify(body, headers)
    assert event["type"] == "lead.created"
    assert event["data"]["submission"]["utm"] == {"utm_source": "newsletter", "utm_campaign": "spring", "gclid": "g-1"}
    assert event["data"]["submission"]["page_url"].startswith(f"{site.host_origin}/landing?")
    assert detail["submission"] == event["data"]["submission"]["id"]
    await page.close()


async def test_a_site_that_is_not_allowed_cannot_frame_the_form(browser: Browser, site: Site, tenant: Tenant) -> None:
    form = await create_form(site.api, tenant, settings={"allowed_origins": ["https://www.example.com"]})
    site.pages["stranger"] = _host_page(await _embed_snippet(site, tenant, form))
    site.pages["plain"] = f'<!doctype html><iframe title="x" src="{site.base}/f/{form["slug"]}"></iframe>'
    page = await browser.new_page()

    for name in ("stranger", "plain"):
        await page.goto(f"{site.host_origin}/{name}")
        await page.wait_for_timeout(1_000)
        child = page.frames[1] if len(page.frames) > 1 else None
        assert child is not None
        assert await child.locator("form").count() == 0, name  # blocked: Chromium shows its error page instead
    await page.close()


async def test_without_javascript_the_hosted_page_shows_errors_then_thanks(
    browser: Browser, site: Site, tenant: Tenant
) -> None:
    form = await create_form(site.api, tenant)
    context = await browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = await context.new_page()

    await page.goto(f"{site.base}/f/{form['slug']}")
    await page.get_by_role("textbox", name="Email").fill("not-an-email")
    await page.get_by_role("button", name="Send").click()
    await page.get_by_role("alert").wait_for()
    title = await page.title()
    focused = await page.evaluate("() => document.activeElement.className")
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/hosted-errors-phone.png", full_page=True)
    assert await page.get_by_role("textbox", name="Email").get_attribute("aria-invalid") == "true"
    await _fill(page, "Ravi Kumar", "ravi@example.com")
    await page.get_by_role("button", name="Send").click()
    status = page.get_by_role("status")
    await status.wait_for()

    thanks = await status.inner_text()
    await page.get_by_role("link", name="See what you agreed to").click()
    await page.get_by_role("heading", name="Your consent receipt").wait_for()
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/receipt-phone.png", full_page=True)
    await page.get_by_role("button", name="Withdraw this consent").first.click()
    withdrawn = await page.get_by_role("status").inner_text()

    assert title.startswith("Error: ")
    assert focused == "error-summary"
    assert "Thanks!" in thanks
    assert withdrawn == "Your consent has been withdrawn."
    await context.close()


async def test_the_form_can_be_completed_with_the_keyboard_alone(browser: Browser, site: Site, tenant: Tenant) -> None:
    fields = [
        {"name": "name", "type": "text", "required": True},
        {"name": "email", "type": "email", "required": True},
        {"name": "team_size", "type": "select", "options": ["1-10", "11-50"]},
    ]
    form = await create_form(site.api, tenant, fields=fields)
    page = await browser.new_page()
    await page.goto(f"{site.base}/f/{form['slug']}")

    visited = []
    for keys in (["K", "e", "y"], ["k@example.com"], ["ArrowDown"], [" "], []):
        await page.keyboard.press("Tab")
        visited.append(await page.evaluate("() => document.activeElement.name || document.activeElement.tagName"))
        for key in keys:
            await (page.keyboard.press(key) if len(key) > 1 and key[0].isupper() else page.keyboard.type(key))
    await page.keyboard.press("Tab")  # past the optional marketing consent to the button
    visited.append(await page.evaluate("() => document.activeElement.tagName"))
    await page.keyboard.press("Enter")
    await page.get_by_role("status").wait_for()

    assert visited == ["name", "email", "team_size", "consent", "consent", "BUTTON"]
    assert "_hp" not in visited
    await page.close()


async def test_the_hosted_page_has_no_serious_accessibility_findings(
    browser: Browser, site: Site, tenant: Tenant
) -> None:
    if not await asyncio.to_thread(AXE.exists):
        _required(f"axe-core ({AXE}; `make install` fetches it)")
    form = await create_form(site.api, tenant)
    results = {}
    for name, width in (("desktop", 1280), ("phone", 390)):
        context = await browser.new_context(bypass_csp=True, viewport={"width": width, "height": 900})
        page = await context.new_page()
        await page.goto(f"{site.base}/f/{form['slug']}")
        if SCREENSHOTS:
            await page.screenshot(path=f"{SCREENSHOTS}/hosted-{name}.png", full_page=True)
        results[name] = await axe_violations(page)
        await page.get_by_role("button", name="Send").click()  # the page with every error shown
        await page.get_by_role("alert").wait_for()
        results[f"{name} with errors"] = await axe_violations(page)
        await context.close()

    assert serious_findings(results) == {name: [] for name in results}


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = await page.evaluate("async () => (await axe.run()).violations")
    return violations


def serious_findings(results: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[str, str]]]:
    """The serious and critical findings of each page (every finding's id is printed, for the log)."""
    print(json.dumps({name: [v["id"] for v in found] for name, found in results.items()}))
    return {
        name: [(v["id"], v["impact"]) for v in violations if v["impact"] in {"serious", "critical"}]
        for name, violations in results.items()
    }
