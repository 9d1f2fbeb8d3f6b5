"""Webhooks end to end: a real receiver on 127.0.0.1, the in-process worker, standardwebhooks verification."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from standardwebhooks import Webhook

from app import create_app
from core.database import utcnow
from delivery.models import Delivery, WebhookEndpoint
from delivery.outbox import enqueue
from tests.conftest import make_settings, new_tenant
from tests.delivery.conftest import FAST_WORKER
from tests.webhooks import eventually

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


async def add_endpoint(client: Client, tenant: Tenant, url: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/endpoints", json={"url": url, **extra}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def publish(db: Database, tenant: Tenant, event_type: str = "lead.created", **payload: Any) -> str:
    async with db.session(write=True) as session:
        message = await enqueue(session, workspace_id=tenant.workspace_id, event_type=event_type, payload=payload)
    return message.id


async def test_retried_deliveries_keep_their_id_and_verify(live: Client, db: Database, receiver: Receiver) -> None:
    tenant = await new_tenant(db, "Acme")
    secret = (await add_endpoint(live, tenant, receiver.url))["secret"]
    assert secret.startswith("whsec_")
    receiver.answer(500, 500)
    message_id = await publish(db, tenant, lead={"id": "lead_1", "email": "a@example.com"})
    await receiver.wait_for(3)

    assert {headers["webhook-id"] for headers, _ in receiver.requests} == {message_id}
    verifier = Webhook(secret)
    for headers, body in receiver.requests:
        event = verifier.verify(body, headers)
        assert event["type"] == "lead.created"
        assert event["data"] == {"lead": {"id": "lead_1", "email": "a@example.com"}}

    async def succeeded() -> bool:
        listing = await live.get("/api/v1/deliveries?status=succeeded", headers=tenant.headers)
        return len(listing.json()["items"]) == 1

    await eventually(succeeded)
    delivery = (await live.get("/api/v1/deliveries", headers=tenant.headers)).json()["items"][0]
    assert delivery["message_id"] == message_id
    assert delivery["attempt_count"] == 3
    detail = (await live.get(f"/api/v1/deliveries/{delivery['id']}", headers=tenant.headers)).json()
    assert [a["status_code"] for a in detail["attempts"]] == [500, 500, 200]
    assert detail["attempts"][0]["response_body"] == "answer 500"
    assert all(a["duration_ms"] >= 0 for a in detail["attempts"])
    assert detail["payload"]["lead"]["id"] == "lead_1"


async def test_nothing_is_sent_for_a_rolled_back_transaction(live: Client, db: Database, receiver: Receiver) -> None:
    tenant = await new_tenant(db, "Acme")
    await add_endpoint(live, tenant, receiver.url)

    async def enqueue_then_fail() -> None:
        async with db.session(write=True) as session:
            await enqueue(session, workspace_id=tenant.workspace_id, event_type="lead.created", payload={})
            raise RuntimeError("the caller's change failed")

    with contextlib.suppress(RuntimeError):
        await enqueue_then_fail()
    await asyncio.sleep(0.5)
    assert receiver.requests == []


async def test_rotated_secrets_sign_side_by_side(live: Client, db: Database, receiver: Receiver) -> None:
    tenant = await new_tenant(db, "Acme")
    endpoint = await add_endpoint(live, tenant, receiver.url)
    rotated = await live.post(f"/api/v1/endpoints/{endpoint['id']}/rotate-secret", headers=tenant.headers)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]
    await publish(db, tenant)
    await receiver.wait_for(1)
    headers, body = receiver.requests[0]
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(endpoint["secret"]).verify(body, headers)
    Webhook(new_secret).verify(body, headers)


async def test_event_filters_and_test_events(live: Client, db: Database, receiver: Receiver) -> None:
    tenant = await new_tenant(db, "Acme")
    leads_only = await add_endpoint(live, tenant, receiver.url, event_types=["lead.created"])
    await add_endpoint(live, tenant, receiver.url + "?other=1", event_types=["consent.withdrawn"])
    await publish(db, tenant, "lead.updated")
    await publish(db, tenant, "lead.created")
    test = await live.post(f"/api/v1/endpoints/{leads_only['id']}/test", headers=tenant.headers)
    assert test.status_code == 202
    await receiver.wait_for(2)
    await asyncio.sleep(0.3)
    types = sorted(Webhook(leads_only["secret"]).verify(b, h)["type"] for h, b in receiver.requests)
    assert types == ["lead.created", "webhook.test"]


async def test_retry_after_is_honoured(live: Client, db: Database, receiver: Receiver) -> None:
    tenant = await new_tenant(db, "Acme")
    await add_endpoint(live, tenant, receiver.url)
    receiver.answer(429, headers={"Retry-After": "2"})
    await publish(db, tenant)
    await receiver.wait_for(2, seconds=10)
    assert receiver.times[1] - receiver.times[0] >= 1.9  # the schedule alone would retry after ~0.2 s


async def test_410_gone_disables_the_endpoint_at_once(live: Client, db: Database, receiver: Receiver) -> None:
    tenant = await new_tenant(db, "Acme")
    endpoint = await add_endpoint(live, tenant, receiver.url)
    receiver.answer(410)
    await publish(db, tenant)
    await receiver.wait_for(1)

    async def disabled() -> bool:
        got = (await live.get(f"/api/v1/endpoints/{endpoint['id']}", headers=tenant.headers)).json()
        return bool(got["status"] == "disabled")

    await eventually(disabled)
    await publish(db, tenant)
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1
    failed = (await live.get("/api/v1/deliveries?status=failed", headers=tenant.headers)).json()["items"]
    assert len(failed) == 1
    audit = (await live.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    assert audit[0]["action"] == "endpoint.disabled"
    assert "410" in audit[0]["details"]["reason"]


async def test_the_last_failure_is_a_dead_letter_that_can_be_retried(
    live: Client, db: Database, receiver: Receiver
) -> None:
    tenant = await new_tenant(db, "Acme")
    await add_endpoint(live, tenant, receiver.url)
    receiver.answer(500, 500, 500, 500)
    message_id = await publish(db, tenant)
    await receiver.wait_for(4)

    async def failed() -> bool:
        items = (await live.get("/api/v1/deliveries?status=failed", headers=tenant.headers)).json()["items"]
        return len(items) == 1

    await eventually(failed)
    delivery = (await live.get("/api/v1/deliveries", headers=tenant.headers)).json()["items"][0]
    assert delivery["attempt_count"] == 4
    assert delivery["next_attempt_at"] is None
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 4  # 1 + 3 retries, then no more

    retried = await live.post(f"/api/v1/deliveries/{delivery['id']}/retry", headers=tenant.headers)
    assert retried.status_code == 202
    await receiver.wait_for(5)
    assert receiver.requests[-1][0]["webhook-id"] == message_id
    again = await live.post(f"/api/v1/deliveries/{delivery['id']}/retry", headers=tenant.headers)
    assert again.status_code in {202, 409}


async def test_an_endpoint_failing_for_too_long_is_disabled_and_audited(
    live: Client, db: Database, receiver: Receiver
) -> None:
    tenant = await new_tenant(db, "Acme")
    endpoint = await add_endpoint(live, tenant, receiver.url)
    async with db.session(write=True) as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(failing_since=utcnow() - timedelta(days=6), last_failure_at=utcnow() - timedelta(hours=9))
        )
    receiver.answer(500)
    await publish(db, tenant)
    await receiver.wait_for(1)

    async def disabled() -> bool:
        async with db.session(write=False) as session:
            row = await session.get(WebhookEndpoint, endpoint["id"])
            return row is not None and row.status == "disabled"

    await eventually(disabled)
    audit = (await live.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    assert audit[0]["action"] == "endpoint.disabled"
    assert audit[0]["actor"] == "worker"


async def test_recover_resends_failures_and_what_a_disabled_endpoint_missed(
    live: Client, db: Database, receiver: Receiver
) -> None:
    tenant = await new_tenant(db, "Acme")
    endpoint = await add_endpoint(live, tenant, receiver.url)
    started = utcnow() - timedelta(seconds=1)
    receiver.answer(500, 500, 500, 500)
    failed_id = await publish(db, tenant, n=1)
    await receiver.wait_for(4)

    async def dead_lettered() -> bool:
        async with db.session(write=False) as session:
            status = await session.scalar(select(Delivery.status).where(Delivery.message_id == failed_id))
            return status == "failed"

    await eventually(dead_lettered)
    url = f"/api/v1/endpoints/{endpoint['id']}"
    assert (await live.patch(url, json={"status": "disabled"}, headers=tenant.headers)).status_code == 200
    missed_id = await publish(db, tenant, n=2)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 4

    enabled = await live.patch(
        url, json={"status": "enabled", "recover_since": started.isoformat()}, headers=tenant.headers
    )
    assert enabled.status_code == 200, enabled.text
    await receiver.wait_for(6)
    assert {h["webhook-id"] for h, _ in receiver.requests[4:]} == {failed_id, missed_id}
    audit = (await live.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    assert audit[0]["details"]["recovered"] == 2

    recovered = await live.post(f"{url}/recover", json={"since": started.isoformat()}, headers=tenant.headers)
    assert recovered.json() == {"recovered": 0}  # nothing failed or missing any more


async def test_per_endpoint_rate_limit_spaces_requests(live: Client, db: Database, receiver: Receiver) -> None:
    tenant = await new_tenant(db, "Acme")
    await add_endpoint(live, tenant, receiver.url, rate_limit_per_second=5)
    for index in range(6):
        await publish(db, tenant, n=index)
    await receiver.wait_for(6)
    # 5 per second: the n-th request comes no sooner than n x 0.2 s after the first (less scheduling noise). Single
    # gaps may be shorter: a request that left late does not push back the slots of the ones after it.
    since_first = [moment - receiver.times[0] for moment in receiver.times]
    assert all(elapsed >= 0.2 * n - 0.05 for n, elapsed in enumerate(since_first)), since_first


async def test_other_workspaces_deliveries_are_invisible(live: Client, db: Database, receiver: Receiver) -> None:
    acme, globex = await new_tenant(db, "Acme"), await new_tenant(db, "Globex")
    await add_endpoint(live, acme, receiver.url)
    await publish(db, acme)
    await receiver.wait_for(1)

    async def listed() -> bool:
        return bool((await live.get("/api/v1/deliveries", headers=acme.headers)).json()["items"])

    await eventually(listed)
    delivery = (await live.get("/api/v1/deliveries", headers=acme.headers)).json()["items"][0]
    assert (await live.get("/api/v1/deliveries", headers=globex.headers)).json()["items"] == []
    assert (await live.get(f"/api/v1/deliveries/{delivery['id']}", headers=globex.headers)).status_code == 404
    assert (await live.post(f"/api/v1/deliveries/{delivery['id']}/retry", headers=globex.headers)).status_code == 404


async def test_a_response_the_database_cannot_store_blocks_nothing(
    live: Client, db: Database, receiver: Receiver
) -> None:
    """A NUL byte (or gzip bytes) in a response once wedged the worker on PostgreSQL."""
    acme, globex = await new_tenant(db, "Acme"), await new_tenant(db, "Globex")
    await add_endpoint(live, acme, receiver.url)
    await add_endpoint(live, globex, receiver.url + "?globex")
    receiver.answer(200, body=b"ok\x00\x1f\x8b\x08\x00binary")
    await publish(db, acme)
    await publish(db, globex)

    async def both_succeeded() -> bool:
        acme_items = (await live.get("/api/v1/deliveries?status=succeeded", headers=acme.headers)).json()["items"]
        globex_items = (await live.get("/api/v1/deliveries?status=succeeded", headers=globex.headers)).json()["items"]
        return len(acme_items) == 1 and len(globex_items) == 1

    await eventually(both_succeeded)
    assert all(h["accept-encoding"] == "identity" for h, _ in receiver.requests)
    delivery = (await live.get("/api/v1/deliveries", headers=acme.headers)).json()["items"][0]
    detail = (await live.get(f"/api/v1/deliveries/{delivery['id']}", headers=acme.headers)).json()
    stored = [a["response_body"] for a in detail["attempts"]]
    assert all("\x00" not in body for body in stored)


async def test_an_unreadable_retry_after_falls_back_to_the_schedule(
    live: Client, db: Database, receiver: Receiver
) -> None:
    tenant = await new_tenant(db, "Acme")
    await add_endpoint(live, tenant, receiver.url)
    receiver.answer(429, headers={"Retry-After": "²"})
    await publish(db, tenant)
    await receiver.wait_for(2, seconds=10)
    assert receiver.times[1] - receiver.times[0] < 5


async def test_a_rate_limited_endpoint_does_not_hold_up_other_workspaces(
    database_url: str, db: Database, receiver: Receiver
) -> None:
    settings = make_settings(database_url, **FAST_WORKER, delivery_concurrency="2")
    acme, globex = await new_tenant(db, "Acme"), await new_tenant(db, "Globex")
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        await add_endpoint(client, acme, receiver.url + "?slow", rate_limit_per_second=0.1)
        await add_endpoint(client, globex, receiver.url)
        for index in range(4):
            await publish(db, acme, n=index)
        await receiver.wait_for(1)  # acme's first; the rest wait 10 s each for their turn
        await publish(db, globex)
        await receiver.wait_for(2, seconds=5)
    assert len(receiver.requests) == 2
    assert receiver.paths[1] == "/hook"  # globex's, while acme's waited their turn


async def test_recovery_never_reaches_before_the_endpoint_existed_and_sends_once(
    live: Client, db: Database, receiver: Receiver
) -> None:
    tenant = await new_tenant(db, "Acme")
    await publish(db, tenant, n="before the endpoint")
    endpoint = await add_endpoint(live, tenant, receiver.url)
    url = f"/api/v1/endpoints/{endpoint['id']}/recover"
    first = await live.post(url, json={"since": "2000-01-01T00:00:00Z"}, headers=tenant.headers)
    assert first.json() == {"recovered": 0}
    await live.patch(f"/api/v1/endpoints/{endpoint['id']}", json={"status": "disabled"}, headers=tenant.headers)
    missed = await publish(db, tenant, n="while disabled")
    await live.patch(f"/api/v1/endpoints/{endpoint['id']}", json={"status": "enabled"}, headers=tenant.headers)
    counts = [
        (await live.post(url, json={"since": "2000-01-01T00:00:00Z"}, headers=tenant.headers)).json()["recovered"]
        for _ in range(2)
    ]
    assert counts == [1, 0]
    await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert [h["webhook-id"] for h, _ in receiver.requests] == [missed]
