"""Posts from the marketer's own pages: a plain ``<form action=".../f/{slug}">`` without a render token.

Off by default (a browser post without a token is kept as spam); with ``accept_plain_posts`` such posts are leads,
and the honeypot and the origin check still apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.ingest.conftest import create_form, token

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Client, Tenant

_SITE = "https://www.example.com"


def _post(email: str, **extra: str) -> dict[str, Any]:
    # What a plain HTML form on the marketer's site sends: its own fields, the honeypot left empty, no ``_t``.
    return {"name": "Asha Rao", "email": email, "consent": "sales_contact", "_hp": "", **extra}


async def _verdicts(client: Client, tenant: Tenant) -> list[tuple[str, str, str | None]]:
    items = (await client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]
    return [(item["fields"]["email"], item["verdict"], item["spam_reason"]) for item in reversed(items)]


async def test_a_plain_html_form_on_the_marketers_site_is_a_lead_when_the_form_accepts_plain_posts(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant, settings={"allowed_origins": [_SITE], "accept_plain_posts": True})
    path = f"/f/{form['slug']}"
    own = {"Origin": _SITE, "Referer": f"{_SITE}/contact"}

    plain = await app_client.post(path, data=_post("plain@example.com"), headers=own, follow_redirects=False)
    elsewhere = await app_client.post(
        path, data=_post("evil@example.com"), headers={"Origin": "https://evil.example"}, follow_redirects=False
    )
    bot = await app_client.post(
        path, data=_post("bot@example.com", _hp="http://spam.example"), headers=own, follow_redirects=False
    )
    forged = await app_client.post(
        path, data=_post("forged@example.com", _t="not-a-token"), headers=own, follow_redirects=False
    )
    hosted = await app_client.post(
        path,
        data=_post("hosted@example.com", _t=token(ingest_settings, form["id"])),
        headers=own,
        follow_redirects=False,
    )

    assert form["settings"]["accept_plain_posts"] is True
    assert {plain.status_code, elsewhere.status_code, bot.status_code, forged.status_code, hosted.status_code} == {303}
    assert await _verdicts(app_client, tenant) == [
        ("plain@example.com", "accepted", None),
        ("evil@example.com", "spam", "origin"),  # the origin check still applies
        ("bot@example.com", "spam", "honeypot"),  # and so does the honeypot
        ("forged@example.com", "spam", "render_token_invalid"),  # a token that is sent must still be good
        ("hosted@example.com", "accepted", None),  # the hosted page keeps working
    ]


async def test_without_the_setting_a_plain_post_is_still_kept_as_spam(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant, settings={"allowed_origins": [_SITE]})

    await app_client.post(f"/f/{form['slug']}", data=_post("plain@example.com"), headers={"Origin": _SITE})

    assert form["settings"]["accept_plain_posts"] is False
    assert await _verdicts(app_client, tenant) == [("plain@example.com", "spam", "no_render_token")]


async def test_the_setting_is_changed_key_by_key_like_the_others(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)

    patched = await app_client.patch(
        f"/api/v1/forms/{form['id']}", json={"settings": {"accept_plain_posts": True}}, headers=tenant.headers
    )
    wrong = await app_client.patch(
        f"/api/v1/forms/{form['id']}", json={"settings": {"accept_plain_posts": "maybe"}}, headers=tenant.headers
    )

    assert patched.status_code == 200, patched.text
    assert patched.json()["settings"]["accept_plain_posts"] is True
    assert patched.json()["settings"]["default_phone_region"] == "IN"  # the others are kept
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith("application/problem+json")
