"""Hostile bodies on every admin route that takes one: always a 4xx problem (or a harmless 2xx), never a 500, and
never a change to another workspace. Markup stored through the API comes back out escaped on the pages."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, valid
from tests.workspaces.test_every_admin_route import _PARAM, ADMIN_ROUTES

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.conftest import Client, Tenant

BODY_ROUTES = [(method, path) for method, path in ADMIN_ROUTES if method in {"POST", "PATCH", "PUT"}]
INJECTION = "x\r\nSet-Cookie: stolen=1\r\nX-Injected: 1"
HOSTILE: dict[str, tuple[bytes, str]] = {
    "truncated JSON": (b'{"name": "a"', "application/json"),
    "invalid UTF-8": (b'{"name": "\xff\xfe"}', "application/json"),
    "deep nesting": (b"[" * 50_000 + b"]" * 50_000, "application/json"),
    "deep value": (b'{"name":' + b"[" * 30_000 + b"]" * 30_000 + b"}", "application/json"),
    "2 MB": (json.dumps({"name": "x" * 2_000_000}).encode(), "application/json"),
    "10,000 fields": (json.dumps({f"f{i}": "v" for i in range(10_000)}).encode(), "application/json"),
    "NUL bytes": (b'{"name": "a\\u0000b", "url": "https://93.184.216.34/\\u0000"}', "application/json"),
    "header injection": (
        json.dumps({"name": INJECTION, "url": INJECTION, "description": INJECTION}).encode(),
        "application/json",
    ),
    "not an object": (b"[1, 2, 3]", "application/json"),
    "a string": (b'"hello"', "application/json"),
    "null": (b"null", "application/json"),
    "wrong types": (
        json.dumps({"name": 1, "fields": "x", "settings": [], "url": {}, "status": True}).encode(),
        "application/json",
    ),
    "XML": (b"<form><name>a</name></form>", "application/xml"),
    "urlencoded": (b"name=a&url=b", "application/x-www-form-urlencoded"),
}


@pytest.fixture
async def quiet_client(database_url: str) -> AsyncIterator[Client]:
    """The app without its worker: no delivery leaves the machine while bodies are thrown at it."""
    settings = make_settings(database_url, **{**INGEST, "run_worker": "false"})
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        yield client


async def _things_of(client: Client, tenant: Tenant) -> dict[str, str]:
    """One of everything a path can name, made for ``tenant``: the values to put in the route's parameters."""
    form = await create_form(client, tenant)
    endpoint = await client.post(
        "/api/v1/endpoints", json={"url": "https://93.184.216.34/hooks"}, headers=tenant.headers
    )
    source = await client.post(
        "/api/v1/sources", json={"kind": "standard_webhooks", "form_id": form["id"]}, headers=tenant.headers
    )
    key = await client.post("/api/v1/api-keys", json={"name": "spare"}, headers=tenant.headers)
    assert (await client.post(f"/f/{form['slug']}", json=valid())).status_code == 201
    lead = (await client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]
    delivery = (await client.get("/api/v1/deliveries", headers=tenant.headers)).json()["items"][0]
    return {
        "form_id": form["id"],
        "endpoint_id": endpoint.json()["id"],
        "source_id": source.json()["id"],
        "key_id": key.json()["id"],
        "lead_id": lead["id"],
        "delivery_id": delivery["id"],
        "member_id": tenant.member_id,
        "fetch_id": "fetch_00000000000000000000000000",  # a Meta source's fetch: none exists, so the answer is 404
    }


async def _snapshot(client: Client, tenant: Tenant) -> dict[str, Any]:
    """Everything the workspace can read about itself through the API."""
    lists = (
        "forms",
        "endpoints",
        "sources",
        "api-keys",
        "audit-events",
        "deliveries",
        "leads",
        "submissions",
        "members",
    )
    snapshot: dict[str, Any] = {"workspace": (await client.get("/api/v1/workspace", headers=tenant.headers)).json()}
    for name in lists:
        response = await client.get(f"/api/v1/{name}", params={"limit": 100}, headers=tenant.headers)
        assert response.status_code == 200
        snapshot[name] = response.json()
    return snapshot


def test_the_body_routes_were_found() -> None:
    assert len(BODY_ROUTES) >= 14
    assert ("PATCH", "/api/v1/forms/{form_id:str}") in BODY_ROUTES


@pytest.mark.parametrize("kind", HOSTILE)
async def test_hostile_bodies_on_every_admin_route_are_4xx_and_leave_other_workspaces_alone(
    quiet_client: Client, tenant: Tenant, other_tenant: Tenant, kind: str
) -> None:
    client = quiet_client
    content, content_type = HOSTILE[kind]
    mine = await _things_of(client, tenant)
    await _things_of(client, other_tenant)
    before = await _snapshot(client, other_tenant)
    answered: dict[int, int] = {}
    for method, path in BODY_ROUTES:
        url = _PARAM.sub(lambda match: mine[match.group(1)], path)
        response = await client.request(
            method, url, content=content, headers={**tenant.headers, "Content-Type": content_type}
        )
        answered[response.status_code] = answered.get(response.status_code, 0) + 1
        assert response.status_code < 500, (kind, method, path, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), (method, path)
        assert "stolen" not in response.headers.get("set-cookie", "")
        assert "x-injected" not in response.headers
    assert await _snapshot(client, other_tenant) == before, "another workspace's data changed"
    assert sum(count for status, count in answered.items() if status >= 400) >= len(BODY_ROUTES) // 2, answered


async def test_markup_in_every_text_of_a_form_is_shown_as_text_on_its_pages(
    quiet_client: Client, tenant: Tenant
) -> None:
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    form = await create_form(
        quiet_client,
        tenant,
        name=f"Form {script}",
        fields=[
            {"name": "email", "type": "email", "required": True, "label": f"Email {script}", "help": script},
            {"name": "team", "type": "select", "label": script, "options": [script, "b"]},
        ],
        consents=[{"purpose": "sales_contact", "channel": "email", "text": f"I agree {script}", "required": True}],
        settings={"success_message": f"Thanks {script}"},
    )
    page = await quiet_client.get(f"/f/{form['slug']}")
    posted = await quiet_client.post(
        f"/f/{form['slug']}", json={"email": "a@example.com", "team": script, "consent": ["sales_contact"]}
    )
    thanks = await quiet_client.get(f"/f/{form['slug']}/thanks")
    embed = await quiet_client.get(f"/api/v1/forms/{form['id']}/embed", headers=tenant.headers)

    assert page.status_code == 200
    assert posted.status_code == 201, posted.text
    for html in (page.text, thanks.text):
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert" in page.text
    assert embed.status_code == 200
    for snippet in embed.json().values():  # the HTML the marketer pastes into their site
        assert "<script>alert" not in str(snippet)
