"""The endpoints admin API, with the SSRF guard on as in production."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from delivery.models import WebhookEndpoint
from delivery.outbox import enqueue
from delivery.signing import new_secret
from tests.conftest import make_settings, new_tenant

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "not a url",
        "https://user:pw@1.1.1.1/hook",
        "https://no-such-host.invalid/hook",
    ],
)
async def test_unsafe_or_bad_urls_are_422(client: Client, tenant: Tenant, url: str) -> None:
    response = await client.post("/api/v1/endpoints", json={"url": url}, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "url"


async def test_refusing_a_name_does_not_reveal_the_address_it_resolves_to(client: Client, tenant: Tenant) -> None:
    # localhost resolves to loopback from /etc/hosts: an internal name, looked up without any DNS traffic.
    parked = await client.post("/api/v1/endpoints", json={"url": "https://93.184.216.34/hook"}, headers=tenant.headers)
    url = {"url": "http://localhost:8080/hook"}
    created = await client.post("/api/v1/endpoints", json=url, headers=tenant.headers)
    changed = await client.patch(f"/api/v1/endpoints/{parked.json()['id']}", json=url, headers=tenant.headers)

    for refused in (created, changed):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        error = refused.json()["errors"][0]
        assert (error["field"], error["code"]) == ("url", "unsafe_url")
        assert "localhost resolves to a private or reserved address" in error["message"]
        for address in ("127.0.0.1", "::1", "127.", "loopback"):
            assert address not in refused.text


async def test_an_endpoint_is_created_with_a_secret_shown_once(client: Client, tenant: Tenant) -> None:
    created = await client.post(
        "/api/v1/endpoints",
        json={"url": "https://1.1.1.1/hook", "description": "CRM", "event_types": ["lead.created", "lead.created"]},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("ep_")
    assert body["event_types"] == ["lead.created"]
    assert body["status"] == "enabled"
    secret = body["secret"]
    assert secret.startswith("whsec_")
    listing = await client.get("/api/v1/endpoints", headers=tenant.headers)
    one = await client.get(f"/api/v1/endpoints/{body['id']}", headers=tenant.headers)
    assert secret not in listing.text
    assert secret not in one.text
    audit = await client.get("/api/v1/audit-events", headers=tenant.headers)
    assert secret not in audit.text


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://1.1.1.1/", "event_types": ["Lead Created"]},
        {"url": "https://1.1.1.1/", "rate_limit_per_second": 0},
        {"url": "https://1.1.1.1/", "secret": "whsec_mine"},
        {"url": ""},
        {},
    ],
)
async def test_bad_endpoint_bodies_are_422(client: Client, tenant: Tenant, body: dict[str, object]) -> None:
    response = await client.post("/api/v1/endpoints", json=body, headers=tenant.headers)
    assert response.status_code == 422


async def test_update_disable_and_delete(client: Client, tenant: Tenant) -> None:
    endpoint = (
        await client.post("/api/v1/endpoints", json={"url": "https://1.1.1.1/a"}, headers=tenant.headers)
    ).json()
    url = f"/api/v1/endpoints/{endpoint['id']}"
    changed = await client.patch(url, json={"url": "https://8.8.8.8/b", "status": "disabled"}, headers=tenant.headers)
    assert changed.status_code == 200
    assert changed.json()["status"] == "disabled"
    assert changed.json()["disabled_reason"] == "disabled through the API"
    assert (await client.patch(url, json={"url": "http://10.0.0.1/"}, headers=tenant.headers)).status_code == 422
    enabled = await client.patch(url, json={"status": "enabled"}, headers=tenant.headers)
    assert enabled.json()["disabled_reason"] is None
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).status_code == 404


async def test_another_workspaces_endpoints_are_not_found(client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = (
        await client.post("/api/v1/endpoints", json={"url": "https://1.1.1.1/"}, headers=other_tenant.headers)
    ).json()
    url = f"/api/v1/endpoints/{theirs['id']}"
    for response in (
        await client.get(url, headers=tenant.headers),
        await client.patch(url, json={"description": "x"}, headers=tenant.headers),
        await client.post(f"{url}/rotate-secret", headers=tenant.headers),
        await client.post(f"{url}/test", headers=tenant.headers),
        await client.post(f"{url}/recover", json={"since": "2026-01-01T00:00:00Z"}, headers=tenant.headers),
        await client.delete(url, headers=tenant.headers),
    ):
        assert response.status_code == 404
    assert (await client.get("/api/v1/endpoints", headers=tenant.headers)).json()["items"] == []


async def test_the_guard_refuses_at_send_time_what_slipped_past_the_save_time_check(
    database_url: str, db: Database, receiver: Receiver
) -> None:
    """A name that resolved to a public address when saved may resolve to a private one later (DNS rebinding).
    Here the row is written directly, as if it had passed; the worker must still refuse to connect."""
    tenant = await new_tenant(db, "Acme")
    async with db.session(write=True) as session:
        session.add(
            WebhookEndpoint(
                id="ep_rebound",
                workspace_id=tenant.workspace_id,
                url=receiver.url,
                event_types=[],
                secrets=[{"secret": new_secret(), "expires_at": None}],
            )
        )
    settings = make_settings(database_url, delivery_retry_schedule="0.1", delivery_poll_seconds="0.05")
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        await client.post("/api/v1/endpoints/ep_rebound/test", headers=tenant.headers)
        for _ in range(100):
            failed = (await client.get("/api/v1/deliveries?status=failed", headers=tenant.headers)).json()["items"]
            if failed:
                break
            await asyncio.sleep(0.05)
        assert failed, "the delivery should have failed"
        detail = (await client.get(f"/api/v1/deliveries/{failed[0]['id']}", headers=tenant.headers)).json()
    assert receiver.requests == []
    assert all(attempt["error"].startswith("refused:") for attempt in detail["attempts"])
    assert "loopback" in detail["attempts"][0]["error"]


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("GET", "/api/v1/deliveries?since=2026-01-01T00:00:00", None, 422),
        ("GET", "/api/v1/deliveries?until=2026-01-01T00:00:00", None, 422),
        ("GET", "/api/v1/deliveries?since=9999-12-31T23:59:59-23:59", None, 422),
        ("GET", "/api/v1/deliveries?cursor=dlv%00x", None, 400),
        ("GET", "/api/v1/endpoints/ep%00x", None, 400),
        ("POST", "/api/v1/endpoints", {"url": "https://1.1.1.1/", "description": "a\u0000b"}, 400),
    ],
)
async def test_odd_input_is_a_problem_never_a_500(
    client: Client, tenant: Tenant, method: str, url: str, body: dict[str, str] | None, status: int
) -> None:
    response = await client.request(method, url, json=body, headers=tenant.headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_recover_with_an_out_of_range_time_is_422(client: Client, tenant: Tenant) -> None:
    endpoint = (await client.post("/api/v1/endpoints", json={"url": "https://1.1.1.1/"}, headers=tenant.headers)).json()
    response = await client.post(
        f"/api/v1/endpoints/{endpoint['id']}/recover",
        json={"since": "0001-01-01T00:00:00+14:00"},
        headers=tenant.headers,
    )
    assert response.status_code == 422


async def test_a_disabled_endpoint_refuses_test_events_and_deletion_fails_what_was_pending(
    client: Client, tenant: Tenant, db: Database
) -> None:
    endpoint = (await client.post("/api/v1/endpoints", json={"url": "https://1.1.1.1/"}, headers=tenant.headers)).json()
    url = f"/api/v1/endpoints/{endpoint['id']}"
    await client.patch(url, json={"status": "disabled"}, headers=tenant.headers)
    assert (await client.post(f"{url}/test", headers=tenant.headers)).status_code == 409
    await client.patch(url, json={"status": "enabled"}, headers=tenant.headers)
    await client.patch(url, json={"status": "disabled"}, headers=tenant.headers)  # parks what is queued
    async with db.session(write=True) as session:
        await enqueue(session, workspace_id=tenant.workspace_id, event_type="lead.created", payload={})
        await enqueue(session, workspace_id=tenant.workspace_id, event_type="lead.created", payload={})
    await client.patch(url, json={"status": "enabled", "recover_since": "2000-01-01T00:00:00Z"}, headers=tenant.headers)
    await client.patch(url, json={"status": "disabled"}, headers=tenant.headers)
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    failed = (await client.get("/api/v1/deliveries?status=failed", headers=tenant.headers)).json()["items"]
    assert len(failed) == 2
    assert {d["last_error"] for d in failed} == {"the endpoint was deleted"}
    retried = await client.post(f"/api/v1/deliveries/{failed[0]['id']}/retry", headers=tenant.headers)
    assert retried.status_code == 409
