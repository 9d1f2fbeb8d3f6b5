"""Spam: honeypot, time trap and origin checks; spam is answered like a lead, stored, and never delivered."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

from ingest.spam import issue_render_token
from tests.conftest import make_settings
from tests.ingest.conftest import add_endpoint, create_form, token, valid

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


def _post(**extra: Any) -> dict[str, Any]:
    return {"name": "Bot", "email": "bot@example.com", "consent": "sales_contact", **extra}


async def _verdicts(client: Client, tenant: Tenant) -> list[tuple[str, str | None]]:
    items = (await client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]
    return [(item["verdict"], item["spam_reason"]) for item in reversed(items)]


def _token(kind: str, settings: Settings, form_id: str) -> str:
    """A render token as a browser, a hasty bot, a stale page or a forger would send it."""
    if kind == "none":
        return ""
    if kind == "foreign":  # well-formed, but signed with another installation's key
        other = make_settings("sqlite+aiosqlite:///unused.db", secret_key="k" * 40)
        return issue_render_token(other, form_id=form_id, issued_at=time.time() - 60)
    if kind == "other_form":
        return token(settings, "form_someotherform00000000000")
    age = {"fresh": 10.0, "too_fast": 0.5, "expired": 3 * 86_400.0}[kind]
    return token(settings, form_id, age=age)


@pytest.mark.parametrize(
    ("kind", "headers", "extra", "reason"),
    [
        ("fresh", {}, {"_hp": "http://spam.example"}, "honeypot"),
        ("too_fast", {}, {}, "too_fast"),
        ("expired", {}, {}, "render_token_expired"),
        ("other_form", {}, {}, "render_token_invalid"),
        ("foreign", {}, {}, "render_token_invalid"),
        ("none", {}, {}, "no_render_token"),
        ("fresh", {"Origin": "https://evil.example"}, {}, "origin"),
        ("fresh", {"Referer": "https://evil.example/page"}, {}, "origin"),
        ("fresh", {"Origin": "null"}, {}, "origin"),
    ],
)
async def test_spam_gets_the_same_answer_as_a_lead_and_is_stored_but_not_delivered(
    app_client: Client,
    tenant: Tenant,
    receiver: Receiver,
    ingest_settings: Settings,
    kind: str,
    headers: dict[str, str],
    extra: dict[str, str],
    reason: str,
) -> None:
    form = await create_form(app_client, tenant, settings={"allowed_origins": ["https://www.example.com"]})
    await add_endpoint(app_client, tenant, receiver.url)
    body = _post(_t=_token(kind, ingest_settings, form["id"]), **extra)

    spam = await app_client.post(f"/f/{form['slug']}", data=body, headers=headers, follow_redirects=False)
    human = await app_client.post(
        f"/f/{form['slug']}",
        data={**body, "_hp": "", "_t": token(ingest_settings, form["id"]), "email": "human@example.com"},
        headers={"Origin": "https://www.example.com"},
        follow_redirects=False,
    )

    thanks = f"/f/{form['slug']}/thanks?r="
    assert spam.status_code == human.status_code == 303
    assert spam.headers["location"].startswith(thanks)  # a receipt link of its own, like every lead's
    assert human.headers["location"].startswith(thanks)
    assert await _verdicts(app_client, tenant) == [("spam", reason), ("accepted", None)]
    await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1
    assert b"human@example.com" in receiver.requests[0][1]
    leads = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"]
    assert [lead["email"] for lead in leads] == ["human@example.com"]


async def test_json_clients_may_post_without_a_render_token_but_a_bad_one_is_still_spam(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)

    plain = await app_client.post(f"/f/{form['slug']}", json=valid())
    fast = await app_client.post(
        f"/f/{form['slug']}", json=valid(email="b@example.com", _t=token(ingest_settings, form["id"], age=0))
    )

    assert plain.status_code == fast.status_code == 201
    assert fast.json()["status"] == "accepted"
    assert await _verdicts(app_client, tenant) == [("accepted", None), ("spam", "too_fast")]


async def test_a_form_without_allowed_origins_accepts_posts_from_any_site(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    body = _post(_t=token(ingest_settings, form["id"]))

    await app_client.post(f"/f/{form['slug']}", data=body, headers={"Origin": "https://anywhere.example"})

    assert await _verdicts(app_client, tenant) == [("accepted", None)]
