"""Password reset by mail: "Forgot your password?" answers alike whether or not the address has an account, the link
arrives at a real SMTP server on 127.0.0.1, works once within the hour and ends every session; requests are throttled
per address typed and per client; without SMTP the page names the operator's command."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import update

from core.database import utcnow
from tests.console.test_console import sign_in
from tests.console.test_invitations import _client
from tests.mail import link_in
from workspaces import resets
from workspaces.models import PasswordReset

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant
    from tests.mail import Mailbox

SMTP_FROM = "Leadwire <team@example.com>"
NEW_PASSWORD = "a lighthouse in the fog"


async def test_a_reset_link_is_mailed_only_to_an_account_works_once_and_ends_every_session(
    database_url: str, tenant: Tenant, mailbox: Mailbox
) -> None:
    smtp = {"smtp_url": mailbox.url, "smtp_from": SMTP_FROM}
    async with _client(database_url, **smtp) as signed_in, _client(database_url, **smtp) as browser:
        await sign_in(signed_in, tenant)
        sign_in_page = await browser.get("/console/sign-in")
        form = await browser.get("/console/forgot-password")
        unknown = await browser.post("/console/forgot-password", data={"email": "nobody@example.com"})
        known = await browser.post("/console/forgot-password", data={"email": tenant.email.upper()})
        answer = await browser.get(known.headers["location"])
        [message] = await mailbox.wait_for(1)
        await asyncio.sleep(0.3)  # a message to the unknown address would have arrived by now
        path = urlsplit(link_in(message, "/console/reset-password/")).path
        opened = await browser.get(path)
        weak = await browser.post(path, data={"password": "password1234"})
        done = await browser.post(path, data={"password": NEW_PASSWORD})
        again = await browser.get(path)
        ended = await signed_in.get("/console")
        old = await browser.post("/console/sign-in", data={"email": tenant.email, "password": tenant.password})
        new = await browser.post("/console/sign-in", data={"email": tenant.email, "password": NEW_PASSWORD})
        events = (await browser.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]

    assert 'href="/console/forgot-password"' in sign_in_page.text
    assert 'name="email"' in form.text
    assert (unknown.status_code, unknown.headers["location"]) == (known.status_code, known.headers["location"])
    assert known.status_code == 303
    assert "if an account exists for that address, a link is on its way" in answer.text.lower()
    assert len(mailbox.messages) == 1
    assert message["To"] == tenant.email
    assert opened.status_code == 200
    assert weak.status_code == 422
    assert "one of the most common passwords" in weak.text
    assert (done.status_code, done.headers["location"]) == (303, "/console/sign-in?done=password_reset")
    assert again.status_code == 404
    assert (ended.status_code, ended.headers["location"]) == (303, "/console/sign-in")  # every session ended
    assert old.status_code == 401
    assert new.status_code == 303
    actions = [e["action"] for e in events]
    assert "member.password_reset_requested" in actions
    reset = next(e for e in events if e["action"] == "member.password_reset")
    assert reset["actor"] == f"member:{tenant.member_id}"
    assert reset["details"]["sessions_ended"] == 1


async def test_without_mail_an_operator_resets_and_requests_are_throttled_alike_for_any_address(
    database_url: str, tenant: Tenant, mailbox: Mailbox, db: Database
) -> None:
    async with _client(database_url) as no_mail:
        page = await no_mail.get("/console/forgot-password")
        posted = await no_mail.post("/console/forgot-password", data={"email": tenant.email})
    limits = {"password_reset_limit_account": "2/hour", "password_reset_limit_address": "5/hour"}
    async with _client(database_url, smtp_url=mailbox.url, smtp_from=SMTP_FROM, **limits) as browser:
        known = [await browser.post("/console/forgot-password", data={"email": tenant.email}) for _ in range(3)]
        unknown = [await browser.post("/console/forgot-password", data={"email": "no@example.com"}) for _ in range(3)]
        from_here = await browser.post("/console/forgot-password", data={"email": "third@example.com"})
        async with db.session(write=True) as session:
            made = await resets.make_reset(session, email=tenant.email)
            assert made is not None
            await session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        expired = await browser.get(f"/console/reset-password/{made[1]}")

    assert page.status_code == 200
    assert "leadwire member reset-password" in page.text
    assert 'name="email"' not in page.text
    assert posted.status_code == 200
    assert "leadwire member reset-password" in posted.text
    assert [r.status_code for r in known] == [303, 303, 429]
    assert [r.status_code for r in unknown] == [303, 303, 429]  # an unknown address is counted the same way
    assert "Too many" in known[2].text
    assert int(known[2].headers["retry-after"]) >= 1
    assert from_here.status_code == 429  # five requests from this client within the hour
    assert expired.status_code == 404
