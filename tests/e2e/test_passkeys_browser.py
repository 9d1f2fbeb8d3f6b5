"""Passkeys in Debian's Chromium, with a virtual authenticator (the DevTools protocol's WebAuthn domain: a CTAP2
authenticator that keeps discoverable credentials and verifies its user): a member adds one from "Your account",
signs out, signs in with it and no password, gives it as the second step after their password, and loses it to
removes it (with their password), after which it opens nothing.

WebAuthn needs a secure context and a domain name for its relying party id: Chromium treats ``http://localhost`` as
secure, and an address such as 127.0.0.1 can never be a relying party id, so the server's public base URL is
``http://localhost:PORT`` here (Chromium's resolver is told that localhost is 127.0.0.1, where the server listens).
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from tests.conftest import make_settings
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, _required
from tests.ingest.conftest import INGEST, free_port, serve
from workspaces.models import Passkey

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, Page

    from core.database import Database
    from tests.conftest import Tenant

pytestmark = pytest.mark.slow

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        _required(f"Chromium ({CHROMIUM})")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP localhost 127.0.0.1"]
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[str]:
    """The console's address, at ``http://localhost:PORT``."""
    port = free_port()
    settings = make_settings(
        database_url, **{**INGEST, "run_worker": "false", "public_base_url": f"http://localhost:{port}"}
    )
    async with serve(settings, port=port):
        yield f"http://localhost:{port}/console"


async def _with_password(page: Page, console: str, tenant: Tenant) -> None:
    await page.goto(f"{console}/sign-in")
    await page.get_by_label("Email address").fill(tenant.email)
    await page.get_by_label("Password").fill(tenant.password)
    await page.get_by_role("button", name="Sign in", exact=True).click()


async def _sign_out(page: Page, console: str) -> None:
    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.wait_for_url(f"{console}/sign-in?done=signed_out")


async def test_a_passkey_signs_in_without_a_password_and_is_a_second_factor_until_an_operator_clears_it(
    chromium: Browser, console: str, tenant: Tenant, db: Database
) -> None:
    context = await chromium.new_context()
    page = await context.new_page()
    devtools = await context.new_cdp_session(page)
    await devtools.send("WebAuthn.enable", {"enableUI": False})
    authenticator = (await devtools.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR}))[
        "authenticatorId"
    ]

    await _with_password(page, console, tenant)
    await page.wait_for_url(console)
    await page.goto(f"{console}/account/mfa")
    await page.get_by_label("Name of the new passkey").fill("Work laptop")
    await page.get_by_role("button", name="Add a passkey").click()
    await page.wait_for_url(f"{console}/account/recovery-codes")
    codes = (await page.locator("#secret").input_value()).split()
    await page.get_by_role("link", name="I have kept them").click()
    await page.get_by_role("cell", name="Work laptop", exact=True).wait_for()
    stored = (await devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    await _sign_out(page, console)

    await page.get_by_role("button", name="Sign in with a passkey").click()  # no password typed
    await page.wait_for_url(console)
    without_password = await page.get_by_role("navigation", name="Console").inner_text()
    await _sign_out(page, console)

    await _with_password(page, console, tenant)
    await page.wait_for_url(f"{console}/sign-in/verify")
    await page.get_by_role("button", name="Use a passkey").click()
    await page.wait_for_url(console)
    answer = await page.request.get(
        console.removesuffix("/console") + "/api/v1/audit-events", headers={"Authorization": f"Bearer {tenant.key}"}
    )
    events = (await answer.json())["items"]

    await page.goto(f"{console}/account/mfa")
    await page.get_by_placeholder("Your password").fill("not the password at all")
    await page.get_by_role("button", name="Remove Work laptop").click()
    await page.get_by_text("Your password is not right: the passkey stays.").wait_for()
    await page.get_by_placeholder("Your password").fill(tenant.password)
    await page.get_by_role("button", name="Remove Work laptop").click()
    await page.get_by_text("The passkey is removed").wait_for()
    async with db.session(write=False) as session:
        left = await session.scalar(select(func.count()).select_from(Passkey))
    await _sign_out(page, console)
    await page.get_by_role("button", name="Sign in with a passkey").click()
    await page.get_by_text("not one of this server's accounts").wait_for()
    await _with_password(page, console, tenant)
    await page.wait_for_url(console)  # no second step any more
    await context.close()

    assert len(codes) == 10
    assert len(stored) == 1
    assert stored[0]["isResidentCredential"] is True
    assert "Members" in without_password
    methods = [e["details"].get("method") for e in events if e["action"] == "member.signed_in"]
    assert methods[:2] == ["passkey", "passkey"]
    assert "member.passkey_added" in [e["action"] for e in events]
    assert left == 0
