"""Console sessions live on the server, and a new secret crosses its one redirect in the session's row, encrypted.

Signing out ends the session itself, not just the browser's copy of the cookie; "Sign out everywhere" ends every
session of the member. No cookie ever holds a secret, in clear or base64 under a signature, and a second visit to
the page that showed one shows nothing (issue 14, items 4 and 5).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import zlib
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sqlalchemy import select, text, update

from core.database import utcnow
from tests.console.test_console import browser, console_settings, sign_in  # noqa: F401 (fixtures)
from workspaces.models import ConsoleSession

if TYPE_CHECKING:
    import httpx

    from core.database import Database
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver

COOKIE = "leadwire_console"


def _set_cookies(*responses: httpx.Response) -> list[tuple[str, str]]:
    """Every cookie these responses set, in order, as (name, value)."""
    found: list[tuple[str, str]] = []
    for response in responses:
        for header in response.headers.get_list("set-cookie"):
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            found.extend((name, morsel.value) for name, morsel in parsed.items())
    return found


def _readable(value: str) -> str:
    """A cookie's value and all that base64 and zlib may hide in it: an itsdangerous value is dot-separated
    URL-safe base64, its payload compressed (and prefixed with a dot) when that is shorter."""
    value = unquote(value.strip('"'))
    found = [value]
    for part in value.split("."):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (ValueError, binascii.Error):
            continue
        found.append(raw.decode("latin-1"))
        with contextlib.suppress(zlib.error):
            found.append(zlib.decompress(raw).decode("latin-1"))
    return "\n".join(found)


async def _replay(client: Client, path: str, cookies: dict[str, str]) -> httpx.Response:
    """GET ``path`` sending exactly ``cookies`` (an explicit Cookie header: the client's jar stays out of it)."""
    return await client.get(path, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})


async def _raw_reveals(db: Database) -> list[Any]:
    """The ``reveal`` column as the database holds it, bypassing the model's decryption."""
    async with db.session(write=False) as session:
        return [row[0] for row in await session.execute(text("SELECT reveal FROM console_session"))]


async def test_a_signed_out_session_cannot_be_replayed(browser: Client, tenant: Tenant) -> None:  # noqa: F811
    csrf = await sign_in(browser, tenant)
    cookie = browser.cookies.get(COOKIE)
    assert cookie
    signed_out = await browser.post("/console/sign-out", data={"csrf": csrf})
    replayed = await _replay(browser, "/console", {COOKIE: cookie})
    replayed_post = await browser.post(
        "/console/forms", data={"csrf": csrf, "name": "After sign-out"}, headers={"Cookie": f"{COOKIE}={cookie}"}
    )
    forms = (await browser.get("/api/v1/forms", headers=tenant.headers)).json()["items"]

    assert (signed_out.status_code, signed_out.headers.get("location")) == (303, "/console/sign-in?done=signed_out")
    assert (replayed.status_code, replayed.headers.get("location")) == (303, "/console/sign-in")
    assert (replayed_post.status_code, replayed_post.headers.get("location")) == (303, "/console/sign-in")
    assert forms == []


async def test_signing_out_everywhere_ends_every_session_of_the_member(
    browser: Client,  # noqa: F811
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    await sign_in(browser, tenant)
    session_b = browser.cookies.get(COOKIE)
    await sign_in(browser, other_tenant)
    other_workspace = browser.cookies.get(COOKIE)
    csrf_a = await sign_in(browser, tenant)
    session_a = browser.cookies.get(COOKIE)
    assert session_a
    assert session_b
    assert other_workspace
    settings = await browser.get("/console/account")
    without_token = await browser.post("/console/sign-out-everywhere", data={})
    everywhere = await browser.post("/console/sign-out-everywhere", data={"csrf": csrf_a})
    after = {
        name: await _replay(browser, "/console", {COOKIE: value})
        for name, value in (("a", session_a), ("b", session_b), ("other", other_workspace))
    }
    events = (await browser.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]

    assert 'action="/console/sign-out-everywhere"' in settings.text
    assert without_token.status_code == 403
    assert everywhere.status_code == 303
    assert everywhere.headers["location"] == "/console/sign-in?done=signed_out_everywhere"
    assert "max-age=0" in everywhere.headers["set-cookie"].lower()
    assert (after["a"].status_code, after["a"].headers.get("location")) == (303, "/console/sign-in")
    assert (after["b"].status_code, after["b"].headers.get("location")) == (303, "/console/sign-in")
    assert after["other"].status_code == 200  # another member's session is not this member's to end
    assert events[0]["action"] == "console.signed_out_everywhere"
    assert events[0]["target_type"] == "member"
    assert events[0]["details"] == {"sessions": 2}


async def test_a_new_secret_is_in_no_cookie_and_a_second_visit_shows_nothing(
    browser: Client,  # noqa: F811
    tenant: Tenant,
    receiver: Receiver,
) -> None:
    csrf = await sign_in(browser, tenant)
    created = await browser.post("/console/webhooks", data={"csrf": csrf, "url": receiver.url})
    page = created.headers["location"]
    sent_with_it = {COOKIE: browser.cookies.get(COOKIE) or "", **dict(_set_cookies(created))}
    shown = await browser.get(page)
    secret = re.search(r'id="secret" value="(whsec_[^"]+)"', shown.text)
    assert secret
    again = await browser.get(page)
    replayed = await _replay(browser, page, sent_with_it)  # every cookie the redirect set, sent again at once
    made_key = await browser.post("/console/keys", data={"csrf": csrf, "name": "CRM sync"})
    key_page = await browser.get(made_key.headers["location"])
    key = re.search(r'id="secret" value="(lw_[0-9a-z]+)"', key_page.text)
    assert key

    for _, cookie in _set_cookies(created, shown, again, replayed, made_key, key_page):
        readable = _readable(cookie)
        assert secret.group(1) not in readable
        assert secret.group(1).removeprefix("whsec_") not in readable
        assert key.group(1) not in readable
    for answer in (again, replayed):
        assert (answer.status_code, answer.headers.get("location")) == (
            303,
            f"{page.removesuffix('/secret')}?done=secret_shown",
        )
        assert secret.group(1) not in answer.text


async def test_the_secret_on_its_way_is_stored_encrypted_and_only_until_it_is_shown(
    browser: Client,  # noqa: F811
    tenant: Tenant,
    db: Database,
    console_settings: Settings,  # noqa: F811
) -> None:
    csrf = await sign_in(browser, tenant)
    made = await browser.post("/console/keys", data={"csrf": csrf, "name": "CRM sync"})
    waiting = await _raw_reveals(db)
    shown = await browser.get(made.headers["location"])
    key = re.search(r'id="secret" value="(lw_[0-9a-z]+)"', shown.text)
    assert key
    afterwards = await _raw_reveals(db)

    assert [value for value in waiting if value is not None], "the secret waits in the session's row"
    for value in waiting:
        stored = value if isinstance(value, str) else repr(value)
        assert key.group(1) not in stored
        assert "leadwire_encrypted" in stored  # the EncryptedJSON envelope
    assert afterwards == [None]  # taken in the transaction that showed it
    path = console_settings.sqlite_path
    if path is not None:  # the bytes on disk, write-ahead log included
        on_disk = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        assert key.group(1).encode() not in on_disk


async def test_a_session_records_when_it_was_last_used(browser: Client, tenant: Tenant, db: Database) -> None:  # noqa: F811
    await sign_in(browser, tenant)
    long_ago = utcnow() - timedelta(minutes=10)
    async with db.session(write=True) as session:
        await session.execute(update(ConsoleSession).values(last_seen_at=long_ago))
    page = await browser.get("/console/forms")  # a GET: its own transaction only reads
    async with db.session(write=False) as session:
        seen = await session.scalar(select(ConsoleSession.last_seen_at))

    assert page.status_code == 200
    assert seen is not None
    assert seen > long_ago + timedelta(minutes=9)
