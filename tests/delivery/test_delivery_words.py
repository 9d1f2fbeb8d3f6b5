"""What the endpoint's owner reads: a test event worth receiving, failures in words, refusals that say what to do."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from litestar.testing import AsyncTestClient

from app import create_app
from tests.conftest import make_settings
from tests.ingest.conftest import free_port
from tests.webhooks import eventually

if TYPE_CHECKING:
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


async def test_a_test_event_carries_a_payload_that_says_what_it_is(
    live: Client, tenant: Tenant, receiver: Receiver
) -> None:
    endpoint = (await live.post("/api/v1/endpoints", json={"url": receiver.url}, headers=tenant.headers)).json()

    sent = await live.post(f"/api/v1/endpoints/{endpoint['id']}/test", headers=tenant.headers)
    await receiver.wait_for(1)
    body = json.loads(receiver.requests[0][1])

    assert sent.status_code == 202
    assert body["type"] == "webhook.test"
    data = body["data"]
    assert data["endpoint_id"] == endpoint["id"]
    assert data["workspace_id"] == tenant.workspace_id
    assert "test" in data["message"].lower()
    assert data["sent_at"].endswith("Z")


async def _attempt_error(client: Client, tenant: Tenant, url: str) -> str:
    endpoint = (await client.post("/api/v1/endpoints", json={"url": url}, headers=tenant.headers)).json()
    await client.post(f"/api/v1/endpoints/{endpoint['id']}/test", headers=tenant.headers)
    found: dict[str, Any] = {}

    async def attempted() -> bool:
        items = (await client.get("/api/v1/deliveries", headers=tenant.headers)).json()["items"]
        if not items:
            return False
        one = (await client.get(f"/api/v1/deliveries/{items[0]['id']}", headers=tenant.headers)).json()
        found.update(one)
        return bool(one["attempts"])

    await eventually(attempted)
    return str(found["attempts"][0]["error"])


async def test_a_refused_connection_is_told_in_words_not_in_the_http_librarys_own(live: Client, tenant: Tenant) -> None:
    port = free_port()

    error = await _attempt_error(live, tenant, f"http://127.0.0.1:{port}/hook")

    assert "ssl" not in error.lower()  # aiohttp says "ssl:default" even for http URLs
    assert "ClientConnectorError" not in error
    assert error == f"could not connect to 127.0.0.1:{port}: the connection was refused (is the receiver running?)"


async def test_a_loopback_url_is_refused_with_the_setting_that_allows_it_in_development(
    database_url: str, tenant: Tenant
) -> None:
    settings = make_settings(database_url)  # the SSRF guard on, as in production
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        loopback = await client.post(
            "/api/v1/endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=tenant.headers
        )
        private = await client.post("/api/v1/endpoints", json={"url": "http://10.0.0.5/hook"}, headers=tenant.headers)
        scheme = await client.post("/api/v1/endpoints", json={"url": "ftp://example.com/x"}, headers=tenant.headers)

    assert loopback.status_code == private.status_code == scheme.status_code == 422
    assert loopback.headers["content-type"].startswith("application/problem+json")
    for refused in (loopback, private):
        message = refused.json()["errors"][0]["message"]
        assert "LEADWIRE_ALLOW_PRIVATE_WEBHOOK_TARGETS=true allows" in message
        assert "development" in message
    assert "LEADWIRE_ALLOW_PRIVATE" not in scheme.text  # the setting would not help there
